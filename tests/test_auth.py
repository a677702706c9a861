"""Sign-in, sign-out, invitations, password reset, CSRF, rate limits, sessions."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select
from werkzeug.test import TestResponse

from pathway import mail
from pathway.auth import accounts
from pathway.db import utcnow
from pathway.models import AuditEvent, Invitation, Role, User
from tests.factories import PASSWORD, make_user, sign_in

NEW_PASSWORD = "une phrase de passe solide"


def outbox_links(app, marker: str) -> list[str]:
    # A server sends the outbox once the response is written; the test client never
    # closes its responses, so what they queued is sent here.
    with app.app_context():
        mail.deliver()
    links = []
    for path in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",)).get_content()
        links += re.findall(r"https://pathway\.test/\S*" + marker + r"/\S+", body)
    return links


def test_patient_signs_in_and_lands_on_their_summary(client, db, alice) -> None:
    response = sign_in(client, "alice@example.org")
    assert response.headers["Location"] == "/patient/"
    assert client.get("/patient/").status_code == 200


def test_educator_lands_on_their_patients(client, db, eve) -> None:
    assert sign_in(client, "eve@example.org").headers["Location"] == "/team/"


def test_wrong_password_and_unknown_email_get_the_same_answer(client, db) -> None:
    make_user("known@example.org")
    wrong = client.submit(
        "/auth/login", {"email": "known@example.org", "password": "nope nope nope"}
    )
    unknown = client.submit(
        "/auth/login", {"email": "ghost@example.org", "password": "nope nope nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(wrong) == strip(unknown)
    assert "Adresse e-mail ou mot de passe incorrect." in wrong.get_data(as_text=True)


def test_sign_in_form_keeps_the_email_but_never_the_password(client, db) -> None:
    page = client.submit(
        "/auth/login", {"email": "typed@example.org", "password": "typed-secret-123"}
    ).get_data(as_text=True)
    assert 'value="typed@example.org"' in page
    assert "typed-secret-123" not in page


def test_sign_in_without_csrf_token_is_refused(client, db) -> None:
    make_user("known@example.org")
    response = client.post("/auth/login", data={"email": "known@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)
    assert client.get("/patient/").status_code == 302


def test_sign_in_is_rate_limited(client, db) -> None:
    statuses = [
        client.submit(
            "/auth/login", {"email": f"x{i}@example.org", "password": "bad password"}
        ).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429


def test_repeated_failures_lock_the_account_for_a_while(client, db) -> None:
    user = make_user("target@example.org")
    for _ in range(accounts.LOCKOUT_THRESHOLD):
        client.submit(
            "/auth/login", {"email": "target@example.org", "password": "wrong wrong wrong"}
        )
    assert db.get(User, user.id).locked_until is not None
    # Even the right password is refused while locked; its owner is told why, and until
    # when. A wrong password, or an unknown address, gets the one message that says nothing.
    response = client.submit("/auth/login", {"email": "target@example.org", "password": PASSWORD})
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Votre compte est verrouillé après trop de mots de passe erronés, jusqu" in page
    for address, password in (
        ("target@example.org", "another wrong one"),
        ("nobody@example.org", PASSWORD),
    ):
        page = client.submit("/auth/login", {"email": address, "password": password}).get_data(
            as_text=True
        )
        assert "verrouillé" not in page
        assert "Adresse e-mail ou mot de passe incorrect" in page
    with time_machine.travel(utcnow() + dt.timedelta(hours=1)):
        assert sign_in(client, "target@example.org").status_code == 302


def test_sign_in_events_are_audited_without_the_password(client, db) -> None:
    make_user("audited@example.org")
    client.submit("/auth/login", {"email": "audited@example.org", "password": "wrong wrong wrong"})
    sign_in(client, "audited@example.org")
    tags = db.scalars(select(AuditEvent.tag)).all()
    assert "auth:signin:succeeded" in tags and "auth:signin:failed" in tags
    for event in db.scalars(select(AuditEvent)):
        assert PASSWORD not in str(event.details)


def test_logout_needs_post_and_ends_the_session(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    assert client.get("/auth/logout").status_code == 405
    client.submit("/auth/logout", page="/patient/")
    assert client.get("/patient/").status_code == 302


def test_a_copied_cookie_stops_working_after_password_change(
    app, client, other_client, db, alice
) -> None:
    sign_in(client, "alice@example.org")
    name = app.config["SESSION_COOKIE_NAME"]
    cookie = client.get_cookie(name, domain="pathway.test")
    other_client.set_cookie(name, cookie.value, domain="pathway.test")
    assert other_client.get("/patient/").status_code == 200
    accounts.set_password(alice.user, NEW_PASSWORD)
    db.commit()
    assert other_client.get("/patient/").status_code == 302


def test_staff_session_ends_after_idle_time(client, db, eve) -> None:
    sign_in(client, "eve@example.org")
    assert client.get("/team/").status_code == 200
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=31)):
        assert client.get("/team/").status_code == 302


def test_session_cookie_is_httponly_and_lax(client, db, eve) -> None:
    response = sign_in(client, "eve@example.org")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie


def test_sign_in_refuses_to_redirect_to_another_site(client, db, alice) -> None:
    token = client.csrf_token()
    response = client.post(
        "/auth/login?next=https://evil.example/",
        data={"csrf_token": token, "email": "alice@example.org", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/patient/"


def test_a_patient_cannot_open_team_pages(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    assert client.get("/team/").status_code == 404


# Invitations -------------------------------------------------------------------------


def invite(
    client, programme, email: str, first_name: str = "Nina", last_name: str = "Durand"
) -> TestResponse:
    """An educator of the programme, signed in on `client`, invites a new patient into it."""
    return client.submit(
        "/team/patients/new",
        {
            "programme_id": programme.id,
            "first_name": first_name,
            "last_name": last_name,
            "birth_date": "1990-05-06",
            "email": email,
        },
    )


@pytest.fixture
def invitation_link(app, client, programme_a) -> str:
    """The path of the link in the mail Claire's invitation sends Nina; Claire signed out."""
    sign_in(client, "claire@example.org")
    response = invite(client, programme_a, "newpatient@example.org")
    assert response.status_code == 302, response.get_data(as_text=True)
    client.submit("/auth/logout", page="/team/")
    [link] = outbox_links(app, "invitation")
    return link.removeprefix("https://pathway.test")


def test_invitation_lets_the_patient_choose_a_password_once(client, db, invitation_link) -> None:
    # Opening the link (as a mail scanner would) consumes nothing.
    assert client.get(invitation_link).status_code == 200
    assert client.get(invitation_link).status_code == 200
    response = client.submit(invitation_link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/patient/"
    client.submit("/auth/logout", page="/patient/")
    used = client.get(invitation_link)
    assert used.status_code == 410
    assert "déjà été utilisée" in used.get_data(as_text=True)
    sign_in(client, "newpatient@example.org", NEW_PASSWORD)


def test_expired_invitation_is_refused(client, db, invitation_link) -> None:
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=8)):
        response = client.get(invitation_link)
    assert response.status_code == 410
    assert "expiré" in response.get_data(as_text=True)


def test_invitation_expired_in_the_database_is_refused(client, db, invitation_link) -> None:
    invitation = db.scalar(select(Invitation))
    invitation.expires_at = utcnow() - dt.timedelta(seconds=1)
    db.commit()
    assert client.get(invitation_link).status_code == 410


def test_forged_invitation_is_refused(client, db) -> None:
    response = client.get("/auth/invitation/eyJpZCI6ImFiYyJ9.forged-signature")
    assert response.status_code == 410
    assert "pas valide" in response.get_data(as_text=True)


def test_invitation_refuses_weak_or_mismatched_passwords_and_stays_usable(
    client, db, invitation_link
) -> None:
    short = client.submit(invitation_link, {"password": "short", "confirm": "short"})
    assert "au moins 12 caractères" in short.get_data(as_text=True)
    mismatch = client.submit(
        invitation_link, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"}
    )
    assert "Les deux mots de passe sont différents." in mismatch.get_data(as_text=True)
    assert db.scalar(select(Invitation)).used_at is None
    assert db.scalar(select(User).where(User.email == "newpatient@example.org")) is None


def test_inviting_an_existing_account_email_is_refused_and_nothing_is_saved(
    client, db, programme_a
) -> None:
    make_user("taken@example.org")
    sign_in(client, "claire@example.org")
    response = invite(client, programme_a, "taken@example.org", first_name="A", last_name="B")
    assert response.status_code == 200
    assert "Un compte existe déjà" in response.get_data(as_text=True)
    assert db.scalar(select(Invitation)) is None


# Password reset ----------------------------------------------------------------------


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(app, client, db) -> None:
    make_user("known@example.org")
    known = client.submit("/auth/forgot", {"email": "known@example.org"})
    unknown = client.submit("/auth/forgot", {"email": "ghost@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]
    assert len(outbox_links(app, "reset")) == 1


def test_reset_link_changes_the_password_once(app, client, db) -> None:
    make_user("known@example.org")
    client.submit("/auth/forgot", {"email": "known@example.org"})
    [link] = outbox_links(app, "reset")
    path = link.removeprefix("https://pathway.test")
    response = client.submit(path, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/auth/login"
    assert client.get(path).status_code == 410
    sign_in(client, "known@example.org", NEW_PASSWORD)


def test_reset_link_expires(app, client, db) -> None:
    make_user("known@example.org")
    client.submit("/auth/forgot", {"email": "known@example.org"})
    [link] = outbox_links(app, "reset")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)):
        assert client.get(link.removeprefix("https://pathway.test")).status_code == 410


def test_create_user_command_creates_staff(app, db) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--role",
            "educator",
            "--email",
            "New@Example.org",
            "--password",
            NEW_PASSWORD,
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.scalar(select(User).where(User.email == "new@example.org"))
    assert user is not None and user.role == Role.EDUCATOR


def test_create_user_command_refuses_a_weak_password(app, db) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-user", "--role", "admin", "--email", "a@example.org", "--password", "short"]
    )
    assert result.exit_code != 0
    assert db.scalar(select(User).where(User.email == "a@example.org")) is None
