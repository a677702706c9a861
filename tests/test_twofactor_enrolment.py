"""Enrolling an authenticator needs more than the password: a code mailed to the staff
member's address. The staff member is mailed when two-step sign-in is turned on, and when
it is reset."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from pathway.auth import accounts, twofactor
from pathway.db import utcnow
from pathway.models import AuditEvent, User
from tests.factories import PASSWORD, sign_in
from tests.test_twofactor import CODE_MAIL, enrol_in_two_step, mailed_code, mails_to, password_step

SETUP = "/auth/two-factor/setup"
RESEND = "/auth/two-factor/setup/email"
ENABLED_MAIL = "La connexion en deux étapes est activée sur votre compte Pathway"
RESET_MAIL = "Connexion en deux étapes réinitialisée sur votre compte Pathway"
WRONG_EMAIL_CODE = "Ce code ne correspond pas à celui que nous vous avons envoyé par e-mail"
# The last seconds of a recent 10-minute window: the next one starts 10 s later.
_WINDOW = 10 * 60  # twofactor.ENROLMENT_CODE_MINUTES
_RECENT = int(dt.datetime.now(dt.UTC).timestamp()) // _WINDOW * _WINDOW - 2 * _WINDOW
END_OF_WINDOW = dt.datetime.fromtimestamp(_RECENT + _WINDOW - 10, dt.UTC)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Staff must use two-step sign-in, as in production."""
    app_config["STAFF_2FA_REQUIRED"] = True
    return app_config


def setup_secret(client) -> str:
    """The new key the setup page shows, as typed by hand into an app."""
    page = client.get(SETUP).get_data(as_text=True)
    match = re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', page)
    assert match, "no key on the setup page"
    return match.group(1).replace(" ", "")


def enabled(db, email: str) -> bool:
    db.expire_all()
    user = db.scalar(select(User).where(User.email == email))
    return user is not None and twofactor.is_enabled(user)


def test_the_password_alone_cannot_enrol_an_authenticator(app, client, db, eve) -> None:
    password_step(client, "eve@example.org")
    secret = setup_secret(client)
    # A thief with the password: the right app code, no code from the mail.
    response = client.submit(SETUP, {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 400
    assert "Saisissez le code reçu par e-mail." in response.get_data(as_text=True)
    guessed = client.submit(SETUP, {"email_code": "12345678", "code": pyotp.TOTP(secret).now()})
    assert guessed.status_code == 400
    assert WRONG_EMAIL_CODE in guessed.get_data(as_text=True)
    assert not enabled(db, "eve@example.org")
    assert client.get("/team/").status_code == 302
    failures = db.scalars(
        select(AuditEvent).where(AuditEvent.tag == "auth:2fa:enrolment-failed")
    ).all()
    assert [event.details.get("reason") for event in failures] == ["email-code"]


def test_the_mailed_code_enrols_and_the_staff_member_is_told(app, client, db, eve) -> None:
    password_step(client, "eve@example.org")
    [(subject, body)] = mails_to(app, db, "eve@example.org")
    assert subject == CODE_MAIL
    assert "Si ce n’est pas vous" in body and "https://pathway.test/auth/forgot" in body
    page = client.get(SETUP).get_data(as_text=True)
    assert "Nous avons envoyé un code par e-mail à eve@example.org" in page
    secret = setup_secret(client)
    code = mailed_code(app, db, "eve@example.org")
    assert code not in page  # the page never shows it: only the mailbox has it

    done = client.submit(SETUP, {"email_code": code, "code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    assert "codes de secours" in done.get_data(as_text=True)
    recovery = re.findall(r"<code>([a-z0-9-]{19})</code>", done.get_data(as_text=True))
    assert enabled(db, "eve@example.org")
    assert client.get("/team/").status_code == 200

    notices = [
        body for subject, body in mails_to(app, db, "eve@example.org") if subject == ENABLED_MAIL
    ]
    [notice] = notices
    assert "a été activée sur votre compte Pathway le " in notice
    assert "(heure de Paris)" in notice
    assert "Si ce n’est pas vous" in notice and "réinitialise" in notice
    for secret_thing in [secret, code, PASSWORD, *recovery]:
        assert secret_thing not in notice
    # Used once: the code does not enrol again after a reset.
    user = db.scalar(select(User).where(User.email == "eve@example.org"))
    twofactor.reset(user)
    assert not twofactor.check_enrolment_code(user, code)


def test_a_code_from_the_previous_window_still_enrols(app, client, db, eve) -> None:
    with time_machine.travel(END_OF_WINDOW, tick=False):
        password_step(client, "eve@example.org")
        code = mailed_code(app, db, "eve@example.org")
    with time_machine.travel(END_OF_WINDOW + dt.timedelta(seconds=20), tick=False):
        secret = setup_secret(client)
        response = client.submit(SETUP, {"email_code": code, "code": pyotp.TOTP(secret).now()})
        assert response.status_code == 200
    assert enabled(db, "eve@example.org")


def test_an_expired_code_is_refused_and_a_new_mail_brings_another(app, client, db, eve) -> None:
    with time_machine.travel(END_OF_WINDOW, tick=False):
        password_step(client, "eve@example.org")
        old = mailed_code(app, db, "eve@example.org")
    # Ten minutes and a half later: two windows on, the sign-in itself still pending.
    later = END_OF_WINDOW + dt.timedelta(minutes=10, seconds=30)
    with time_machine.travel(later, tick=False):
        secret = setup_secret(client)
        response = client.submit(SETUP, {"email_code": old, "code": pyotp.TOTP(secret).now()})
        assert response.status_code == 400
        assert WRONG_EMAIL_CODE in response.get_data(as_text=True)
        assert not enabled(db, "eve@example.org")

        again = client.submit(RESEND, page=SETUP)
        assert again.status_code == 303 and again.headers["Location"].endswith(SETUP)
        assert "Nous avons envoyé le code par e-mail à eve@example.org." in client.get(
            SETUP
        ).get_data(as_text=True)
        new = mailed_code(app, db, "eve@example.org")
        assert new != old
        response = client.submit(SETUP, {"email_code": new, "code": pyotp.TOTP(secret).now()})
        assert response.status_code == 200
    assert enabled(db, "eve@example.org")


def test_the_code_is_bound_to_the_account_and_its_sessions(app, db, eve, claire) -> None:
    assert twofactor.ENROLMENT_CODE_MINUTES * 60 == _WINDOW
    with app.test_request_context():
        code = twofactor.enrolment_code(eve)
        assert twofactor.check_enrolment_code(eve, code)
        assert not twofactor.check_enrolment_code(claire, code)
        accounts.set_password(eve, "a brand new long password")  # signs out everywhere
        assert not twofactor.check_enrolment_code(eve, code)


def test_wrong_mailed_codes_count_towards_the_lockout(app, client, db, eve) -> None:
    password_step(client, "eve@example.org")
    secret = setup_secret(client)
    statuses = [
        client.submit(
            SETUP, {"email_code": f"1234567{i}", "code": pyotp.TOTP(secret).now()}
        ).status_code
        for i in range(accounts.LOCKOUT_THRESHOLD)
    ]
    assert statuses == [400] * (accounts.LOCKOUT_THRESHOLD - 1) + [303]
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Trop de codes erronés. Patientez quelques minutes, puis reconnectez-vous." in page
    user = db.scalar(select(User).where(User.email == "eve@example.org"))
    db.refresh(user)
    assert user.locked_until is not None and user.locked_until > utcnow()
    assert not twofactor.is_enabled(user)
    # The enrolment is over, and the password is refused until the lockout ends.
    assert client.get(SETUP).headers["Location"] == "/auth/login"
    assert password_step(client, "eve@example.org").status_code == 401


def test_the_setup_form_is_rate_limited_per_person(app, client, other_client, db, eve) -> None:
    password_step(client, "eve@example.org")
    password_step(other_client, "eve@example.org")  # the same person, another browser
    code = mailed_code(app, db, "eve@example.org")
    for browser in (client, other_client, client):
        assert browser.submit(SETUP, {"email_code": code, "code": "000000"}).status_code == 400
    for browser in (other_client, client):
        assert browser.submit(SETUP, {"email_code": code, "code": "000000"}).status_code == 400
    limited = other_client.submit(SETUP, {"email_code": code, "code": "000000"})
    assert limited.status_code == 429
    assert "Trop de tentatives" in limited.get_data(as_text=True)


def test_new_mails_are_rate_limited(app, client, db, eve) -> None:
    password_step(client, "eve@example.org")
    statuses = [client.submit(RESEND, page=SETUP).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    codes = [subject for subject, _ in mails_to(app, db, "eve@example.org")]
    assert codes == [CODE_MAIL] * 4  # the sign-in's, then three asked for


def test_a_mail_is_only_sent_to_someone_enrolling(client, db, eve) -> None:
    assert client.submit(RESEND, page="/auth/login").headers["Location"] == "/auth/login"
    enrol_in_two_step(eve)
    password_step(client, "eve@example.org")
    assert client.submit(RESEND, page="/auth/login").headers["Location"] == "/auth/login"


class TestWhenTwoStepIsOptional:
    """Where staff may go without it (development), turning it on needs the mail too."""

    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        app_config["STAFF_2FA_REQUIRED"] = False
        return app_config

    def test_signed_in_staff_ask_for_the_code_then_enrol(self, app, client, db, eve) -> None:
        sign_in(client, "eve@example.org")
        assert mails_to(app, db, "eve@example.org") == []
        page = client.get(SETUP).get_data(as_text=True)
        assert "M’envoyer le code par e-mail" in page
        secret = setup_secret(client)
        alone = client.submit(SETUP, {"code": pyotp.TOTP(secret).now()})
        assert alone.status_code == 400
        assert not enabled(db, "eve@example.org")

        assert client.submit(RESEND, page=SETUP).status_code == 303
        code = mailed_code(app, db, "eve@example.org")
        done = client.submit(SETUP, {"email_code": code, "code": pyotp.TOTP(secret).now()})
        assert done.status_code == 200
        assert enabled(db, "eve@example.org")
        subjects = [subject for subject, _ in mails_to(app, db, "eve@example.org")]
        assert subjects == [CODE_MAIL, ENABLED_MAIL]


def test_the_reset_command_tells_the_staff_member(app, client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    secret = user.totp_secret
    recovery = twofactor.replace_recovery_codes(user)
    db.commit()
    result = app.test_cli_runner().invoke(args=["reset-two-factor", "--email", "eve@example.org"])
    assert result.exit_code == 0, result.output
    assert "eve@example.org has been told by email." in result.output
    [(subject, body)] = mails_to(app, db, "eve@example.org")
    assert subject == RESET_MAIL
    assert "a été réinitialisée par un administrateur le " in body and "(heure de Paris)" in body
    assert "Si vous n’en avez pas fait la demande" in body
    for secret_thing in [secret, PASSWORD, *recovery]:
        assert secret_thing not in body
    # The next sign-in enrols again, with a new mailed code.
    assert password_step(client, "eve@example.org").headers["Location"] == SETUP
    assert [s for s, _ in mails_to(app, db, "eve@example.org")] == [RESET_MAIL, CODE_MAIL]
