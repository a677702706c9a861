"""Sending an issued letter to the GP over SMTP (a real local server), and its failure modes."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from pathway import letters
from pathway.models import (
    AttendanceStatus,
    AuditEvent,
    Competency,
    Consent,
    LetterDispatch,
    LetterKind,
    Role,
    Share,
    WorkshopAttendance,
)
from pathway.sharing.sections import Audience
from tests.factories import enroll, make_patient, make_programme, make_user, sign_in


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.envelopes.append(envelope)
        return "250 Message accepted"

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=email.policy.default)  # type: ignore[misc]
            for e in self.envelopes
        ]


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def app_config(app_config, smtp):  # type: ignore[no-untyped-def]
    app_config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp[1], SMTP_STARTTLS=False)
    return app_config


@pytest.fixture
def issued(app, db):  # type: ignore[no-untyped-def]
    """Alice's start letter, issued by Claire with Alice's consent."""
    claire = make_user("claire@example.org", Role.EDUCATOR, display_name="Claire Dubois")
    programme = make_programme("Programme A", claire)
    alice = enroll(make_patient("Alice"), programme)
    alice.attendances = [
        WorkshopAttendance(
            workshop=programme.workshops[0],
            status=AttendanceStatus.ATTENDED,
            scheduled_on=dt.date(2026, 10, 8),
        )
    ]
    alice.competencies = [Competency(text="Alice explains the warning signs")]
    db.add(
        Consent(
            enrollment=alice,
            method="oral",
            recorded_by_id=claire.id,
            recorded_by_name="Claire Dubois",
        )
    )
    db.flush()
    with app.test_request_context():
        letter = letters.issue_letter(alice, LetterKind.START, claire)
    db.flush()
    return letter


def send(client, letter):  # type: ignore[no-untyped-def]
    sign_in(client, "claire@example.org")
    page = f"/team/enrollments/{letter.enrollment_id}"
    return client.submit(f"/team/letters/{letter.public_id}/send", {}, page=page)


def test_letter_is_sent_to_the_gp_secure_address_with_the_pdf(client, db, issued, smtp) -> None:
    inbox, _port = smtp
    response = send(client, issued)
    assert response.status_code == 302
    assert len(inbox.envelopes) == 1
    assert inbox.envelopes[0].rcpt_tos == ["gp-alice@medecin.mssante.fr"]
    message = inbox.messages()[0]
    assert message["To"] == "gp-alice@medecin.mssante.fr"
    assert message["Subject"] == (
        "Synthèse du Bilan Éducatif Partagé et du programme personnalisé"
        " – Alice Martin – Programme A"
    )
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["synthese-bep-martin-v1.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    assert attachments[0].get_content() == issued.pdf
    body = message.get_body(("plain",)).get_content()
    assert "Pour nous joindre directement : Coordinator of Programme A" in body
    assert "contrôlée par le patient" not in body  # no GP share yet
    dispatch = db.scalar(select(LetterDispatch).where(LetterDispatch.letter_id == issued.id))
    assert dispatch.recipient == "gp-alice@medecin.mssante.fr"
    event = db.scalar(select(AuditEvent).where(AuditEvent.tag == "letter:sent"))
    assert event.details["recipient_domain"] == "medecin.mssante.fr"
    assert "Le courrier a été envoyé à gp-alice@medecin.mssante.fr." in client.get(
        f"/team/enrollments/{issued.enrollment_id}"
    ).get_data(as_text=True)


def test_message_carries_the_gp_share_link_when_there_is_one(app, client, db, issued, smtp) -> None:
    from pathway.sharing.shares import share_url

    inbox, _port = smtp
    share = Share(
        patient=issued.enrollment.patient,
        audience=Audience.GP,
        label="Dr GP",
        sections=["conditions"],
    )
    db.add(share)
    db.flush()
    with app.test_request_context():
        url = share_url(share)
    assert send(client, issued).status_code == 302
    body = inbox.messages()[0].get_body(("plain",)).get_content()
    assert "La synthèse à jour, contrôlée par le patient :" in body
    assert url in body


def test_plain_email_is_used_when_the_gp_has_no_secure_address(client, db, issued, smtp) -> None:
    inbox, _port = smtp
    issued.enrollment.patient.gp.secure_email = ""
    db.flush()
    assert send(client, issued).status_code == 302
    assert inbox.envelopes[0].rcpt_tos == ["gp-alice@example.org"]


def test_smtp_failure_gives_a_clear_message_and_records_nothing(
    app, client, db, issued, smtp
) -> None:
    app.config["SMTP_PORT"] = free_port()  # nobody listens there
    response = send(client, issued)
    assert response.status_code == 503
    assert "Le serveur de messagerie n&#39;a pas accepté le courrier" in response.get_data(
        as_text=True
    )
    assert db.scalar(select(LetterDispatch)) is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.tag == "letter:sent")) is None


def test_no_sending_once_consent_is_withdrawn(client, db, issued, smtp) -> None:
    inbox, _port = smtp
    issued.enrollment.consents[0].withdrawn_at = dt.datetime.now(dt.UTC)
    db.flush()
    response = send(client, issued)
    assert response.status_code == 403
    assert inbox.envelopes == []
    assert db.scalar(select(LetterDispatch)) is None
    assert db.scalar(select(AuditEvent).where(AuditEvent.tag == "letter:refused")) is not None


def test_an_older_version_cannot_be_sent(app, client, db, issued, smtp) -> None:
    inbox, _port = smtp
    with app.test_request_context():
        letters.issue_letter(
            issued.enrollment, LetterKind.START, issued.enrollment.programme.educators[0]
        )
    db.flush()
    response = send(client, issued)
    assert response.status_code == 400
    assert "Une version plus récente de ce courrier existe" in response.get_data(as_text=True)
    assert inbox.envelopes == []


def test_no_gp_address_is_refused_with_what_to_fill(client, db, issued, smtp) -> None:
    inbox, _port = smtp
    gp = issued.enrollment.patient.gp
    gp.secure_email = gp.email = ""
    db.flush()
    response = send(client, issued)
    assert response.status_code == 400
    assert "Ajoutez l&#39;adresse de messagerie sécurisée (MSSanté)" in response.get_data(
        as_text=True
    )
    assert inbox.envelopes == []
