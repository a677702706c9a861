"""Two-step sign-in for staff: enrolment by QR code (after a code mailed to the staff member),
codes, recovery codes, limits."""

from __future__ import annotations

import base64
import datetime as dt
import io
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import time_machine
from PIL import Image
from pyzbar.pyzbar import decode
from sqlalchemy import select
from werkzeug.test import TestResponse

from pathway.auth import twofactor
from pathway.config import load_config
from pathway.db import session, utcnow
from pathway.models import AuditEvent, RecoveryCode, User
from tests.factories import PASSWORD, mails_to, sign_in


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Staff must use two-step sign-in, as in production."""
    app_config["STAFF_2FA_REQUIRED"] = True
    return app_config


def enrol_in_two_step(user: User) -> User:
    """The user has set up two-step sign-in with an authenticator app."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = utcnow()
    session.flush()
    return user


def password_step(client, email: str) -> TestResponse:
    return client.submit("/auth/login", {"email": email, "password": PASSWORD})


CODE_MAIL = "Votre code pour configurer la connexion en deux étapes"


def mailed_code(app, db, email: str) -> str:
    """The enrolment code of the last such message to this address."""
    bodies = [body for subject, body in mails_to(app, db, email) if subject == CODE_MAIL]
    assert bodies, f"no enrolment code mailed to {email}"
    [code] = re.findall(r"^(\d{8})$", bodies[-1], re.MULTILINE)
    return code


def qr_payload(page: str) -> str:
    match = re.search(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert match, "no inline QR code on the page"
    image = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    return decode(image)[0].data.decode()


def test_staff_must_enrol_before_being_signed_in(app, client, db, eve) -> None:
    response = password_step(client, "eve@example.org")
    assert response.headers["Location"] == "/auth/two-factor/setup"
    assert client.get("/team/").status_code == 302  # the password alone is not a session

    page = client.get("/auth/two-factor/setup").get_data(as_text=True)
    assert "Configurer la connexion en deux étapes" in page
    uri = qr_payload(page)
    assert uri.startswith("otpauth://totp/Pathway:eve%40example.org?")
    secret = parse_qs(urlsplit(uri).query)["secret"][0]
    assert " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in page  # typed by hand

    email_code = mailed_code(app, db, "eve@example.org")
    done = client.submit(
        "/auth/two-factor/setup", {"email_code": email_code, "code": pyotp.TOTP(secret).now()}
    )
    assert done.status_code == 200
    codes = re.findall(
        r"<code>([a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4})</code>",
        done.get_data(as_text=True),
    )
    assert len(set(codes)) == 10
    assert client.get("/team/").status_code == 200

    user = db.scalar(select(User).where(User.email == "eve@example.org"))
    assert user.totp_secret == secret and user.totp_enabled_at is not None
    stored = db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10
    assert not set(codes) & set(stored)  # only hashes are kept
    assert "auth:2fa:enabled" in db.scalars(select(AuditEvent.tag)).all()


def test_enrolment_refuses_a_wrong_code_and_keeps_the_same_key(app, client, db, eve) -> None:
    password_step(client, "eve@example.org")
    first = qr_payload(client.get("/auth/two-factor/setup").get_data(as_text=True))
    email_code = mailed_code(app, db, "eve@example.org")
    response = client.submit("/auth/two-factor/setup", {"email_code": email_code, "code": "000000"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Ce code n’est pas valide" in page
    assert qr_payload(page) == first
    assert db.scalar(select(User.totp_enabled_at).where(User.email == "eve@example.org")) is None
    assert client.get("/team/").status_code == 302


def test_enrolled_educator_needs_a_code_after_the_password(client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    assert password_step(client, "eve@example.org").headers["Location"] == "/auth/two-factor"
    assert client.get("/team/").status_code == 302
    wrong = client.submit("/auth/two-factor", {"code": "123456"})
    assert wrong.status_code == 401
    assert client.get("/team/").status_code == 302
    right = client.submit("/auth/two-factor", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert right.headers["Location"] == "/team/"
    assert client.get("/team/").status_code == 200


def test_a_code_cannot_be_used_twice(client, other_client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    code = pyotp.TOTP(user.totp_secret).now()
    password_step(client, "eve@example.org")
    assert client.submit("/auth/two-factor", {"code": code}).status_code == 302
    password_step(other_client, "eve@example.org")
    assert other_client.submit("/auth/two-factor", {"code": code}).status_code == 401
    assert other_client.get("/team/").status_code == 302


def test_recovery_code_works_once(client, other_client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    codes = twofactor.replace_recovery_codes(user)
    password_step(client, "eve@example.org")
    assert client.submit("/auth/two-factor", {"code": codes[3].upper()}).status_code == 302
    assert client.get("/team/").status_code == 200
    password_step(other_client, "eve@example.org")
    assert other_client.submit("/auth/two-factor", {"code": codes[3]}).status_code == 401
    assert twofactor.remaining_recovery_codes(user) == 9


def test_new_recovery_codes_cancel_the_old_ones(client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    old = twofactor.replace_recovery_codes(user)
    password_step(client, "eve@example.org")
    client.submit("/auth/two-factor", {"code": old[0]})
    status = client.get("/auth/two-factor/setup").get_data(as_text=True)
    assert "9 codes de secours inutilisés" in status
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=90)):
        response = client.submit(
            "/auth/two-factor/recovery-codes",
            {"code": pyotp.TOTP(user.totp_secret).now()},
            page="/auth/two-factor/setup",
        )
    new = re.findall(r"<code>([a-z0-9-]{19})</code>", response.get_data(as_text=True))
    assert len(new) == 10
    assert not twofactor._use_recovery_code(user, old[1])
    assert twofactor._use_recovery_code(user, new[0])


def test_unfinished_second_step_expires(client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    password_step(client, "eve@example.org")
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=6)):
        response = client.submit("/auth/two-factor", {"code": pyotp.TOTP(user.totp_secret).now()})
        assert response.headers["Location"] == "/auth/login"
        assert client.get("/team/").status_code == 302


def test_second_step_without_password_step_goes_back_to_sign_in(client, db, eve) -> None:
    enrol_in_two_step(eve)
    assert client.get("/auth/two-factor").headers["Location"] == "/auth/login"
    assert client.get("/auth/two-factor/setup").headers["Location"] == "/auth/login"


def test_codes_are_rate_limited_and_count_towards_lockout(client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    password_step(client, "eve@example.org")
    statuses = [
        client.submit("/auth/two-factor", {"code": f"00000{i}"}).status_code for i in range(6)
    ]
    assert statuses == [401] * 5 + [429]
    assert "Trop de tentatives" in client.submit("/auth/two-factor", {"code": "000000"}).get_data(
        as_text=True
    )
    db.refresh(user)
    assert user.failed_logins == 5 and user.locked_until > utcnow()
    failures = db.scalars(select(AuditEvent).where(AuditEvent.tag == "auth:2fa:failed")).all()
    assert len(failures) == 5


def test_second_step_without_csrf_token_is_refused(client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    password_step(client, "eve@example.org")
    response = client.post("/auth/two-factor", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.status_code == 400
    assert client.get("/team/").status_code == 302


def test_patients_sign_in_with_their_password_only(client, db, alice) -> None:
    assert sign_in(client, "alice@example.org").headers["Location"] == "/patient/"


def test_patients_cannot_open_the_setup_page(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    assert client.get("/auth/two-factor/setup").status_code == 404


def test_password_change_cancels_a_pending_second_step(client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    password_step(client, "eve@example.org")
    user.session_version += 1
    db.flush()
    response = client.submit("/auth/two-factor", {"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.headers["Location"] == "/auth/login"


def test_two_step_sign_in_is_required_in_production_only(tmp_path: Path) -> None:
    base = {"SECRET_KEY": "x" * 40, "PUBLIC_BASE_URL": "https://pathway.example.fr"}
    assert (
        load_config(tmp_path, {**base, "PATHWAY_ENV": "production"})["STAFF_2FA_REQUIRED"] is True
    )
    assert (
        load_config(tmp_path, {**base, "PATHWAY_ENV": "development"})["STAFF_2FA_REQUIRED"] is False
    )
    forced = {**base, "PATHWAY_ENV": "development", "STAFF_2FA_REQUIRED": "true"}
    assert load_config(tmp_path, forced)["STAFF_2FA_REQUIRED"] is True


def test_reset_command_makes_the_user_enrol_again(app, client, db, eve) -> None:
    user = enrol_in_two_step(eve)
    codes = twofactor.replace_recovery_codes(user)
    result = app.test_cli_runner().invoke(args=["reset-two-factor", "--email", "EVE@example.org"])
    assert result.exit_code == 0, result.output
    db.refresh(user)
    assert user.totp_secret is None and not twofactor.is_enabled(user)
    assert twofactor.remaining_recovery_codes(user) == 0
    assert not twofactor._use_recovery_code(user, codes[0])
    assert password_step(client, "eve@example.org").headers["Location"] == "/auth/two-factor/setup"
    unknown = app.test_cli_runner().invoke(
        args=["reset-two-factor", "--email", "ghost@example.org"]
    )
    assert unknown.exit_code != 0
