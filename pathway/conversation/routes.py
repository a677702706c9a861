"""Routes of the conversation blueprint: /s/<token>/reply (public, no account).

The recipient's page includes templates/conversation/_panel.html, which reads the
conversation through the `conversation_panel` template global registered here.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.sansio.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from pathway import exchanges, tokens
from pathway.conversation.forms import ReplyForm
from pathway.db import session
from pathway.errors import render_error
from pathway.extensions import client_address, limiter
from pathway.models import Share, ShareKind
from pathway.sharing import shares
from pathway.sharing.unlocks import is_unlocked

bp = Blueprint("conversation", __name__, url_prefix="/s")

# Flooding a patient's inbox through one link is the abuse to stop: count only the
# replies actually stored per share, and every attempt per client.
REPLIES_PER_SHARE = "5 per hour"
ATTEMPTS_PER_CLIENT = "20 per hour"


def _share_key() -> str:
    from flask import request

    token = (request.view_args or {}).get("token", "")
    try:
        public_id, _version = tokens.unsign(tokens.Purpose.SHARE, token)
    except tokens.TokenInvalid:
        public_id = "invalid"
    return f"reply-share:{public_id}"


def _client_key() -> str:
    return f"reply-client:{client_address()}"


@bp.record_once
def _register_template_global(state: BlueprintSetupState) -> None:
    state.app.jinja_env.globals["conversation_panel"] = conversation_panel


def _needs_passcode(share: Share) -> bool:
    """A protected link's reply asks for the passcode, unless this browser just opened it."""
    return share.passcode_hash is not None and not is_unlocked(share)


def conversation_panel(share: Share, token: str) -> dict[str, Any] | None:
    """What the reply panel shows on the page of a link just opened (`share`, resolved from
    `token` in this request): the conversation and an empty form, or None."""
    if not share.allow_replies:
        return None
    return {
        "entries": exchanges.conversation_for(share),
        "form": ReplyForm(formdata=None),
        "needs_passcode": _needs_passcode(share),
        "action": url_for("conversation.reply", token=token),
    }


@bp.post("/<token>/reply")
@limiter.limit(ATTEMPTS_PER_CLIENT, key_func=_client_key)
@limiter.limit(
    REPLIES_PER_SHARE, key_func=_share_key, deduct_when=lambda response: response.status_code == 303
)
def reply(token: str) -> Response | tuple[str, int]:
    # The database is the truth: re-resolve the link on every POST.
    try:
        share = shares.resolve(token, ShareKind.LINK)
    except shares.LinkInvalid:
        abort(404)
    except shares.LinkGone as gone:
        return _gone(gone.reason)
    form = ReplyForm()
    needs_passcode = _needs_passcode(share)
    context = {"form": form, "token": token, "needs_passcode": needs_passcode}
    try:
        exchanges.check_open_for_replies(share)
    except exchanges.RepliesClosed as closed:
        return render_error(403, message=str(closed))
    if not form.validate():
        return render_template("conversation/reply.html", **context), 422
    if needs_passcode and not shares.check_passcode(share, form.passcode.data or ""):
        # The wrong attempt is counted (and may lock the link): keep that, save nothing else.
        session.commit()
        if share.locked_at is not None:
            return _gone("locked")
        form.passcode.errors = [
            _("Wrong passcode. Attempts left: %(n)d.", n=share.passcode_attempts_left)
        ]
        return render_template("conversation/reply.html", **context), 422
    try:
        exchanges.submit_contribution(share, form.data)
    except exchanges.ExchangeError as error:
        session.rollback()
        target = getattr(form, error.field or "message", form.message)
        target.errors = [*target.errors, str(error)]
        return render_template("conversation/reply.html", **context), 422
    session.commit()
    return redirect(url_for("conversation.sent", token=token), code=303)


@bp.get("/<token>/reply/sent")
def sent(token: str) -> str | tuple[str, int]:
    try:
        shares.resolve(token, ShareKind.LINK)
    except shares.LinkInvalid:
        abort(404)
    except shares.LinkGone as gone:
        return _gone(gone.reason)
    return render_template("conversation/sent.html", token=token)


def _gone(reason: str) -> tuple[str, int]:
    """Say in plain words why the link no longer takes replies (410)."""
    messages = {
        "expired": _(
            "This link has expired, so it no longer takes replies. Ask the patient for a new link."
        ),
        "revoked": _("The patient has withdrawn this link, so it no longer takes replies."),
        "locked": _(
            "This link is locked after too many wrong passcodes. Ask the patient for a new link."
        ),
    }
    default = _(
        "This link is no longer valid, so it no longer takes replies. "
        "Ask the patient for a new link."
    )
    return render_error(410, message=messages.get(reason, default))
