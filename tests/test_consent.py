"""The patient's agreement that their GP is informed: given, recorded orally, withdrawn, audited."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from pathway.models import AuditEvent, Consent, Role
from pathway.programme import consent
from tests.factories import enroll, make_patient, make_programme, make_user


@pytest.fixture
def alice(app, db):  # type: ignore[no-untyped-def]
    claire = make_user("claire@example.org", Role.EDUCATOR, display_name="Claire Dubois")
    enrollment = enroll(make_patient("Alice"), make_programme("Programme A", claire))
    with app.test_request_context():
        yield enrollment, claire


def test_no_consent_until_one_is_recorded(alice) -> None:
    enrollment, _claire = alice
    assert consent.has_active_consent(enrollment) is False


def test_patient_gives_consent_in_the_app(alice, db) -> None:
    enrollment, _claire = alice
    given = consent.give_consent(enrollment, enrollment.patient.user)
    assert consent.has_active_consent(enrollment)
    assert (given.method, given.recorded_by_name) == ("app", "Alice Martin")
    event = db.scalar(select(AuditEvent).where(AuditEvent.tag == "consent:given"))
    assert event.details == {"enrollment": enrollment.id, "method": "app"}
    assert event.patient_id == enrollment.patient_id
    # Giving it again keeps the one in force.
    assert consent.give_consent(enrollment, enrollment.patient.user).id == given.id


def test_educator_records_oral_consent_with_its_date(alice) -> None:
    enrollment, claire = alice
    day = dt.date.today() - dt.timedelta(days=3)
    given = consent.record_oral_consent(enrollment, claire, day)
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
def test_oral_consent_date_must_be_plausible(alice, offset, message) -> None:
    enrollment, claire = alice
    day = (
        dt.date.today() + dt.timedelta(days=offset)
        if offset == 1
        else dt.date.today() - dt.timedelta(days=offset)
    )
    with pytest.raises(consent.ConsentError, match=message):
        consent.record_oral_consent(enrollment, claire, day)
    assert not consent.has_active_consent(enrollment)


def test_oral_consent_cannot_be_recorded_twice(alice) -> None:
    enrollment, claire = alice
    consent.record_oral_consent(enrollment, claire, dt.date.today())
    with pytest.raises(consent.ConsentError, match="déjà enregistré"):
        consent.record_oral_consent(enrollment, claire, dt.date.today())


def test_withdrawal_keeps_the_history(alice, db) -> None:
    enrollment, claire = alice
    given = consent.give_consent(enrollment, enrollment.patient.user)
    assert consent.withdraw_consent(enrollment, enrollment.patient.user) is True
    assert not consent.has_active_consent(enrollment)
    db.refresh(given)
    assert given.withdrawn_at is not None and given.withdrawn_by_name == "Alice Martin"
    assert db.scalar(select(AuditEvent).where(AuditEvent.tag == "consent:withdrawn")) is not None
    assert consent.withdraw_consent(enrollment, claire) is False
    again = consent.record_oral_consent(enrollment, claire, dt.date.today())
    assert [
        c.id for c in db.scalars(select(Consent).where(Consent.enrollment_id == enrollment.id))
    ] == [given.id, again.id]


def test_withdrawal_by_an_educator_names_them(alice, db) -> None:
    enrollment, claire = alice
    given = consent.record_oral_consent(enrollment, claire, dt.date.today())
    consent.withdraw_consent(enrollment, claire)
    db.refresh(given)
    assert given.withdrawn_by_name == "Claire Dubois"


def test_consent_is_read_from_the_database_not_a_stale_object(alice, db) -> None:
    enrollment, claire = alice
    given = consent.record_oral_consent(enrollment, claire, dt.date.today())
    db.flush()
    # Another request withdrew it with plain SQL: the check must see it at once.
    from sqlalchemy import update

    db.execute(
        update(Consent).where(Consent.id == given.id).values(withdrawn_at=dt.datetime.now(dt.UTC))
    )
    assert consent.has_active_consent(enrollment) is False
