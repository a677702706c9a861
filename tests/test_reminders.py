"""Reminders: a professional link expiring within 3 days, or expired, is told to its patient
by e-mail once, however often and on however many hosts `send-reminders` runs."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import time_machine
from flask import Flask
from sqlalchemy import delete, select

from pathway import create_app, reminders
from pathway.db import session, utcnow
from pathway.mail_notices import MailKind, set_mail_choices
from pathway.models import AuditEvent, OutboxMessage, Patient, Share, User
from pathway.sharing.sections import Audience
from tests.conftest import PUBLIC_BASE_URL, Inbox, make_config
from tests.factories import make_card, make_patient, make_share, url_of
from tests.servers import free_port

DAY = dt.timedelta(days=1)


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: tuple[Inbox, int]) -> dict[str, Any]:
    app_config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp[1], SMTP_STARTTLS=False)
    return app_config


def expiring_in(
    patient: Patient, left: dt.timedelta, life: dt.timedelta = 30 * DAY, **options: Any
) -> Share:
    """A 30-day link (by default) with `left` to go before it expires."""
    share = make_share(patient, **options)
    share.expires_at = utcnow() + left
    share.created_at = share.expires_at - life
    session.flush()
    return share


def run(app: Flask, now: dt.datetime | None = None) -> reminders.Reminders:
    with app.test_request_context():
        result = reminders.send_reminders(now)
    session.flush()
    return result


def queued(patient: Patient) -> list[OutboxMessage]:
    assert patient.user is not None
    query = select(OutboxMessage).where(OutboxMessage.recipient == patient.user.email)
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def test_a_link_expiring_within_3_days_is_reminded_once(app, db, alice) -> None:
    share = expiring_in(alice, 2 * DAY, label="Dr Martin")
    assert run(app) == reminders.Reminders(expiring=1, expired=0)
    db.refresh(share)
    assert share.expiry_reminded_at is not None and share.expired_reminded_at is None
    [message] = queued(alice)
    assert message.subject == "L'un de vos liens expire bientôt"
    assert "Votre lien « Dr Martin » expire le " in message.body
    assert f"Ouvrez Pathway pour en savoir plus : {PUBLIC_BASE_URL}/shares/" in message.body
    assert (
        url_of(share).rsplit("/", 1)[-1] not in message.body and share.public_id not in message.body
    )
    # Every later run finds it claimed.
    assert run(app) == reminders.Reminders(expiring=0, expired=0)
    assert len(queued(alice)) == 1


def test_a_link_far_from_its_expiry_or_without_one_is_not_reminded(app, db, alice) -> None:
    expiring_in(alice, 3 * DAY + dt.timedelta(hours=1))
    no_expiry = make_share(alice)
    no_expiry.expires_at = None
    # A link made to live 24 hours is not "about to expire" the moment it is made.
    expiring_in(alice, dt.timedelta(hours=20), life=DAY)
    db.flush()
    assert run(app) == reminders.Reminders(expiring=0, expired=0)
    assert queued(alice) == []


def test_withdrawn_locked_and_deactivated_links_and_cards_are_never_reminded(
    app, db, alice, bob
) -> None:
    expiring_in(alice, DAY).revoked_at = utcnow()
    expiring_in(alice, DAY).locked_at = utcnow()
    card = make_card(alice)
    card.expires_at = utcnow() + DAY  # an emergency card, even one with an expiry
    card.created_at = utcnow() - 30 * DAY
    expired_card = make_card(bob)
    expired_card.expires_at = utcnow() - dt.timedelta(hours=1)
    expiring_in(bob, DAY)
    bob.user.is_active = False  # an account closed
    db.flush()
    assert run(app) == reminders.Reminders(expiring=0, expired=0)
    assert db.scalars(select(Share).where(Share.expiry_reminded_at.is_not(None))).all() == []
    assert db.scalars(select(OutboxMessage)).all() == []


def test_an_expired_link_is_told_once_with_how_to_renew_it(app, db, alice) -> None:
    share = expiring_in(alice, -dt.timedelta(hours=2), label="Pharmacie du centre")
    assert run(app) == reminders.Reminders(expiring=0, expired=1)
    [message] = queued(alice)
    assert message.subject == "L'un de vos liens a expiré"
    assert "Votre lien « Pharmacie du centre » a expiré le " in message.body
    assert "Vous pouvez le renouveler depuis la page de vos liens." in message.body
    assert f"{PUBLIC_BASE_URL}/shares/" in message.body
    db.refresh(share)
    assert share.expired_reminded_at is not None
    assert run(app) == reminders.Reminders(expiring=0, expired=0)
    assert len(queued(alice)) == 1


def test_a_link_first_reminded_then_expired_is_told_both_once(app, db, alice) -> None:
    expiring_in(alice, DAY)
    assert run(app).expiring == 1
    assert run(app, utcnow() + 2 * DAY) == reminders.Reminders(expiring=0, expired=1)
    assert run(app, utcnow() + 3 * DAY) == reminders.Reminders(expiring=0, expired=0)
    assert [m.subject for m in queued(alice)] == [
        "L'un de vos liens expire bientôt",
        "L'un de vos liens a expiré",
    ]


def test_a_link_that_expired_long_ago_is_not_told(app, db, alice) -> None:
    expiring_in(alice, -reminders.EXPIRED_TOLD_WITHIN - DAY)
    assert run(app) == reminders.Reminders(expiring=0, expired=0)


def test_a_patient_who_turned_reminders_off_gets_none_and_is_not_asked_again(
    app, db, alice
) -> None:
    set_mail_choices(alice.user, {MailKind.LINK_EXPIRING: False})
    share = expiring_in(alice, DAY)
    assert run(app) == reminders.Reminders(expiring=0, expired=0)
    assert queued(alice) == []
    db.refresh(share)
    assert share.expiry_reminded_at is not None  # claimed all the same: nothing to send later


def test_the_reminder_is_in_the_patients_language(app, db, alice) -> None:
    alice.user.locale = "en"
    expiring_in(alice, DAY, label="Dr Martin")
    run(app)
    [message] = queued(alice)
    assert message.subject == "One of your links expires soon"
    assert "Your link “Dr Martin” expires on " in message.body
    assert f"Open Pathway to find out more: {PUBLIC_BASE_URL}/shares/" in message.body


# The commands, end to end ---------------------------------------------------------------


def test_send_reminders_then_send_mail_delivers_each_reminder_once(app, db, alice, smtp) -> None:
    inbox, _port = smtp
    share = expiring_in(alice, DAY, label="Dr Martin")
    db.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["send-reminders"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 reminders of links expiring soon and 0 of links expired" in result.output
    result = runner.invoke(args=["send-mail"])
    assert "Sent 1 messages, 0 failed; 0 waiting" in result.output, result.output
    assert runner.invoke(args=["send-reminders"]).output.startswith("Queued 0 reminders")
    assert "Sent 0 messages" in runner.invoke(args=["send-mail"]).output
    [message] = inbox.messages()
    assert message["To"] == alice.user.email
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Votre lien « Dr Martin » expire le " in body
    assert url_of(share).rsplit("/", 1)[-1] not in body
    assert "Alice condition" not in body and "Programme A" not in body


def test_a_mail_server_that_is_down_leaves_the_reminder_in_the_outbox(app, db, alice, smtp) -> None:
    inbox, port = smtp
    expiring_in(alice, DAY)
    db.commit()
    runner = app.test_cli_runner()
    app.config["SMTP_PORT"] = free_port()  # nothing listens there
    assert "Queued 1 reminders" in runner.invoke(args=["send-reminders"]).output
    assert "Sent 0 messages, 1 failed; 1 waiting" in runner.invoke(args=["send-mail"]).output
    # Later, the relay is back: the same message goes, once, and no reminder is made again.
    app.config["SMTP_PORT"] = port
    assert "Queued 0 reminders" in runner.invoke(args=["send-reminders"]).output
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)):
        assert "Sent 1 messages, 0 failed; 0 waiting" in runner.invoke(args=["send-mail"]).output
        assert "Sent 0 messages" in runner.invoke(args=["send-mail"]).output
    assert len(inbox.messages()) == 1


def test_two_runs_at_once_send_each_reminder_once(database_url_for_tests, tmp_path) -> None:
    """Two hosts' timers firing together, on real commits from two connections."""
    app = create_app(make_config(database_url_for_tests, tmp_path))
    count = 12
    with app.app_context():
        patients = [
            make_patient(f"Remi{n}", email=f"remi{n}-reminders@example.org") for n in range(count)
        ]
        for n, patient in enumerate(patients):
            expiring_in(patient, DAY if n % 2 else -DAY)
        session.commit()
        patient_ids = [p.id for p in patients]
        user_ids = [p.user_id for p in patients]
        addresses = [p.user.email for p in patients]
    start = threading.Barrier(2)
    results: list[reminders.Reminders] = []
    failures: list[BaseException] = []

    def timer() -> None:
        try:
            with app.app_context(), app.test_request_context():
                start.wait()
                results.append(reminders.send_reminders())
                session.commit()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=timer) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert failures == []
        assert sum(r.expiring for r in results) == count // 2
        assert sum(r.expired for r in results) == count // 2
        with app.app_context():
            sent = session.scalars(
                select(OutboxMessage.recipient).where(OutboxMessage.recipient.in_(addresses))
            ).all()
            assert sorted(sent) == sorted(addresses)  # one each, never two
    finally:
        with app.app_context():
            session.execute(delete(OutboxMessage).where(OutboxMessage.recipient.in_(addresses)))
            session.execute(delete(AuditEvent).where(AuditEvent.patient_id.in_(patient_ids)))
            session.execute(delete(Patient).where(Patient.id.in_(patient_ids)))
            session.execute(delete(User).where(User.id.in_(user_ids)))
            session.commit()
        app.extensions["pathway.db"].engine.dispose()


def test_the_link_reminded_is_a_professional_one(app, db, alice) -> None:
    expiring_in(alice, DAY, audience=Audience.PHARMACIST, label="Pharmacie")
    assert run(app).expiring == 1
