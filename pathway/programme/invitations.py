"""A team's invitation to a patient who already has an account, and the patient's answer.

Attaching an account to a programme gives its team the patient's path and, with consent,
letters to their GP: so a team only invites, and the enrollment is created when the patient,
signed in, accepts. Until then the team holds nothing of the patient but the address it
typed; a patient who declines is never enrolled.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

from flask import abort, url_for
from flask_babel import gettext as _
from sqlalchemy import or_, select, update
from sqlalchemy.engine import CursorResult

from pathway import audit, notifications
from pathway.auth import accounts
from pathway.db import session, utcnow
from pathway.models import (
    Enrollment,
    InvitationAnswer,
    Patient,
    Programme,
    ProgrammeInvitation,
    Role,
    User,
)
from pathway.programme.enrollments import EnrollmentError, programmes_of

# How long a declined invitation stays on the team's page, so the team knows.
DECLINED_SHOWN_FOR = dt.timedelta(days=30)


def invite_existing_patient(
    educator: User, programme: Programme, email: str
) -> ProgrammeInvitation:
    """Invite the patient whose account has this address; they are told and answer in
    their space. Nothing of theirs becomes the team's until they accept."""
    user = accounts.find_user(email)
    if user is None or user.role != Role.PATIENT or user.patient is None:
        raise EnrollmentError(_("No patient account uses this email address."))
    patient = user.patient
    already = session.scalar(
        select(Enrollment.id).where(
            Enrollment.patient_id == patient.id, Enrollment.programme_id == programme.id
        )
    )
    if already is not None:
        raise EnrollmentError(_("This patient is already enrolled in this programme."))
    if _pending(patient, programme) is not None:
        raise EnrollmentError(
            _("An invitation to this programme is already waiting for this patient's answer.")
        )
    invitation = ProgrammeInvitation(
        programme=programme,
        patient=patient,
        email=accounts.normalise_email(email),
        invited_by_id=educator.id,
        invited_by_name=(educator.display_name or educator.email)[:120],
    )
    audit.record_new(
        invitation, audit.Tag.ENROLLMENT_INVITATION_CREATED, educator, invitation=invitation
    )
    notifications.notify(
        user.id,
        "programme_invitation",
        {
            "educator": invitation.invited_by_name,
            "programme": programme.name,
            "hospital": programme.hospital,
        },
        link=url_for("programme.index", _anchor="invitations"),
    )
    return invitation


def _pending(patient: Patient, programme: Programme) -> ProgrammeInvitation | None:
    return session.scalar(
        select(ProgrammeInvitation).where(
            ProgrammeInvitation.patient_id == patient.id,
            ProgrammeInvitation.programme_id == programme.id,
            ProgrammeInvitation.answer.is_(None),
        )
    )


def invitations_of(educator: User) -> list[ProgrammeInvitation]:
    """The invitations of the educator's programmes still waiting, and those declined lately,
    newest first (the team's page shows only the address it typed)."""
    programme_ids = [p.id for p in programmes_of(educator)]
    if not programme_ids:
        return []
    return list(
        session.scalars(
            select(ProgrammeInvitation)
            .where(
                ProgrammeInvitation.programme_id.in_(programme_ids),
                or_(
                    ProgrammeInvitation.answer.is_(None),
                    (ProgrammeInvitation.answer == InvitationAnswer.DECLINED)
                    & (ProgrammeInvitation.answered_at > utcnow() - DECLINED_SHOWN_FOR),
                ),
            )
            .order_by(ProgrammeInvitation.created_at.desc(), ProgrammeInvitation.id.desc())
        )
    )


def pending_for_patient(patient: Patient) -> list[ProgrammeInvitation]:
    """The invitations waiting for the patient's answer, oldest first."""
    return list(
        session.scalars(
            select(ProgrammeInvitation)
            .where(
                ProgrammeInvitation.patient_id == patient.id,
                ProgrammeInvitation.answer.is_(None),
            )
            .order_by(ProgrammeInvitation.id)
        )
    )


def patient_invitation(patient: Patient, invitation_id: int) -> ProgrammeInvitation:
    """The access helper for the patient: one of their own invitations, else 404."""
    invitation = session.get(ProgrammeInvitation, invitation_id)
    if invitation is None or invitation.patient_id != patient.id:
        abort(404)
    return invitation


def _answer(invitation: ProgrammeInvitation, answer: InvitationAnswer) -> None:
    """Stamp the answer if none is recorded yet, in one conditional UPDATE: of two answers
    sent at once (two tabs, a double tap), only one is kept."""
    now = utcnow()
    result = cast(
        CursorResult[Any],
        session.execute(
            update(ProgrammeInvitation)
            .where(ProgrammeInvitation.id == invitation.id, ProgrammeInvitation.answer.is_(None))
            .values(answer=answer, answered_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        session.refresh(invitation)
        raise EnrollmentError(_("You have already answered this invitation."))
    session.refresh(invitation)


def accept_invitation(invitation: ProgrammeInvitation, patient_user: User) -> Enrollment:
    """The patient joins the programme: the enrollment is created now, and the team told."""
    _answer(invitation, InvitationAnswer.ACCEPTED)
    patient = invitation.patient
    programme = invitation.programme
    enrollment = session.scalar(
        select(Enrollment).where(
            Enrollment.patient_id == patient.id, Enrollment.programme_id == programme.id
        )
    )
    if enrollment is None:
        enrollment = Enrollment(patient=patient, programme=programme, started_on=utcnow().date())
        audit.record_new(
            enrollment,
            audit.Tag.ENROLLMENT_CREATED,
            patient_user,
            enrollment=enrollment,
            invitation=invitation,
        )
    if invitation.invited_by_id is not None:
        notifications.notify(
            invitation.invited_by_id,
            "invitation_accepted",
            {"patient": patient.full_name, "programme": programme.name},
            link=url_for("team.enrollment", enrollment_id=enrollment.id),
            patient_id=patient.id,
        )
    return enrollment


def decline_invitation(invitation: ProgrammeInvitation, patient_user: User) -> None:
    """The patient says no: no enrollment, and the team learns only that the address declined."""
    _answer(invitation, InvitationAnswer.DECLINED)
    audit.record(
        audit.Tag.ENROLLMENT_INVITATION_DECLINED,
        patient_user,
        invitation.patient_id,
        invitation=invitation,
    )
    if invitation.invited_by_id is not None:
        notifications.notify(
            invitation.invited_by_id,
            "invitation_declined",
            {"email": invitation.email, "programme": invitation.programme.name},
            link=url_for("team.index"),
            patient_id=invitation.patient_id,
        )
