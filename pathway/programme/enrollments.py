"""The team's side of a patient's path: who may see which enrollment, enrolling, inviting."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pathway.auth import accounts
from pathway.db import session, utcnow
from pathway.models import (
    AttendanceStatus,
    Competency,
    Enrollment,
    Letter,
    Objective,
    ObjectiveStatus,
    Patient,
    Programme,
    Role,
    User,
    Workshop,
    WorkshopAttendance,
)
from pathway.rules import RuleBroken


def programmes_of(educator: User) -> list[Programme]:
    """Programmes the educator belongs to (an admin sees all)."""
    if educator.role == "admin":
        return list(session.scalars(select(Programme).order_by(Programme.name)))
    return sorted(educator.programmes, key=lambda p: p.name)


def enrollments_of(educator: User) -> list[Enrollment]:
    """Enrollments in the educator's programmes, newest first."""
    programme_ids = [p.id for p in programmes_of(educator)]
    if not programme_ids:
        return []
    return list(
        session.scalars(
            select(Enrollment)
            .where(Enrollment.programme_id.in_(programme_ids))
            .options(
                selectinload(Enrollment.patient),
                selectinload(Enrollment.consents),
                # The list shows which letters exist, never their PDF bytes.
                selectinload(Enrollment.letters).load_only(Letter.kind, Letter.version),
            )
            .order_by(Enrollment.created_at.desc())
        )
    )


def get_enrollment(educator: User, enrollment_id: int) -> Enrollment:
    """The access helper: the enrollment if it is in one of the educator's programmes, else 404."""
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.programme not in programmes_of(educator):
        abort(404)
    return enrollment


def get_programme(educator: User, programme_id: int) -> Programme:
    programme = session.get(Programme, programme_id)
    if programme is None or programme not in programmes_of(educator):
        abort(404)
    return programme


def enroll_new_patient(
    educator: User,
    programme: Programme,
    *,
    first_name: str,
    last_name: str,
    birth_date: dt.date | None,
    email: str,
) -> tuple[Enrollment, str]:
    """Create the patient, enroll them, and send the invitation; return both."""
    patient = Patient(
        first_name=first_name.strip(), last_name=last_name.strip(), birth_date=birth_date
    )
    enrollment = Enrollment(patient=patient, programme=programme, started_on=utcnow().date())
    session.add_all([patient, enrollment])
    session.flush()
    link = accounts.invite_patient(patient, email, educator)
    return enrollment, link


class EnrollmentError(RuleBroken):
    """A rule on an enrollment was broken; the message is translated and shown to the user."""


class EditConflict(EnrollmentError):
    """The form was filled from an older version of the enrollment than the one saved."""


MAX_OBJECTIVES = 3


def conflict_message() -> str:
    return _(
        "Someone else saved this patient's record while you were editing it. "
        "Your changes were not saved: check the page as it is now, then make them again."
    )


def check_version(enrollment: Enrollment, submitted: str | int | None) -> None:
    """Refuse a form filled from an older version than the one saved (optimistic locking)."""
    try:
        version = int(submitted or 0)
    except (TypeError, ValueError):
        version = 0
    if version != enrollment.version:
        raise EditConflict(conflict_message())


def _touch(enrollment: Enrollment) -> None:
    # Any change to the path bumps the enrollment's version, so every other open form
    # on it (objectives, workshops, evaluation) becomes stale and is refused.
    enrollment.updated_at = utcnow()


def save_path(
    enrollment: Enrollment, version: str | int | None, *, bep_synthesis: str, gp_topics: str
) -> None:
    """Save the BEP synthesis and what the patient wants to discuss with their GP."""
    check_version(enrollment, version)
    enrollment.bep_synthesis = bep_synthesis.strip()
    enrollment.gp_topics = gp_topics.strip()
    _touch(enrollment)


def add_objective(
    enrollment: Enrollment,
    version: str | int | None,
    text: str,
    *,
    treatment_related: bool,
    proposed_by: str,
) -> Objective:
    """Add a personalised objective; an enrollment holds at most three."""
    check_version(enrollment, version)
    if len(enrollment.objectives) >= MAX_OBJECTIVES:
        raise EnrollmentError(
            _(
                "A programme works on %(n)d personalised objectives at most. "
                "Remove one before adding another.",
                n=MAX_OBJECTIVES,
            )
        )
    objective = Objective(
        text=text.strip(), is_treatment_related=treatment_related, proposed_by=proposed_by
    )
    enrollment.objectives.append(objective)
    _touch(enrollment)
    return objective


_Child = TypeVar("_Child", Objective, Workshop, WorkshopAttendance, Competency)


def _child(items: list[_Child], item_id: int) -> _Child:
    found = next((item for item in items if item.id == item_id), None)
    if found is None:
        abort(404)
    return found


def set_objective_status(
    enrollment: Enrollment, version: str | int | None, objective_id: int, status: ObjectiveStatus
) -> None:
    check_version(enrollment, version)
    _child(enrollment.objectives, objective_id).status = status
    _touch(enrollment)


def remove_objective(enrollment: Enrollment, version: str | int | None, objective_id: int) -> None:
    check_version(enrollment, version)
    enrollment.objectives.remove(_child(enrollment.objectives, objective_id))
    _touch(enrollment)


def plan_workshop(
    enrollment: Enrollment,
    version: str | int | None,
    workshop_id: int,
    scheduled_on: dt.date | None,
) -> WorkshopAttendance:
    """Plan one of the programme's workshops for the patient."""
    check_version(enrollment, version)
    workshop = _child(enrollment.programme.workshops, workshop_id)
    if any(a.workshop_id == workshop.id for a in enrollment.attendances):
        raise EnrollmentError(_("This workshop is already planned for this patient."))
    attendance = WorkshopAttendance(workshop=workshop, scheduled_on=scheduled_on)
    enrollment.attendances.append(attendance)
    _touch(enrollment)
    return attendance


def set_attendance(
    enrollment: Enrollment, version: str | int | None, attendance_id: int, status: AttendanceStatus
) -> None:
    check_version(enrollment, version)
    _child(enrollment.attendances, attendance_id).status = status
    _touch(enrollment)


def remove_attendance(
    enrollment: Enrollment, version: str | int | None, attendance_id: int
) -> None:
    check_version(enrollment, version)
    enrollment.attendances.remove(_child(enrollment.attendances, attendance_id))
    _touch(enrollment)


def add_competency(
    enrollment: Enrollment, version: str | int | None, text: str, *, acquired: bool
) -> Competency:
    """Add a competency acquired or developed, in one personalised line."""
    check_version(enrollment, version)
    competency = Competency(text=text.strip(), is_acquired=acquired)
    enrollment.competencies.append(competency)
    _touch(enrollment)
    return competency


def remove_competency(
    enrollment: Enrollment, version: str | int | None, competency_id: int
) -> None:
    check_version(enrollment, version)
    enrollment.competencies.remove(_child(enrollment.competencies, competency_id))
    _touch(enrollment)


def update_programme(
    programme: Programme,
    *,
    hospital: str,
    service: str,
    address: str,
    coordinator_name: str,
    coordinator_phone: str,
    coordinator_email: str,
) -> None:
    """Save the programme's header and its coordinator's direct contact details."""
    programme.hospital = hospital.strip()
    programme.service = service.strip()
    programme.address = address.strip()
    programme.coordinator_name = coordinator_name.strip()
    programme.coordinator_phone = coordinator_phone.strip()
    programme.coordinator_email = accounts.normalise_email(coordinator_email)


def create_programme(name: str, *, hospital: str = "", service: str = "") -> Programme:
    """Create an ETP programme; its coordinator's details are then filled on its page."""
    name = name.strip()
    if not name:
        raise EnrollmentError(_("Give the programme a name."))
    if session.scalar(select(Programme).where(Programme.name == name)) is not None:
        raise EnrollmentError(_("A programme already has this name."))
    programme = Programme(
        name=name[:200], hospital=hospital.strip()[:200], service=service.strip()[:200]
    )
    session.add(programme)
    session.flush()
    return programme


def add_educator(programme: Programme, email: str) -> User:
    """Make an existing educator account a member of the programme's team."""
    user = accounts.find_user(email)
    if user is None or user.role != Role.EDUCATOR:
        raise EnrollmentError(_("No educator account has this email address."))
    if user not in programme.educators:
        programme.educators.append(user)
        session.flush()
    return user


def add_workshop(
    programme: Programme, title: str, description: str, *, collective: bool
) -> Workshop:
    """Add a workshop to the programme's catalogue."""
    title = title.strip()
    if any(w.title.lower() == title.lower() for w in programme.workshops):
        raise EnrollmentError(_("The catalogue already has a workshop with this title."))
    workshop = Workshop(title=title, description=description.strip(), is_collective=collective)
    programme.workshops.append(workshop)
    session.flush()
    return workshop


def patient_enrollment(patient: Patient, enrollment_id: int) -> Enrollment:
    """The access helper for the patient: one of their own enrollments, else 404."""
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.patient_id != patient.id:
        abort(404)
    return enrollment
