"""E-mail notices to patients (and to the GP of an opened card): what they say, what they
never say (no token, no health data), when they go, and that the mail server being down
never makes a page fail."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask, current_app
from sqlalchemy import select

from pathway import letters, mail, mail_notices
from pathway.db import session, utcnow
from pathway.mail_notices import MailKind, set_mail_choices
from pathway.models import LetterKind, Notification, OutboxMessage, Patient, Share
from pathway.sharing import replies, shares
from pathway.team.replies import team_reply
from tests.conftest import PUBLIC_BASE_URL, Inbox
from tests.factories import (
    SENTINELS,
    make_card,
    make_progress,
    make_share,
    naming_path,
    path_of,
    reply_data,
)
from tests.servers import free_port

SIGN_IN_PAGES = {"/card/", "/shares/", "/inbox/", "/programme/"}
LABEL = "Dr Martin, cabinet de Trélazé"


@pytest.fixture
def app_config(app_config: dict[str, Any], smtp: tuple[Inbox, int]) -> dict[str, Any]:
    app_config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp[1], SMTP_STARTTLS=False)
    return app_config


@pytest.fixture
def inbox(smtp: tuple[Inbox, int]) -> Inbox:
    return smtp[0]


def body_of(message: EmailMessage) -> str:
    text: str = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return text


def deliver() -> None:
    """Send the outbox now (the worker does it after the response)."""
    mail.deliver()


def health_data(patient: Patient) -> list[str]:
    """Every piece of the patient's summary a notice must never hold: the sentinels of the
    demo-like patient, the programme's name, the BEP synthesis, a reply's content."""
    texts = [text for sentinels in SENTINELS.values() for text in sentinels]
    texts += [condition.label for condition in patient.conditions]
    texts += [m.name for m in patient.medications] + [a.substance for a in patient.allergies]
    texts += [e.programme.name for e in patient.enrollments]
    texts += [e.bep_synthesis for e in patient.enrollments]
    texts += [value for key, value in reply_data().items() if key != "author_role"]
    texts.append(patient.life_context)
    return texts


def tokens_of(patient: Patient) -> list[str]:
    """Every token the patient's links and card are opened with, and their public ids."""
    found = []
    with current_app.test_request_context():
        for share in session.scalars(select(Share).where(Share.patient_id == patient.id)):
            found.append(urlsplit(shares.share_url(share)).path.rsplit("/", 1)[-1])
            found.append(share.public_id)
    assert found
    return found


# What a token of pathway.tokens looks like: a serializer's base64 JSON payload and its
# signature, or sign_ids' "12-7.<signature>"; and any long run of URL-safe characters.
TOKEN_PATTERNS = (
    re.compile(r"eyJ[\w-]+"),
    re.compile(r"\b\d*-\d*\.[\w-]{10,}"),
    re.compile(r"[\w-]+\.[\w-]{20,}"),
    re.compile(r"[A-Za-z0-9_-]{20,}"),
)


def assert_safe(message: EmailMessage, patient: Patient) -> str:
    """The message holds no token and no health data, and links to a sign-in page only."""
    body = body_of(message)
    whole = f"{message['Subject']}\n{body}"
    for token in tokens_of(patient):
        assert token not in whole
    for pattern in TOKEN_PATTERNS:
        assert not pattern.search(whole.replace(PUBLIC_BASE_URL, "")), pattern
    for text in health_data(patient):
        assert text not in whole, text
    links = re.findall(r"https?://\S+", body)
    for link in links:
        assert link.startswith(PUBLIC_BASE_URL + "/")
        assert urlsplit(link).path in SIGN_IN_PAGES
    return body


def signs_in(client: Any, url: str) -> bool:
    response = client.get(urlsplit(url).path)
    return response.status_code == 302 and "/auth/login" in response.headers["Location"]


# The events, each made as the product makes it -------------------------------------------


def open_card(app: Flask, stranger: Any, patient: Patient) -> None:
    path = path_of(make_card(patient))
    assert stranger.get(path).status_code == 200


def lock_link(app: Flask, stranger: Any, patient: Patient) -> None:
    share = make_share(patient, label=LABEL, passcode="right-passcode")
    with app.test_request_context():
        for attempt in range(shares.MAX_PASSCODE_ATTEMPTS):
            shares.check_passcode(share, f"wrong-{attempt}")
    assert share.locked_at is not None


def reply(app: Flask, stranger: Any, patient: Patient) -> None:
    share = make_share(patient, label=LABEL, allow_replies=True)
    with app.test_request_context():
        replies.submit_contribution(share, reply_data())


def team_answers(app: Flask, stranger: Any, patient: Patient) -> None:
    share = make_share(patient, label=LABEL, allow_replies=True)
    enrollment = patient.enrollments[0]
    with app.test_request_context():
        contribution = replies.submit_contribution(share, reply_data())
        replies.forward(contribution, enrollment.id)
        session.execute(OutboxMessage.__table__.delete())  # only the answer's mail is looked at
        educator = enrollment.programme.educators[0]
        team_reply(contribution, educator, "We will discuss it at the next workshop.")


def issue_letter(app: Flask, stranger: Any, patient: Patient) -> None:
    enrollment = patient.enrollments[0]
    educator = enrollment.programme.educators[0]
    make_progress(enrollment, educator)
    with app.test_request_context():
        letters.issue_letter(enrollment, LetterKind.START, educator)


EVENTS: dict[str, tuple[Callable[[Flask, Any, Patient], None], str, str, str]] = {
    # event: (made by, subject, sentence start, page)
    "card_opened": (
        open_card,
        "Votre carte d'urgence a été ouverte",
        "Votre carte d'urgence a été ouverte le ",
        "/card/",
    ),
    "link_locked": (
        lock_link,
        "L'un de vos liens a été bloqué",
        f"Votre lien « {LABEL} » a été bloqué le ",
        "/shares/",
    ),
    "contribution_received": (
        reply,
        "Un professionnel a répondu par l'un de vos liens",
        f"Un professionnel a répondu par votre lien « {LABEL} » le ",
        "/inbox/",
    ),
    "team_replied": (
        team_answers,
        "Votre équipe d'ETP a répondu",
        f"Votre équipe d'ETP a répondu sur votre lien « {LABEL} » le ",
        "/inbox/",
    ),
    "letter_issued": (
        issue_letter,
        "Un courrier pour votre médecin traitant a été établi",
        "Votre équipe d'ETP a établi un courrier pour votre médecin traitant le ",
        "/programme/",
    ),
}


@pytest.mark.parametrize("event", EVENTS)
def test_each_event_is_mailed_to_the_patient_with_no_token_and_no_health_data(
    app, db, stranger, alice, inbox, event: str
) -> None:
    make, subject, sentence, page = EVENTS[event]
    make_share(alice, label="Cabinet médical")  # a link whose token must never be mailed
    before = utcnow()
    make(app, stranger, alice)
    db.commit()
    deliver()
    [message] = inbox.messages(to=alice.user.email)
    assert message["Subject"] == subject
    body = assert_safe(message, alice)
    assert body.startswith("Bonjour,")
    assert sentence in body
    # When it happened, as the patient reads it: « le 4 décembre 2026 à 15:30 ».
    with app.test_request_context():
        day = mail_notices.moment_values(before)["day"]
    assert re.search(rf"le {re.escape(day)} à \d\d:\d\d", body), body
    link = f"{PUBLIC_BASE_URL}{page}"
    assert f"Ouvrez Pathway pour en savoir plus : {link}" in body
    assert signs_in(stranger, link)


def test_the_mail_goes_in_the_patients_language(app, db, stranger, alice, inbox) -> None:
    alice.user.locale = "en"
    db.flush()
    open_card(app, stranger, alice)
    deliver()
    [message] = inbox.messages()
    assert message["Subject"] == "Your emergency card was opened"
    body = assert_safe(message, alice)
    assert "Your emergency card was opened on " in body
    assert f"Open Pathway to find out more: {PUBLIC_BASE_URL}/card/" in body


@pytest.mark.parametrize("event", EVENTS)
def test_a_kind_turned_off_is_not_mailed_but_still_notified_in_the_app(
    app, db, stranger, alice, inbox, event: str
) -> None:
    kinds = {**mail_notices.NOTICE_MAIL}
    set_mail_choices(alice.user, {kind: False for kind in set(kinds.values())})
    db.flush()
    EVENTS[event][0](app, stranger, alice)
    deliver()
    assert inbox.messages() == []
    assert db.scalar(select(Notification).where(Notification.user_id == alice.user_id))


def test_every_notice_to_a_patient_that_is_mailed_has_its_text() -> None:
    assert set(mail_notices.NOTICE_MAIL) <= set(mail_notices.MAIL_TEXTS)
    assert {text.page for text in mail_notices.MAIL_TEXTS.values()} <= SIGN_IN_PAGES
    assert set(mail_notices.MAIL_DEFAULTS) == set(MailKind)


def test_a_deactivated_account_is_not_mailed(app, db, stranger, alice, inbox) -> None:
    alice.user.is_active = False
    db.flush()
    with app.test_request_context():
        assert mail_notices.mail_patient(alice.user, "emergency_opened", at=utcnow()) is None


# The emergency card: once per burst, the crew's name, the GP --------------------------


def mails_to(db, address: str) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.recipient == address)))


def test_a_burst_of_openings_is_one_mail_as_it_is_one_notice(app, db, stranger, alice) -> None:
    path = path_of(make_card(alice))
    for _ in range(3):
        assert stranger.get(path).status_code == 200
    assert len(mails_to(db, alice.user.email)) == 1
    # The notice read, the next opening is a new burst: a new notice and a new mail.
    notice = db.scalar(select(Notification).where(Notification.user_id == alice.user_id))
    notice.read_at = utcnow()
    db.flush()
    stranger.get(path)
    assert len(mails_to(db, alice.user.email)) == 2
    assert db.query(Notification).filter_by(user_id=alice.user_id).count() == 2


def test_the_crew_that_names_itself_is_told_once(app, db, stranger, alice, inbox) -> None:
    card_path = path_of(make_card(alice))
    path = naming_path(stranger, card_path)
    assert stranger.submit(path, {"viewer": "SAMU 49"}).status_code == 200
    assert stranger.submit(path, {"viewer": "SAMU 49 bis"}).status_code == 200
    deliver()
    subjects = [m["Subject"] for m in inbox.messages(to=alice.user.email)]
    assert subjects == ["Votre carte d'urgence a été ouverte", "Qui a ouvert votre carte d'urgence"]
    named = body_of(inbox.messages(to=alice.user.email)[1])
    assert "par SAMU 49, comme la personne s'est présentée." in named
    assert "SAMU 49 bis" not in named
    assert_safe(inbox.messages(to=alice.user.email)[1], alice)


def test_the_gp_is_not_told_of_an_opening_unless_the_patient_asked(
    app, db, stranger, alice, inbox
) -> None:
    assert alice.tell_gp_of_card_openings is False  # off by default
    open_card(app, stranger, alice)
    deliver()
    assert [m["To"] for m in inbox.messages()] == [alice.user.email]


def test_the_gp_is_told_once_per_burst_who_the_patient_is_and_nothing_else(
    app, db, stranger, alice, inbox
) -> None:
    alice.tell_gp_of_card_openings = True
    db.flush()
    path = path_of(make_card(alice))
    before = utcnow()
    stranger.get(path)
    stranger.get(path)
    deliver()
    gp_address = "gp-alice@medecin.mssante.fr"  # the secure address, as letters are sent
    [message] = inbox.messages(to=gp_address)
    body = body_of(message)
    assert "Alice" not in message["Subject"] and "Martin" not in message["Subject"]
    assert "Votre patiente Alice Martin (née le 2 janvier 1980)" in body
    with app.test_request_context():
        day = mail_notices.moment_values(before)["day"]
    assert re.search(rf"elle a été ouverte le {re.escape(day)} à \d\d:\d\d", body)
    for text in health_data(alice):
        assert text not in body, text
    for token in tokens_of(alice):
        assert token not in body
    assert "http" not in body  # nothing the GP could open
    assert len(inbox.messages(to=alice.user.email)) == 1


def test_the_gp_message_agrees_with_a_man(app, db, stranger, bob, inbox) -> None:
    bob.tell_gp_of_card_openings = True
    bob.care_team[0].secure_email = ""
    db.flush()
    open_card(app, stranger, bob)
    deliver()
    [message] = inbox.messages(to="gp-bob@example.org")  # no secure address: the e-mail
    assert "Votre patient Bob Martin (né le 2 janvier 1980)" in body_of(message)


def test_a_gp_without_an_address_is_not_written_to(app, db, stranger, alice, inbox) -> None:
    alice.tell_gp_of_card_openings = True
    alice.care_team[0].secure_email = alice.care_team[0].email = ""
    db.flush()
    open_card(app, stranger, alice)
    deliver()
    assert [m["To"] for m in inbox.messages()] == [alice.user.email]


# Failures ---------------------------------------------------------------------------------


def test_a_rolled_back_event_mails_nothing(app, db, alice, inbox) -> None:
    share = make_share(alice, label=LABEL, allow_replies=True)
    db.commit()
    with app.test_request_context():
        replies.submit_contribution(share, reply_data())
    db.rollback()
    deliver()
    assert inbox.messages() == []


@pytest.fixture
def smtp_down(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(SMTP_PORT=free_port())  # nothing listens there
    return app_config


def test_a_mail_server_that_is_down_never_fails_the_card(
    smtp_down, app, db, stranger, alice, inbox
) -> None:
    path = path_of(make_card(alice))
    response = stranger.get(path)
    assert response.status_code == 200
    assert "Alice critical action" in response.get_data(as_text=True)
    response.close()  # the worker tries to send once the response is written
    db.expire_all()
    [waiting] = mails_to(db, alice.user.email)
    assert waiting.sent_at is None and waiting.attempts == 1 and waiting.last_error
    assert waiting.next_attempt_at > utcnow()
    assert inbox.messages() == []


def test_the_same_opening_read_in_the_other_language_is_not_mailed_again(
    app, db, stranger, alice
) -> None:
    card = make_card(alice)
    page = stranger.get(path_of(card)).get_data(as_text=True)
    other = re.search(r'href="([^"]*opening=[^"]*)"', page)
    assert other, "the language switch names the opening"
    stranger.get(other.group(1).replace("&amp;", "&"))
    assert len(mails_to(db, alice.user.email)) == 1


def test_the_choices_are_read_per_person(app, db, alice, bob) -> None:
    set_mail_choices(alice.user, {MailKind.CARD_OPENED: False})
    assert not mail_notices.wants_mail(alice.user, MailKind.CARD_OPENED)
    assert mail_notices.wants_mail(alice.user, MailKind.LINK_LOCKED)
    assert mail_notices.wants_mail(bob.user, MailKind.CARD_OPENED)


def test_moment_values_are_in_paris_time(app) -> None:
    moment = dt.datetime(2026, 12, 4, 14, 30, tzinfo=dt.UTC)
    with app.test_request_context():
        assert mail_notices.moment_values(moment) == {"day": "4 décembre 2026", "time": "15:30"}


# The professional who replied and asked to be told of an answer --------------------------

GP_ADDRESS = "paul.martin@medecin.mssante.fr"


def answered(app: Flask, patient: Patient, **reply_fields: Any) -> Share:
    """A GP replies through a link (with these fields), the patient passes it on, the team
    answers; the outbox is emptied before the answer so only its mails are left."""
    share = make_share(patient, label=LABEL, allow_replies=True)
    enrollment = patient.enrollments[0]
    with app.test_request_context():
        contribution = replies.submit_contribution(share, reply_data(**reply_fields))
        replies.forward(contribution, enrollment.id)
        session.execute(OutboxMessage.__table__.delete())
        team_reply(contribution, enrollment.programme.educators[0], "See you at the workshop.")
    session.commit()
    return share


def test_the_gp_who_asked_is_told_of_the_answer_without_its_content(
    app, db, alice, alice_enrollment, inbox
) -> None:
    share = answered(app, alice, author_contact=GP_ADDRESS, wants_mail="y")
    deliver()
    told = inbox.messages(to=GP_ADDRESS)
    assert len(told) == 1
    text = body_of(told[0])
    assert LABEL in text and "See you at the workshop." not in text
    assert told[0]["Subject"] == "Pathway : une réponse à votre réponse"
    for secret in [shares.share_token(share), *tokens_of(alice), *health_data(alice)]:
        assert secret not in text and secret not in str(told[0]["Subject"])
    assert alice.first_name not in text and alice.full_name not in text  # nothing of her
    assert "http" not in text  # no link: the GP opens the one they hold


def test_a_gp_who_did_not_ask_is_not_told(app, db, alice, alice_enrollment, inbox) -> None:
    answered(app, alice, author_contact=GP_ADDRESS)
    deliver()
    assert inbox.messages(to=GP_ADDRESS) == []


def test_asking_to_be_told_needs_an_email_address(app, db, alice) -> None:
    share = make_share(alice, label=LABEL, allow_replies=True)
    with app.test_request_context(), pytest.raises(replies.ExchangeError) as refused:
        replies.submit_contribution(
            share, reply_data(author_contact="02 41 00 00 00", wants_mail="y")
        )
    assert refused.value.field == "author_contact"
    assert "adresse e-mail" in str(refused.value)
