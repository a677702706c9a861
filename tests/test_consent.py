"""The patient's agreement that their GP is informed: given, recorded orally, withdrawn, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pathway.models import AuditEvent, Consent
from pathway.programme import consent

# Consents are recorded inside a request, as in production.
pytestmark = pytest.mark.usefixtures("in_request")


def test_no_consent_until_one_is_recorded(alice_enrollment) -> None:
    assert consent.has_active_consent(alice_enrollment) is False


def test_patient_gives_consent_in_the_app(alice_enrollment, db) -> None:
    given = consent.give_consent(alice_enrollment, alice_enrollment.patient.user)
    assert consent.has_active_consent(alice_enrollment)
    assert (given.method, given.recorded_by_name) == ("app", "Alice Martin")
    event = db.scalar(select(AuditEvent).where(AuditEvent.tag == "consent:given"))
    assert event.details == {"enrollment": alice_enrollment.id, "method": "app"}
    assert event.patient_id == alice_enrollment.patient_id
    # Giving it again keeps the one in force.
    assert consent.give_consent(alice_enrollment, alice_enrollment.patient.user).id == given.id


def test_educator_records_oral_consent_with_its_date(alice_enrollment, claire) -> None:
    day = dt.date.today() - dt.timedelta(days=3)
    given = consent.record_oral_consent(alice_enrollment, claire, day)
    assert (given.method, given.recorded_by_name, given.recorded_by_id) == (
        "oral",
        "Claire Dubois",
        claire.id,
    )
    assert given.given_at.date() == day


@pytest.mark.parametrize(
    ("offset", "message"),
    [(1, "ne peut pas être dans le futur"), (400, "remonte à plus d'un an")],
)
def test_oral_consent_date_must_be_plausible(alice_enrollment, claire, offset, message) -> None:
    day = (
        dt.date.today() + dt.timedelta(days=offset)
        if offset == 1
        else dt.date.today() - dt.timedelta(days=offset)
    )
    with pytest.raises(consent.ConsentError, match=message):
        consent.record_oral_consent(alice_enrollment, claire, day)
    assert not consent.has_active_consent(alice_enrollment)


def test_oral_consent_cannot_be_recorded_twice(alice_enrollment, claire) -> None:
    consent.record_oral_consent(alice_enrollment, claire, dt.date.today())
    with pytest.raises(consent.ConsentError, match="déjà enregistré"):
        consent.record_oral_consent(alice_enrollment, claire, dt.date.today())


def test_withdrawal_keeps_the_history(alice_enrollment, claire, db) -> None:
    given = consent.give_consent(alice_enrollment, alice_enrollment.patient.user)
    assert consent.withdraw_consent(alice_enrollment, alice_enrollment.patient.user) is True
    assert not consent.has_active_consent(alice_enrollment)
    db.refresh(given)
    assert given.withdrawn_at is not None and given.withdrawn_by_name == "Alice Martin"
    assert db.scalar(select(AuditEvent).where(AuditEvent.tag == "consent:withdrawn")) is not None
    assert consent.withdraw_consent(alice_enrollment, claire) is False
    again = consent.record_oral_consent(alice_enrollment, claire, dt.date.today())
    assert [
        c.id
        for c in db.scalars(select(Consent).where(Consent.enrollment_id == alice_enrollment.id))
    ] == [given.id, again.id]


def test_withdrawal_by_an_educator_names_them(alice_enrollment, claire, db) -> None:
    given = consent.record_oral_consent(alice_enrollment, claire, dt.date.today())
    consent.withdraw_consent(alice_enrollment, claire)
    db.refresh(given)
    assert given.withdrawn_by_name == "Claire Dubois"


def test_consent_is_read_from_the_database_not_a_stale_object(alice_enrollment, claire, db) -> None:
    given = consent.record_oral_consent(alice_enrollment, claire, dt.date.today())
    db.flush()
    # Another request withdrew it with plain SQL: the check must see it at once.
    from sqlalchemy import update

    db.execute(
        update(Consent).where(Consent.id == given.id).values(withdrawn_at=dt.datetime.now(dt.UTC))
    )
    assert consent.has_active_consent(alice_enrollment) is False
