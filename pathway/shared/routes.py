"""Routes of the shared blueprint: /s/… (a share opened from its signed link; no account).

Every request re-reads the share from the database (signature → exists → version →
revoked → expired → locked), records one AccessEvent, and renders only the sections
the share holds, from build_view(). Logs carry the share's public id, never the token.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from pathway import audit
from pathway.db import reading, session
from pathway.extensions import limiter
from pathway.models import Patient, Share, ShareKind
from pathway.shared.forms import PasscodeForm
from pathway.sharing import access, shares
from pathway.sharing.sections import Section, parse_sections
from pathway.sharing.unlocks import is_unlocked, remember_unlock
from pathway.sharing.view import build_view

bp = Blueprint("shared", __name__, url_prefix="/s")


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
        "share:link:refused", patient_id=share.patient_id, share=share.public_id, reason=gone.reason
    )
    contacts = coordinators(share.patient)
    session.commit()
    return render_template("shared/gone.html", reason=gone.reason, coordinators=contacts), 410


def _open(token: str) -> Share:
    """Resolve the link, or end the request with the 404 or 410 page."""
    try:
        with reading():
            return shares.resolve(token, ShareKind.LINK)
    except shares.LinkInvalid:
        abort(make_response(render_template("shared/invalid.html"), 404))
    except shares.LinkGone as gone:
        abort(make_response(*_gone(gone)))


def share_info(share: Share) -> dict[str, Any]:
    """The share's own facts shown above the summary (plain values)."""
    return {
        "shared_on": share.created_at,
        "valid_until": share.expires_at,
        "label": share.label,
        "allow_replies": share.allow_replies,
    }


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
    info = share_info(share)
    session.commit()
    return render_template("shared/view.html", view=view, info=info, share=share, share_token=token)


@bp.get("/<token>")
@limiter.limit("120 per minute")
def view(token: str) -> str:
    share = _open(token)
    if share.passcode_hash is not None:
        # GET never reveals anything of a protected share: only the form.
        return render_template(
            "shared/passcode.html", form=PasscodeForm(formdata=None), share=_form_facts(share)
        )
    with reading():
        view = _view(share)
    return _show(share, token, view)


@bp.post("/<token>")
@limiter.limit("20 per minute")
def unlock(token: str) -> str | Response | tuple[str, int]:
    share = _open(token)
    if share.passcode_hash is None:
        return redirect(url_for("shared.view", token=token), code=303)
    form = PasscodeForm()
    if not form.validate_on_submit():
        return render_template("shared/passcode.html", form=form, share=_form_facts(share)), 422
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
        return render_template("shared/gone.html", reason="locked", coordinators=contacts), 410
    session.commit()
    form.passcode.errors = [
        _(
            "Wrong passcode. Attempts left before the link locks: %(n)d.",
            n=share.passcode_attempts_left,
        )
    ]
    return render_template("shared/passcode.html", form=form, share=_form_facts(share)), 401


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
        return redirect(url_for("shared.view", token=token), code=303)
    try:
        from pathway.letters import letter_filename, load_letter_pdf, shared_letters
    except ImportError:  # the letters package is optional
        abort(404)
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
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{letter_filename(found)}"'
    return response
