"""The patient's agreement that their GP is informed: given in the app, or recorded orally.

Rows are never deleted: withdrawing stamps the active consent, so who agreed, when, and
who recorded it stay readable. Letters check consent in the transaction that issues or
sends them, after locking the enrollment row, so a withdrawal that commits first always wins.
"""

from __future__ import annotations

import datetime as dt

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from pathway import audit, notifications
from pathway.db import session, utcnow
from pathway.i18n import format_day
from pathway.models import Consent, Enrollment, User
from pathway.rules import RuleBroken

APP = "app"
ORAL = "oral"


class ConsentError(RuleBroken):
    """A rule on consent was broken; the message is translated and shown to the user."""


def lock_enrollment(enrollment: Enrollment) -> None:
    """Take the enrollment's row lock (PostgreSQL) so consent and letters serialise."""
    # SQLite already serialises writers (BEGIN IMMEDIATE); FOR UPDATE is ignored there.
    session.execute(select(Enrollment.id).where(Enrollment.id == enrollment.id).with_for_update())


def active_consent(enrollment: Enrollment) -> Consent | None:
    """The consent in force for this enrollment, read from the database, or None."""
    return session.scalar(
        select(Consent)
        .where(Consent.enrollment_id == enrollment.id, Consent.withdrawn_at.is_(None))
        .order_by(Consent.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


def has_active_consent(enrollment: Enrollment) -> bool:
    """Whether the patient currently agrees that their GP is informed."""
    return active_consent(enrollment) is not None


def give_consent(enrollment: Enrollment, patient_user: User) -> Consent:
    """Record the patient's own agreement, given in the app."""
    lock_enrollment(enrollment)
    existing = active_consent(enrollment)
    if existing is not None:
        return existing
    return _recorded(enrollment, patient_user, utcnow(), APP, enrollment.patient.full_name)


def _recorded(
    enrollment: Enrollment, by: User, given_at: dt.datetime, method: str, by_name: str
) -> Consent:
    """Store an agreement and the event that records it."""
    consent = Consent(
        enrollment=enrollment,
        given_at=given_at,
        method=method,
        recorded_by_id=by.id,
        recorded_by_name=by_name,
    )
    return audit.record_new(
        consent,
        audit.Tag.CONSENT_GIVEN,
        by,
        enrollment.patient_id,
        enrollment=enrollment,
        method=method,
    )


def record_oral_consent(enrollment: Enrollment, educator: User, given_on: dt.date) -> Consent:
    """Record an agreement the patient gave orally to an educator on a given day."""
    today = utcnow().date()
    if given_on > today:
        raise ConsentError(_("The date of the patient's agreement cannot be in the future."))
    if given_on < today - dt.timedelta(days=365):
        raise ConsentError(_("The date of the patient's agreement is more than a year ago."))
    lock_enrollment(enrollment)
    if active_consent(enrollment) is not None:
        raise ConsentError(_("The patient's agreement is already recorded."))
    # Today's consent keeps its exact time; an earlier day is stamped at noon UTC.
    given_at = utcnow() if given_on == today else dt.datetime.combine(given_on, dt.time(12), dt.UTC)
    consent = _recorded(
        enrollment, educator, given_at, ORAL, educator.display_name or educator.email
    )
    # Recorded on the patient's behalf: they are told by whom, and can withdraw it.
    _tell_patient(
        enrollment,
        "consent_recorded",
        educator=consent.recorded_by_name,
        on=given_on,
    )
    return consent


def _tell_patient(
    enrollment: Enrollment, kind: str, *, educator: str, on: dt.date | None = None
) -> None:
    """Notify the patient of a change to their consent made by someone of their team."""
    user = enrollment.patient.user
    if user is None:  # no account yet: their programme page shows it once they have one
        return
    params = {"educator": educator, "programme": enrollment.programme.name}
    if on is not None:
        # Stored as the sentence will read it: in the patient's language.
        with force_locale(user.locale or "fr"):
            params["date"] = format_day(on, "long")
    notifications.notify(
        user.id,
        kind,
        params,
        link=url_for("programme.index", _anchor=f"consent-{enrollment.id}"),
    )


def withdraw_consent(enrollment: Enrollment, by: User) -> bool:
    """Withdraw the agreement in force; return False when there was none."""
    lock_enrollment(enrollment)
    consent = active_consent(enrollment)
    if consent is None:
        return False
    consent.withdrawn_at = utcnow()
    by_patient = by.patient is not None and by.patient.id == enrollment.patient_id
    if by_patient:
        consent.withdrawn_by_name = enrollment.patient.full_name
    else:
        consent.withdrawn_by_name = by.display_name or by.email
        _tell_patient(enrollment, "consent_withdrawn_for_you", educator=consent.withdrawn_by_name)
    session.flush()
    method = APP if by.patient is not None else ORAL
    audit.record(
        audit.Tag.CONSENT_WITHDRAWN, by, enrollment.patient_id, enrollment=enrollment, method=method
    )
    return True
