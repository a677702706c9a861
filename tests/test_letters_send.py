"""Sending an issued letter to the GP over SMTP (a real local server), and its failure modes."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.test import TestResponse

from pathway import letters
from pathway.db import session
from pathway.models import (
    AuditEvent,
    LetterDispatch,
    LetterKind,
    Share,
)
from pathway.sharing.sections import Audience, Section
from tests.factories import make_progress, sign_in
from tests.servers import free_port


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp) -> dict[str, Any]:
    app_config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp[1], SMTP_STARTTLS=False)
    return app_config


@pytest.fixture
def issued(app, alice_enrollment, claire):
    """Alice's start letter, issued by Claire with Alice's consent."""
    make_progress(alice_enrollment, claire)
    with app.test_request_context():
        letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    session.flush()
    return letter


def send(client, letter) -> TestResponse:
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
    # The subject never names the patient: the programme and the letter's reference.
    assert message["Subject"] == (
        f"Courrier ETP — programme Programme A — réf. {letters.letter_reference(issued.public_id)}"
    )
    assert "Alice" not in message["Subject"] and "Martin" not in message["Subject"]
    # No service mailbox filled in: the app's own sender.
    assert message["From"] == client.application.config["MAIL_FROM"]
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


def test_message_carries_the_letters_own_link_never_the_gp_share(
    app, client, db, alice_enrollment, claire, smtp
) -> None:
    from pathway.sharing.shares import share_url

    inbox, _port = smtp
    make_progress(alice_enrollment, claire)
    share = Share(
        patient=alice_enrollment.patient,
        audience=Audience.GP,
        label="Dr GP",
        sections=["conditions"],
    )
    db.add(share)
    db.flush()
    with app.test_request_context():
        letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
        gp_url = share_url(share)
        own_url = share_url(letters.letter_share(letter))
    db.flush()
    assert send(client, letter).status_code == 302
    message = inbox.messages()[0]
    body = message.get_body(("plain",)).get_content()
    assert "La synthèse à jour, contrôlée par la patiente" in body
    assert own_url in body and gp_url not in body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == letter.pdf  # the copy with the letter's own link


def test_a_withdrawn_letter_link_is_neither_in_the_message_nor_in_its_pdf(
    app, client, db, alice_enrollment, claire, smtp
) -> None:
    from pathway.sharing import shares

    inbox, _port = smtp
    make_progress(alice_enrollment, claire)
    shares.create_share(
        alice_enrollment.patient,
        audience=Audience.GP,
        label="Dr GP",
        sections=(Section.CONDITIONS,),
    )
    with app.test_request_context():
        letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
        own_url = shares.share_url(letters.letter_share(letter))
    shares.revoke_share(letters.letter_share(letter))
    db.flush()
    assert send(client, letter).status_code == 302
    message = inbox.messages()[0]
    assert own_url not in message.get_body(("plain",)).get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content() == letter.reader_pdf


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


def test_a_name_saved_with_a_line_break_still_sends_the_letter(client, db, issued, smtp) -> None:
    # Names refuse control characters now; one saved before that must not break the mail.
    inbox, _port = smtp
    patient = issued.enrollment.patient
    patient.last_name = "Martin\r\nBcc: someone@evil.example"
    db.commit()
    assert send(client, issued).status_code == 302
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == ["gp-alice@medecin.mssante.fr"]
    [message] = inbox.messages()
    assert message["Bcc"] is None
    assert "\n" not in message["Subject"] and "Bcc" not in message["Subject"]
    assert "someone@evil.example" not in message.get_body(("plain",)).get_content()
