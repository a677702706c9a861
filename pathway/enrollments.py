"""The team's side of a patient's path: who may see which enrollment, enrolling, inviting."""

from __future__ import annotations

import datetime as dt

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from pathway import accounts
from pathway.db import session, utcnow
from pathway.models import Enrollment, Patient, Programme, User


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
            .options(selectinload(Enrollment.patient))
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
    patient = Patient(first_name=first_name.strip(), last_name=last_name.strip(), birth_date=birth_date)
    enrollment = Enrollment(patient=patient, programme=programme, started_on=utcnow().date())
    session.add_all([patient, enrollment])
    session.flush()
    link = accounts.invite_patient(patient, email, educator)
    return enrollment, link


