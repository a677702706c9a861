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

from pathway import tokens
from pathway.db import reading, session
from pathway.documents import pdf_response
from pathway.errors import render_error
from pathway.extensions import client_address, limiter
from pathway.letters import letter_filename, load_letter_pdf, shared_letters
from pathway.models import Patient
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


def coordinators(patient: Patient, link: shares.LinkState) -> list[dict[str, str]]:
    """How to reach the ETP team(s) of a patient's current programmes, for a dead link's page:
    only for a browser that proved something (it gave this link's passcode within the hour).
    Whoever merely holds a dead link, or guessed passcodes until it locked, learns nothing of
    where the patient is followed."""
    if not is_unlocked(link):
        return []
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
    access.record_refusal(gone.link, gone.reason, request.headers.get("User-Agent", ""))
    contacts = coordinators(session.get_one(Patient, gone.link.patient_id), gone.link)
    session.commit()
    return render_template(
        "sharing/recipient/gone.html", reason=gone.reason, coordinators=contacts
    ), 410


def _open(token: str) -> shares.LinkState:
    """Open the link, or end the request with the 404 or 410 page."""
    try:
        with reading():
            return shares.open_link(token)
    except shares.LinkInvalid:
        abort(make_response(render_template("sharing/recipient/invalid.html"), 404))
    except shares.LinkGone as gone:
        abort(make_response(*_gone(gone)))


def _view(link: shares.LinkState) -> dict[str, Any]:
    return build_view(link.patient_id, parse_sections(link.sections))


def _show(link: shares.LinkState, token: str, view: dict[str, Any], viewer: str = "") -> str:
    access.record_access(
        link,
        view["shown"],
        summary_version=view["summary_version"],
        user_agent=request.headers.get("User-Agent", ""),
        viewer=viewer,
    )
    info = shares.share_info(link)
    panel = reply_panel(link, token)
    session.commit()
    return render_template(
        "sharing/recipient/view.html", view=view, info=info, panel=panel, share_token=token
    )


@bp.get("/<token>")
@limiter.limit("120 per minute")
def view(token: str) -> str:
    link = _open(token)
    if link.has_passcode:
        # GET never reveals anything of a protected share: only the form.
        return render_template(
            "sharing/recipient/passcode.html",
            form=PasscodeForm(formdata=None),
            share=_form_facts(link.label, link.passcode_attempts_left),
        )
    with reading():
        view = _view(link)
    return _show(link, token, view)


@bp.post("/<token>")
@limiter.limit("20 per minute")
def unlock(token: str) -> str | Response | tuple[str, int]:
    link = _open(token)
    if not link.has_passcode:
        return redirect(url_for("recipient.view", token=token), code=303)
    form = PasscodeForm()
    facts = _form_facts(link.label, link.passcode_attempts_left)
    if not form.validate_on_submit():
        return render_template("sharing/recipient/passcode.html", form=form, share=facts), 422
    share = shares.link_share(link)
    if shares.check_passcode(share, form.passcode.data or ""):
        remember_unlock(link)
        return _show(link, token, _view(link), viewer=form.viewer.data or "")
    access.record_access(
        link,
        [],
        summary_version=link.summary_version,
        user_agent=request.headers.get("User-Agent", ""),
        viewer=form.viewer.data or "",
        outcome="denied_passcode",
    )
    if share.locked_at is not None:
        contacts = coordinators(share.patient, link)
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
    facts = _form_facts(share.label, share.passcode_attempts_left)
    return render_template("sharing/recipient/passcode.html", form=form, share=facts), 401


def _form_facts(label: str, attempts_left: int) -> dict[str, Any]:
    # The passcode page says whose link it is only by its label and attempts left.
    return {"attempts_left": attempts_left, "label": label}


@bp.get("/<token>/letters/<letter_id>")
@limiter.limit("60 per minute")
def letter(token: str, letter_id: str) -> Response:
    link = _open(token)
    if Section.LETTERS not in parse_sections(link.sections):
        abort(404)
    if link.has_passcode and not is_unlocked(link):
        return redirect(url_for("recipient.view", token=token), code=303)
    patient = session.get_one(Patient, link.patient_id)
    found = next((item for item in shared_letters(patient) if item.public_id == letter_id), None)
    if found is None or found.enrollment.patient_id != link.patient_id:
        abort(404)
    data = load_letter_pdf(found)
    access.record_access(
        link,
        [Section.LETTERS.value],
        summary_version=link.summary_version,
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


def _needs_passcode(link: shares.LinkState) -> bool:
    """A protected link's reply asks for the passcode, unless this browser just opened it."""
    return link.has_passcode and not is_unlocked(link)


def reply_panel(link: shares.LinkState, token: str) -> dict[str, Any] | None:
    """What the reply panel shows on the page of a link just opened (`link`, opened from
    `token` in this request): the conversation and an empty form, or None."""
    if not link.allow_replies:
        return None
    return {
        "entries": replies.conversation_for(link.id),
        "form": ReplyForm(formdata=None),
        "needs_passcode": _needs_passcode(link),
        "action": url_for("recipient.reply", token=token),
    }


@bp.post("/<token>/reply")
@limiter.limit(ATTEMPTS_PER_CLIENT, key_func=_client_key)
@limiter.limit(
    REPLIES_PER_SHARE, key_func=_share_key, deduct_when=lambda response: response.status_code == 303
)
def reply(token: str) -> Response | tuple[str, int]:
    # The database is the truth: open the link again on every POST.
    link = _open_for_replies(token)
    share = shares.link_share(link)
    form = ReplyForm()
    needs_passcode = _needs_passcode(link)
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
    _open_for_replies(token)
    return render_template("sharing/recipient/sent.html", token=token)


def _open_for_replies(token: str) -> shares.LinkState:
    """The link a reply goes through, or the end of the request with the page saying it
    takes no more replies (its refusal recorded like any other opening's) or a 404."""
    try:
        return shares.open_link(token)
    except shares.LinkInvalid:
        abort(404)
    except shares.LinkGone as gone:
        access.record_refusal(gone.link, gone.reason, request.headers.get("User-Agent", ""))
        session.commit()
        abort(make_response(*_replies_closed(gone.reason)))


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
