"""Sessions live on the server: signing out, signing out everywhere, a password change or a
two-factor reset ends them for every copy of the cookie; idle sessions end, patients' too,
counted from the server's last_seen_at; the session's random id is in no log and, in the
database, only as its hash."""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hashlib
import re
from pathlib import Path

import pytest
import time_machine
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import event, func, select, update

from pathway import mail
from pathway.config import ConfigError, load_config
from pathway.db import utcnow
from pathway.models import SignInSession
from tests.conftest import PUBLIC_BASE_URL
from tests.factories import PASSWORD, sign_in

NEW_PASSWORD = "une phrase de passe solide"
HOST = "pathway.test"


def cookie_of(app, client) -> str:
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"], domain=HOST)
    assert cookie is not None, "the browser holds no session cookie"
    return cookie.value


def copy_cookie(app, source, target) -> None:
    """Another browser with a copy of the session cookie (stolen, or left on a computer)."""
    target.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie_of(app, source), domain=HOST)


def session_token(app, client) -> str:
    """The session's random id, as the signed cookie carries it ("<user id>:<random id>")."""
    data = app.session_interface.get_signing_serializer(app).loads(cookie_of(app, client))
    return data["_user_id"].partition(":")[2]


def sessions_of(db, user) -> int:
    query = select(func.count()).select_from(SignInSession)
    return db.scalar(query.where(SignInSession.user_id == user.id))


def sent_to_sign_in(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/auth/login")


def in_french(app, message: str) -> str:
    """The French of a message as a page shows it, from the catalogue (its wording may change)."""
    with app.test_request_context(), force_locale("fr"):
        french = gettext(message)
    assert french != message, f"no French for {message!r}"
    return str(escape(french))


def at(moment: dt.datetime) -> time_machine.travel:
    return time_machine.travel(moment, tick=False)


def reset_link(app) -> str:
    """The path of the password reset link mailed to the account."""
    with app.app_context():
        mail.deliver()
    links = []
    for path in sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        body = message.get_body(("plain",)).get_content()
        links += re.findall(r"https://pathway\.test(/auth/reset/\S+)", body)
    [link] = links
    return link


# Signing out ---------------------------------------------------------------------------


def test_a_cookie_copied_before_sign_out_opens_nothing_after_it(
    app, client, other_client, db, alice
) -> None:
    sign_in(client, "alice@example.org")
    copy_cookie(app, client, other_client)
    assert other_client.get("/patient/").status_code == 200

    client.submit("/auth/logout", page="/patient/")

    assert sent_to_sign_in(other_client.get("/patient/"))
    assert sent_to_sign_in(client.get("/patient/"))
    assert sessions_of(db, alice.user) == 0
    # The replayed cookie has been emptied: the browser holding it is a visitor now.
    assert other_client.get("/auth/login").status_code == 200


def test_signing_out_ends_only_that_browsers_session(app, client, other_client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    sign_in(other_client, "alice@example.org")
    assert sessions_of(db, alice.user) == 2

    client.submit("/auth/logout", page="/patient/")

    assert sent_to_sign_in(client.get("/patient/"))
    assert other_client.get("/patient/").status_code == 200
    assert sessions_of(db, alice.user) == 1


def test_signing_in_again_replaces_the_browsers_session(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    first = session_token(app, client)
    client.submit("/auth/logout", page="/patient/")
    sign_in(client, "alice@example.org")
    assert session_token(app, client) != first
    assert sessions_of(db, alice.user) == 1


def test_sign_out_everywhere_ends_every_session_of_the_account(
    app, client, other_client, stranger, db, alice, bob
) -> None:
    sign_in(client, "alice@example.org")
    sign_in(other_client, "alice@example.org")  # her phone
    sign_in(stranger, "bob@example.org")
    page = client.get("/account/my-data").get_data(as_text=True)
    assert 'action="/auth/logout-everywhere"' in page
    assert in_french(app, "Sign out everywhere") in page

    assert client.get("/auth/logout-everywhere").status_code == 405
    refused = client.post("/auth/logout-everywhere", data={})  # no CSRF token
    assert refused.status_code == 400
    assert other_client.get("/patient/").status_code == 200

    response = client.submit("/auth/logout-everywhere", page="/patient/")

    assert response.status_code == 303
    assert response.headers["Location"] == "/auth/login"
    signed_out = client.get("/auth/login").get_data(as_text=True)
    assert in_french(app, "You are signed out on every device.") in signed_out
    assert sent_to_sign_in(other_client.get("/patient/"))
    assert sent_to_sign_in(client.get("/patient/"))
    assert sessions_of(db, alice.user) == 0
    # Someone else's session is untouched.
    assert stranger.get("/patient/").status_code == 200
    assert sessions_of(db, bob.user) == 1


def test_staff_sign_out_everywhere_from_the_menu(app, client, other_client, db, eve) -> None:
    sign_in(client, "eve@example.org")
    sign_in(other_client, "eve@example.org")
    assert 'action="/auth/logout-everywhere"' in client.get("/team/").get_data(as_text=True)
    client.submit("/auth/logout-everywhere", page="/team/")
    assert sent_to_sign_in(other_client.get("/team/"))


def test_a_cookie_of_the_former_kind_opens_nothing(app, client, db, alice) -> None:
    """Cookies from before server-side sessions carried "<user id>:<session version>"."""
    with client.session_transaction(base_url=PUBLIC_BASE_URL) as cookie:
        cookie["_user_id"] = f"{alice.user.id}:{alice.user.session_version}"
        cookie["_fresh"] = True
    assert sent_to_sign_in(client.get("/patient/"))


def test_a_session_of_another_user_does_not_open_an_account(
    app, client, other_client, db, alice, bob
) -> None:
    sign_in(client, "alice@example.org")
    token = session_token(app, client)
    with other_client.session_transaction(base_url=PUBLIC_BASE_URL) as cookie:
        cookie["_user_id"] = f"{bob.user.id}:{token}"
        cookie["_fresh"] = True
    assert sent_to_sign_in(other_client.get("/patient/"))


# Passwords and second factors ------------------------------------------------------------


def test_a_password_reset_ends_every_other_session(app, client, other_client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    copy_cookie(app, client, other_client)
    assert other_client.get("/patient/").status_code == 200

    # From a third browser (the stranger's, say: a reset is done signed out).
    other = app.test_client()
    other.submit("/auth/forgot", {"email": "alice@example.org"})
    changed = other.submit(reset_link(app), {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert changed.headers["Location"] == "/auth/login"

    assert sent_to_sign_in(client.get("/patient/"))
    assert sent_to_sign_in(other_client.get("/patient/"))
    assert sessions_of(db, alice.user) == 0
    sign_in(client, "alice@example.org", NEW_PASSWORD)
    assert client.get("/patient/").status_code == 200


def test_a_two_factor_reset_ends_the_staff_members_sessions(app, client, db, eve) -> None:
    sign_in(client, "eve@example.org")
    assert client.get("/team/").status_code == 200
    result = app.test_cli_runner().invoke(args=["reset-two-factor", "--email", "eve@example.org"])
    assert result.exit_code == 0, result.output
    assert sent_to_sign_in(client.get("/team/"))
    assert sessions_of(db, eve) == 0


def test_a_session_version_bump_alone_ends_the_session(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    alice.user.session_version += 1
    db.commit()
    assert sent_to_sign_in(client.get("/patient/"))


def test_a_deleted_account_takes_its_sessions_along(app, client, other_client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    copy_cookie(app, client, other_client)
    user_id = alice.user.id
    response = client.submit("/account/delete-account", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    db.expunge_all()
    assert db.scalar(select(func.count()).where(SignInSession.user_id == user_id)) == 0
    assert sent_to_sign_in(other_client.get("/patient/"))


# Idle and old sessions ------------------------------------------------------------------


def test_patient_session_ends_after_the_patient_idle_time(app, client, db, alice) -> None:
    assert app.config["PATIENT_SESSION_IDLE_MINUTES"] == 60
    start = utcnow()
    with at(start):
        sign_in(client, "alice@example.org")
    with at(start + dt.timedelta(minutes=59)):
        assert client.get("/patient/").status_code == 200  # active: the clock starts again
    with at(start + dt.timedelta(minutes=118)):
        assert client.get("/patient/").status_code == 200
    with at(start + dt.timedelta(minutes=118 + 61)):
        assert sent_to_sign_in(client.get("/patient/"))
    assert sessions_of(db, alice.user) == 0  # the ended session's row goes at once


def test_signing_out_of_an_ended_session_still_signs_out(app, client, db, alice) -> None:
    """The form of a page left open past the idle time is not refused as expired."""
    start = utcnow()
    with at(start):
        sign_in(client, "alice@example.org")
        token = client.csrf_token("/patient/")
    with at(start + dt.timedelta(minutes=61)):
        response = client.post("/auth/logout", data={"csrf_token": token})
        assert sent_to_sign_in(response)
        signed_out = client.get("/auth/login").get_data(as_text=True)
        assert in_french(app, "You are signed out.") in signed_out


def test_patient_idle_time_is_counted_on_the_server_not_in_the_cookie(
    app, client, db, alice
) -> None:
    """A copied cookie keeps the moments it carries; the server's last_seen_at decides."""
    sign_in(client, "alice@example.org")
    assert client.get("/patient/").status_code == 200
    db.execute(
        update(SignInSession)
        .where(SignInSession.user_id == alice.user.id)
        .values(last_seen_at=utcnow() - dt.timedelta(minutes=61))
    )
    db.commit()
    assert sent_to_sign_in(client.get("/patient/"))


def test_the_patient_idle_time_is_a_setting(tmp_path: Path) -> None:
    base = {"SECRET_KEY": "x" * 40, "PUBLIC_BASE_URL": "https://pathway.example.fr"}
    assert load_config(tmp_path, base)["PATIENT_SESSION_IDLE_MINUTES"] == 60
    chosen = load_config(tmp_path, {**base, "PATIENT_SESSION_IDLE_MINUTES": "20"})
    assert chosen["PATIENT_SESSION_IDLE_MINUTES"] == 20
    with pytest.raises(ConfigError, match="PATIENT_SESSION_IDLE_MINUTES"):
        load_config(tmp_path, {**base, "PATIENT_SESSION_IDLE_MINUTES": "une heure"})


def test_a_shorter_patient_idle_time_applies(app, client, db, alice) -> None:
    app.config["PATIENT_SESSION_IDLE_MINUTES"] = 10
    start = utcnow()
    with at(start):
        sign_in(client, "alice@example.org")
    with at(start + dt.timedelta(minutes=11)):
        assert sent_to_sign_in(client.get("/patient/"))


def test_staff_session_still_ends_after_the_staff_idle_time(
    app, client, other_client, db, eve, alice
) -> None:
    start = utcnow()
    with at(start):
        sign_in(client, "eve@example.org")
        sign_in(other_client, "alice@example.org")
    with at(start + dt.timedelta(minutes=29)):
        assert client.get("/team/").status_code == 200
    with at(start + dt.timedelta(minutes=29 + 31)):
        assert sent_to_sign_in(client.get("/team/"))
        # A patient idle as long is still signed in (60 minutes).
        assert other_client.get("/patient/").status_code == 200


def test_sessions_end_after_the_absolute_lifetime_however_active(app, client, db, alice) -> None:
    start = utcnow()
    with at(start):
        sign_in(client, "alice@example.org")
    moment = start
    while moment < start + dt.timedelta(hours=11, minutes=30):
        moment += dt.timedelta(minutes=50)
        with at(moment):
            assert client.get("/patient/").status_code == 200
    with at(start + dt.timedelta(hours=12, minutes=1)):
        assert sent_to_sign_in(client.get("/patient/"))


def test_last_seen_is_written_at_most_once_a_minute(app, client, db, alice) -> None:
    start = utcnow()
    with at(start):
        sign_in(client, "alice@example.org")

    def last_seen() -> dt.datetime:
        db.expire_all()
        return db.scalar(
            select(SignInSession.last_seen_at).where(SignInSession.user_id == alice.user.id)
        )

    signed_in = last_seen()
    with at(start + dt.timedelta(seconds=59)):
        client.get("/patient/")
        client.get("/patient/")
    assert last_seen() == signed_in
    with at(start + dt.timedelta(seconds=61)):
        client.get("/patient/")
    assert abs(last_seen() - (start + dt.timedelta(seconds=61))) < dt.timedelta(milliseconds=1)


def test_a_signed_in_request_reads_its_session_in_one_query(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    client.get("/patient/")  # last_seen_at is fresh: no write below
    statements: list[str] = []
    engine = app.extensions["pathway.db"].engine

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/patient/").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    about_sessions = [s for s in statements if "user_sessions" in s]
    assert len(about_sessions) == 1, about_sessions
    assert "JOIN" in about_sessions[0] and "FROM users" in about_sessions[0]
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in statements)


def test_the_purge_deletes_ended_sessions(app, client, other_client, db, alice, bob) -> None:
    sign_in(client, "alice@example.org")
    sign_in(other_client, "bob@example.org")
    db.execute(
        update(SignInSession)
        .where(SignInSession.user_id == bob.user.id)
        .values(last_seen_at=utcnow() - dt.timedelta(hours=2))
    )
    db.commit()
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert sessions_of(db, bob.user) == 0
    assert sessions_of(db, alice.user) == 1
    assert client.get("/patient/").status_code == 200


# Secrets --------------------------------------------------------------------------------


def test_the_session_id_is_random_and_stored_only_as_its_hash(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    token = session_token(app, client)
    assert len(base64.urlsafe_b64decode(token + "==")) >= 16  # 128 bits at least
    [row] = db.scalars(select(SignInSession).where(SignInSession.user_id == alice.user.id))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    stored = " ".join(str(getattr(row, c.key)) for c in SignInSession.__table__.columns)
    assert token not in stored and token[:12] not in stored


def test_the_session_id_never_appears_in_the_logs(
    app, client, other_client, db, alice, caplog
) -> None:
    caplog.set_level("DEBUG")
    sign_in(client, "alice@example.org")
    token = session_token(app, client)
    copy_cookie(app, client, other_client)
    client.get("/patient/")
    client.get("/account/my-data")
    client.submit("/auth/logout", page="/patient/")
    other_client.get("/patient/")
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert token not in caplog.text
    assert token[:12] not in caplog.text
