"""Routes of the recipient: /s/… (a share opened from its signed link; no account).

The recipient reads the shared sections and, when the patient allows it, replies through
the same link (/s/<token>/reply). Every request re-reads the share from the database
(signature → exists → version → revoked → expired → locked), records one AccessEvent, and
renders only the sections the share holds, from build_view(). Logs carry the share's
public id, never the token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from pathway import audit, tokens
from pathway.db import reading, session
from pathway.documents import pdf_response
from pathway.errors import render_error
from pathway.extensions import client_address, limiter
from pathway.letters import letter_filename, load_letter_pdf, shared_letters
from pathway.models import Patient, Share, ShareKind
from pathway.rules import refuse
from pathway.sharing import access, replies, shares
from pathway.sharing.forms import PasscodeForm, ReplyForm
from pathway.sharing.sections import Section, parse_sections
from pathway.sharing.unlocks import is_unlocked, remember_unlock
from pathway.sharing.view import build_view

bp = Blueprint("recipient", __name__, url_prefix="/s")

# Flooding a patient's inbox through one link is the abuse to stop: count only the
# replies actually stored per share, and every attempt per client.
REPLIES_PER_SHARE = "5 per hour"
ATTEMPTS_PER_CLIENT = "20 per hour"


def coordinators(patient: Patient) -> list[dict[str, str]]:
    """How to reach the ETP team(s) of a patient's current programmes, for a dead link's page."""
    found = []
    for enrollment in patient.enrollments:
        programme = enrollment.programme
        if enrollment.ended_on is None and (
            programme.coordinator_phone or programme.coordinator_email
        ):
            found.append(
                {
                    "hospital": programme.hospital,
                    "name": programme.coordinator_name,
                    "phone": programme.coordinator_phone,
                    "email": programme.coordinator_email,
                }
            )
    return found


def _gone(gone: shares.LinkGone) -> tuple[str, int]:
    share = gone.share
    access.record_access(
        share,
        [],
        summary_version=share.patient.summary_version,
        user_agent=request.headers.get("User-Agent", ""),
        outcome=f"denied_{gone.reason}",
    )
    audit.record(
        audit.Tag.SHARE_LINK_REFUSED,
        patient_id=share.patient_id,
        share=share.public_id,
        reason=gone.reason,
    )
    contacts = coordinators(share.patient)
    session.commit()
    return render_template(
        "sharing/recipient/gone.html", reason=gone.reason, coordinators=contacts
    ), 410


def _open(token: str) -> Share:
    """Resolve the link, or end the request with the 404 or 410 page."""
    try:
        with reading():
            return shares.resolve(token, ShareKind.LINK)
    except shares.LinkInvalid:
        abort(make_response(render_template("sharing/recipient/invalid.html"), 404))
    except shares.LinkGone as gone:
        abort(make_response(*_gone(gone)))


def _view(share: Share) -> dict[str, Any]:
    return build_view(share.patient_id, parse_sections(share.sections))


def _show(share: Share, token: str, view: dict[str, Any], viewer: str = "") -> str:
    access.record_access(
        share,
        view["shown"],
        summary_version=view["summary_version"],
        user_agent=request.headers.get("User-Agent", ""),
        viewer=viewer,
    )
    info = shares.share_info(share)
    panel = reply_panel(share, token)
    session.commit()
    return render_template(
        "sharing/recipient/view.html", view=view, info=info, panel=panel, share_token=token
    )


@bp.get("/<token>")
@limiter.limit("120 per minute")
def view(token: str) -> str:
    share = _open(token)
    if share.passcode_hash is not None:
        # GET never reveals anything of a protected share: only the form.
        return render_template(
            "sharing/recipient/passcode.html",
            form=PasscodeForm(formdata=None),
            share=_form_facts(share),
        )
    with reading():
        view = _view(share)
    return _show(share, token, view)


@bp.post("/<token>")
@limiter.limit("20 per minute")
def unlock(token: str) -> str | Response | tuple[str, int]:
    share = _open(token)
    if share.passcode_hash is None:
        return redirect(url_for("recipient.view", token=token), code=303)
    form = PasscodeForm()
    if not form.validate_on_submit():
        return render_template(
            "sharing/recipient/passcode.html", form=form, share=_form_facts(share)
        ), 422
    if shares.check_passcode(share, form.passcode.data or ""):
        remember_unlock(share)
        return _show(share, token, _view(share), viewer=form.viewer.data or "")
    access.record_access(
        share,
        [],
        summary_version=share.patient.summary_version,
        user_agent=request.headers.get("User-Agent", ""),
        viewer=form.viewer.data or "",
        outcome="denied_passcode",
    )
    if share.locked_at is not None:
        contacts = coordinators(share.patient)
        session.commit()
        return render_template(
            "sharing/recipient/gone.html", reason="locked", coordinators=contacts
        ), 410
    session.commit()
    form.passcode.errors = [
        _(
            "Wrong passcode. Attempts left before the link locks: %(n)d.",
            n=share.passcode_attempts_left,
        )
    ]
    return render_template(
        "sharing/recipient/passcode.html", form=form, share=_form_facts(share)
    ), 401


def _form_facts(share: Share) -> dict[str, Any]:
    # The passcode page says whose link it is only by its label and attempts left.
    return {"attempts_left": share.passcode_attempts_left, "label": share.label}


@bp.get("/<token>/letters/<letter_id>")
@limiter.limit("60 per minute")
def letter(token: str, letter_id: str) -> Response:
    share = _open(token)
    if Section.LETTERS not in parse_sections(share.sections):
        abort(404)
    if share.passcode_hash is not None and not is_unlocked(share):
        return redirect(url_for("recipient.view", token=token), code=303)
    found = next(
        (item for item in shared_letters(share.patient) if item.public_id == letter_id), None
    )
    if found is None or found.enrollment.patient_id != share.patient_id:
        abort(404)
    data = load_letter_pdf(found)
    access.record_access(
        share,
        [Section.LETTERS.value],
        summary_version=share.patient.summary_version,
        user_agent=request.headers.get("User-Agent", ""),
        outcome="letter_downloaded",
    )
    session.commit()
    return pdf_response(data, letter_filename(found))


# --- Replies through the link ------------------------------------------------


def _share_key() -> str:
    token = (request.view_args or {}).get("token", "")
    try:
        public_id, _version = tokens.unsign(tokens.Purpose.SHARE, token)
    except tokens.TokenInvalid:
        public_id = "invalid"
    return f"reply-share:{public_id}"


def _client_key() -> str:
    return f"reply-client:{client_address()}"


def _needs_passcode(share: Share) -> bool:
    """A protected link's reply asks for the passcode, unless this browser just opened it."""
    return share.passcode_hash is not None and not is_unlocked(share)


def reply_panel(share: Share, token: str) -> dict[str, Any] | None:
    """What the reply panel shows on the page of a link just opened (`share`, resolved from
    `token` in this request): the conversation and an empty form, or None."""
    if not share.allow_replies:
        return None
    return {
        "entries": replies.conversation_for(share),
        "form": ReplyForm(formdata=None),
        "needs_passcode": _needs_passcode(share),
        "action": url_for("recipient.reply", token=token),
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
        return _replies_closed(gone.reason)
    form = ReplyForm()
    needs_passcode = _needs_passcode(share)
    context = {"form": form, "token": token, "needs_passcode": needs_passcode}
    try:
        replies.check_open_for_replies(share)
    except replies.RepliesClosed as closed:
        return render_error(403, message=str(closed))
    if not form.validate():
        return render_template("sharing/recipient/reply.html", **context), 422
    if needs_passcode and not shares.check_passcode(share, form.passcode.data or ""):
        # The wrong attempt is counted (and may lock the link): keep that, save nothing else.
        session.commit()
        if share.locked_at is not None:
            return _replies_closed("locked")
        form.passcode.errors = [
            _("Wrong passcode. Attempts left: %(n)d.", n=share.passcode_attempts_left)
        ]
        return render_template("sharing/recipient/reply.html", **context), 422
    try:
        replies.submit_contribution(share, form.data)
    except replies.ExchangeError as error:
        refuse(error, form, "message")
        return render_template("sharing/recipient/reply.html", **context), 422
    session.commit()
    return redirect(url_for("recipient.sent", token=token), code=303)


@bp.get("/<token>/reply/sent")
def sent(token: str) -> str | tuple[str, int]:
    try:
        shares.resolve(token, ShareKind.LINK)
    except shares.LinkInvalid:
        abort(404)
    except shares.LinkGone as gone:
        return _replies_closed(gone.reason)
    return render_template("sharing/recipient/sent.html", token=token)


def _replies_closed(reason: str) -> tuple[str, int]:
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
