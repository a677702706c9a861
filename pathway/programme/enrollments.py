"""The team's side of a patient's path: who may see which enrollment, enrolling, inviting."""

from __future__ import annotations

import datetime as dt
from typing import TypeVar
from zoneinfo import ZoneInfo

from flask import abort, has_request_context
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pathway import identifiers, images
from pathway.auth import accounts
from pathway.db import session, utcnow
from pathway.i18n import format_day
from pathway.models import (
    AttendanceStatus,
    Competency,
    CompetencyStatus,
    Enrollment,
    Letter,
    Objective,
    ObjectiveStatus,
    Patient,
    Programme,
    Role,
    SectionAuthor,
    Sex,
    User,
    Workshop,
    WorkshopAttendance,
)
from pathway.models.patients import IdentityStatus
from pathway.rules import RuleBroken
from pathway.sharing.sections import Section
from pathway.summary.editing import touch_section

PARIS = ZoneInfo("Europe/Paris")


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
    sex: Sex | None = None,
) -> tuple[Enrollment, str]:
    """Create the patient, enroll them, and send the invitation; return both."""
    patient = Patient(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        birth_date=birth_date,
        sex=sex,
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


def _educator_name() -> str:
    """The team member making the change: the staff member signed in to this request."""
    if has_request_context() and current_user.is_authenticated and current_user.is_staff:
        return str(current_user.display_name or current_user.email)
    return ""


def _touch(enrollment: Enrollment, *also: Section) -> None:
    # Any change to the path bumps the enrollment's version, so every other open form
    # on it (objectives, workshops, evaluation) becomes stale and is refused.
    enrollment.updated_at = utcnow()
    # What the patient's links show is stamped as the team's, with the educator's name.
    for section in (Section.ETP_PROGRESS, *also):
        touch_section(enrollment.patient, section, _educator_name(), SectionAuthor.TEAM)


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
    _touch(enrollment, Section.TREATMENT_OBJECTIVES)
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
    _touch(enrollment, Section.TREATMENT_OBJECTIVES)


def remove_objective(enrollment: Enrollment, version: str | int | None, objective_id: int) -> None:
    check_version(enrollment, version)
    enrollment.objectives.remove(_child(enrollment.objectives, objective_id))
    _touch(enrollment, Section.TREATMENT_OBJECTIVES)


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
    enrollment: Enrollment,
    version: str | int | None,
    attendance_id: int,
    status: AttendanceStatus,
    *,
    today: dt.date | None = None,
) -> None:
    """Say whether the patient attended a session; never before the session's date."""
    check_version(enrollment, version)
    attendance = _child(enrollment.attendances, attendance_id)
    today = today or local_today()
    if (
        status != AttendanceStatus.PLANNED
        and attendance.scheduled_on is not None
        and attendance.scheduled_on > today
    ):
        raise EnrollmentError(
            _(
                "“%(workshop)s” takes place on %(date)s: it can be marked attended or missed "
                "only from that day on.",
                workshop=attendance.workshop.title,
                date=format_day(attendance.scheduled_on, "long"),
            )
        )
    attendance.status = status
    _touch(enrollment)


def local_today() -> dt.date:
    """Today in France, where the sessions take place (not UTC's date near midnight)."""
    return utcnow().astimezone(PARIS).date()


def remove_attendance(
    enrollment: Enrollment, version: str | int | None, attendance_id: int
) -> None:
    check_version(enrollment, version)
    enrollment.attendances.remove(_child(enrollment.attendances, attendance_id))
    _touch(enrollment)


def add_competency(
    enrollment: Enrollment,
    version: str | int | None,
    text: str,
    *,
    acquired: bool | None = None,
    status: CompetencyStatus | None = None,
) -> Competency:
    """Add a competency in one personalised line, with its status (acquired, in progress,
    not acquired); `acquired` is the former yes/no (no: in progress)."""
    check_version(enrollment, version)
    if status is None:
        status = CompetencyStatus.IN_PROGRESS if acquired is False else CompetencyStatus.ACQUIRED
    competency = Competency(text=text.strip(), status=status)
    enrollment.competencies.append(competency)
    _touch(enrollment)
    return competency


def set_competency_status(
    enrollment: Enrollment,
    version: str | int | None,
    competency_id: int,
    status: CompetencyStatus,
) -> None:
    """Record where the patient now stands on a competency."""
    check_version(enrollment, version)
    _child(enrollment.competencies, competency_id).status = status
    _touch(enrollment)


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
    coordinator_sex: Sex | None = None,
    coordinator_profession: str = "",
    finess: str = "",
    ars_reference: str = "",
    city: str = "",
    sender_email: str = "",
) -> None:
    """Save the programme's letterhead and its coordinator's direct contact details.

    The FINESS number is stored only with its Luhn key right (EnrollmentError on `finess`
    otherwise, nothing changed)."""
    checked_finess = ""
    if finess.strip():
        found = identifiers.finess(finess)
        if found is None:
            raise EnrollmentError(
                _(
                    "This FINESS number is not valid: it has 9 digits, the last one a check "
                    "digit. Copy it again from the establishment's FINESS record."
                ),
                field="finess",
            )
        checked_finess = found
    programme.hospital = hospital.strip()
    programme.service = service.strip()
    programme.address = address.strip()
    programme.coordinator_name = coordinator_name.strip()
    programme.coordinator_phone = coordinator_phone.strip()
    programme.coordinator_email = accounts.normalise_email(coordinator_email)
    programme.coordinator_sex = coordinator_sex
    programme.coordinator_profession = coordinator_profession.strip()
    programme.finess = checked_finess
    programme.ars_reference = ars_reference.strip()
    programme.city = city.strip()
    programme.sender_email = accounts.normalise_email(sender_email) if sender_email.strip() else ""


def set_logo(programme: Programme, data: bytes) -> None:
    """Keep the programme's logo, decoded and re-encoded (images.ImageRefused otherwise)."""
    clean = images.clean_logo(data)
    programme.logo = clean.data
    programme.logo_type = clean.content_type


def remove_logo(programme: Programme) -> None:
    programme.logo = None
    programme.logo_type = None


# The statuses of an identity whose INS was retrieved or verified through INSi.
INS_STATUSES = (IdentityStatus.RETRIEVED, IdentityStatus.QUALIFIED)


class IdentityError(EnrollmentError):
    """The identity typed breaks a rule (an INS that does not check); nothing was changed."""


def update_identity(
    patient: Patient,
    *,
    sex: Sex | None,
    birth_name: str,
    birth_first_names: str,
    ins: str,
    ins_oid: str | None,
    identity_status: IdentityStatus,
) -> None:
    """Record the identity the team checked: sex, birth name and first names, INS and OID,
    and how far it was checked (its status).

    An INS is kept only when its key is right, its OID says NIR or NIA, and it agrees with
    the sex and birth date of the record; a retrieved or qualified identity has one, since
    its INS came from the INSi teleservice (IdentityError on the field at fault otherwise,
    nothing changed)."""
    checked_ins: str | None = None
    checked_oid: str | None = None
    if ins.strip():
        result = identifiers.check_ins(
            ins, sex=sex.value if sex is not None else None, birth_date=patient.birth_date
        )
        if isinstance(result, identifiers.InsProblem):
            raise IdentityError(_ins_message(result.reason), field="ins")
        if ins_oid not in identifiers.INS_OIDS:
            raise IdentityError(
                _("Say whether the INS is the patient's NIR or a NIA (its OID)."), field="ins_oid"
            )
        checked_ins, checked_oid = result, ins_oid
    if checked_ins is None and identity_status in INS_STATUSES:
        raise IdentityError(
            _(
                "A retrieved or qualified identity has the INS the INSi teleservice returned: "
                "enter it, or choose a provisional or validated identity."
            ),
            field="identity_status",
        )
    patient.sex = sex
    patient.birth_name = birth_name.strip()
    patient.birth_first_names = " ".join(birth_first_names.split())
    patient.ins = checked_ins
    patient.ins_oid = checked_oid
    patient.identity_status = identity_status


def _ins_message(reason: str) -> str:
    if reason == "key":
        return _(
            "This INS is not valid: its last two digits (the key) do not match the first "
            "thirteen. Copy it again from the INSi teleservice or the carte Vitale."
        )
    if reason == "sex":
        return _(
            "This INS does not match the sex entered: "
            "its first digit is 1 for a man, 2 for a woman."
        )
    if reason == "birth_year":
        return _(
            "This INS does not match the date of birth: "
            "its 2nd and 3rd digits are the year of birth."
        )
    if reason == "birth_month":
        return _(
            "This INS does not match the date of birth: "
            "its 4th and 5th digits are the month of birth."
        )
    return _(
        "This is not an INS: it has 15 characters, 13 digits (the 6th and 7th may be 2A or "
        "2B) followed by a 2-digit key."
    )


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
    programme: Programme,
    title: str,
    description: str,
    *,
    collective: bool,
    duration_minutes: int | None = None,
) -> Workshop:
    """Add a workshop to the programme's catalogue."""
    title = title.strip()
    if any(w.title.lower() == title.lower() for w in programme.workshops):
        raise EnrollmentError(_("The catalogue already has a workshop with this title."))
    workshop = Workshop(
        title=title,
        description=description.strip(),
        is_collective=collective,
        duration_minutes=duration_minutes,
    )
    programme.workshops.append(workshop)
    session.flush()
    return workshop


def patient_enrollment(patient: Patient, enrollment_id: int) -> Enrollment:
    """The access helper for the patient: one of their own enrollments, else 404."""
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.patient_id != patient.id:
        abort(404)
    return enrollment
