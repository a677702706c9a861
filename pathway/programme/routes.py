"""Routes of the programme blueprint: /programme/… (the patient's side of their ETP programme)."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from pathway import letters
from pathway.auth.sessions import current_patient, patient_only, recent_sign_in_required
from pathway.db import session
from pathway.documents import pdf_response
from pathway.models import LetterKind, ProgrammeInvitation
from pathway.programme import consent, enrollments, invitations
from pathway.programme.enrollments import EnrollmentError
from pathway.rules import refuse

bp = Blueprint("programme", __name__, url_prefix="/programme")


@bp.get("/")
@patient_only
def index() -> str:
    patient = current_patient()
    paths = []
    for enrollment in patient.enrollments:
        latest = letters.latest_letters(enrollment)
        end = latest.get(LetterKind.END)
        paths.append(
            {
                "enrollment": enrollment,
                "consent": consent.active_consent(enrollment),
                "letters": sorted(
                    latest.values(), key=lambda letter: letter.kind != LetterKind.START
                ),
                "book_gp": end is not None and end.copy_given_to_patient,
            }
        )
    return render_template(
        "programme/index.html",
        patient=patient,
        paths=paths,
        invitations=invitations.pending_for_patient(patient),
        form=FlaskForm(),
    )


def _invitations(invitation_id: int) -> str:
    return url_for("programme.index", _anchor="invitations")


@bp.post("/invitations/<int:invitation_id>/accept")
@patient_only
@recent_sign_in_required(back_to=_invitations)
def accept_invitation(invitation_id: int) -> Response:
    def accept(invitation: ProgrammeInvitation) -> str:
        enrollment = invitations.accept_invitation(invitation, current_user)
        return url_for("programme.index", _anchor=f"programme-{enrollment.id}")

    return _answer(
        invitation_id,
        accept,
        lambda name: _(
            "You have joined “%(programme)s”: its team now follows your path in the programme.",
            programme=name,
        ),
    )


@bp.post("/invitations/<int:invitation_id>/decline")
@patient_only
def decline_invitation(invitation_id: int) -> Response:
    def decline(invitation: ProgrammeInvitation) -> str:
        invitations.decline_invitation(invitation, current_user)
        return url_for("programme.index")

    return _answer(
        invitation_id,
        decline,
        lambda name: _(
            "You declined the invitation to “%(programme)s”: its team sees nothing of yours.",
            programme=name,
        ),
    )


def _answer(
    invitation_id: int, act: Callable[[ProgrammeInvitation], str], done: Callable[[str], str]
) -> Response:
    """The patient's answer to one of their invitations: `act` gives the page to go back to."""
    invitation = invitations.patient_invitation(current_patient(), invitation_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        back = act(invitation)
    except EnrollmentError as error:
        refuse(error)
        return redirect(url_for("programme.index"), code=303)
    session.commit()
    flash(done(invitation.programme.name), "success")
    return redirect(back, code=303)


def _programmes(enrollment_id: int) -> str:
    return url_for("programme.index", _anchor=f"consent-{enrollment_id}")


@bp.post("/<int:enrollment_id>/consent")
@patient_only
@recent_sign_in_required(back_to=_programmes)
def give_consent(enrollment_id: int) -> Response:
    enrollment = enrollments.patient_enrollment(current_patient(), enrollment_id)
    if FlaskForm().validate_on_submit():
        consent.give_consent(enrollment, current_user)
        session.commit()
        flash(_("Thank you: your GP can now be informed about your programme."), "success")
    return redirect(url_for("programme.index"))


@bp.post("/<int:enrollment_id>/consent/withdraw")
@patient_only
@recent_sign_in_required(back_to=_programmes)
def withdraw_consent(enrollment_id: int) -> Response:
    enrollment = enrollments.patient_enrollment(current_patient(), enrollment_id)
    if FlaskForm().validate_on_submit():
        consent.withdraw_consent(enrollment, current_user)
        session.commit()
        flash(
            _(
                "Your agreement is withdrawn: no new letter will be sent to your GP, "
                "and your links no longer show the letters."
            ),
            "success",
        )
    return redirect(url_for("programme.index"))


@bp.get("/letters/<public_id>.pdf")
@patient_only
def download_letter(public_id: str) -> Response:
    letter = letters.get_patient_letter(current_patient(), public_id)
    # The patient's own copy is the GP's one: the link printed on it is theirs to give.
    return pdf_response(letters.load_addressed_pdf(letter), letters.letter_filename(letter))
