"""Every form that asks a signed-in person for their password again goes through the one
sign-in check: wrong passwords count towards the same progressive lockout as at sign-in,
are audited, and are rate-limited per address and per user (one budget for all of them)."""

from __future__ import annotations

from sqlalchemy import func, select

from pathway.auth import accounts
from pathway.db import utcnow
from pathway.models import AuditEvent, Patient, User
from tests.factories import PASSWORD, sign_in

DELETE = "/account/delete-account"
WRONG = "not my password at all"


def delete_account(client, password: str):
    return client.submit(DELETE, {"password": password, "confirm": "y"})


def try_sign_in(client, email: str, password: str):
    return client.submit("/auth/login", {"email": email, "password": password})


def user_of(db, email: str) -> User:
    db.expire_all()
    user = db.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


def test_wrong_passwords_on_deletion_lock_the_account(client, other_client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    sign_in(other_client, "alice@example.org")  # her other device, still signed in
    for _ in range(accounts.LOCKOUT_THRESHOLD - 1):
        response = delete_account(client, WRONG)
        assert response.status_code == 422
        assert "Mot de passe incorrect : rien n'a été supprimé." in response.get_data(
            as_text=True
        ).replace("&#39;", "'")
    assert not is_locked(user_of(db, "alice@example.org"))

    # The last wrong password locks the account and ends this session, as at sign-in.
    locked = delete_account(client, WRONG)
    assert locked.status_code == 303
    assert locked.headers["Location"].endswith("/auth/login")
    page = client.get(locked.headers["Location"]).get_data(as_text=True)
    assert "Trop de mots de passe erronés : votre session est fermée." in page
    assert client.get("/account/my-data").status_code == 302  # signed out
    user = user_of(db, "alice@example.org")
    assert is_locked(user) and user.failed_logins == accounts.LOCKOUT_THRESHOLD

    # While locked, even the right password deletes nothing, and signs nobody in.
    refused = delete_account(other_client, PASSWORD)
    assert refused.status_code == 303
    assert refused.headers["Location"].endswith("/auth/login")
    assert db.get(Patient, alice.id) is not None
    assert try_sign_in(client, "alice@example.org", PASSWORD).status_code == 401

    failed = db.scalars(
        select(AuditEvent).where(
            AuditEvent.tag == "auth:signin:failed", AuditEvent.actor_id == user.id
        )
    ).all()
    assert len(failed) == accounts.LOCKOUT_THRESHOLD
    assert all(event.details.get("method") == "password-again" for event in failed)
    assert db.scalar(
        select(func.count()).where(
            AuditEvent.tag == "auth:signin:locked", AuditEvent.actor_id == user.id
        )
    )


def test_wrong_passwords_on_deletion_count_at_sign_in(client, other_client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    for _ in range(accounts.LOCKOUT_THRESHOLD - 1):
        assert delete_account(client, WRONG).status_code == 422
    # One more wrong password, at sign-in this time, is the one too many.
    assert try_sign_in(other_client, "alice@example.org", WRONG).status_code == 401
    assert is_locked(user_of(db, "alice@example.org"))
    assert try_sign_in(other_client, "alice@example.org", PASSWORD).status_code == 401


def test_wrong_passwords_at_sign_in_count_on_every_password_form(
    client, other_client, db, alice
) -> None:
    sign_in(client, "alice@example.org")
    for _ in range(accounts.LOCKOUT_THRESHOLD - 2):
        assert try_sign_in(other_client, "alice@example.org", WRONG).status_code == 401
    assert client.submit("/auth/confirm", {"password": WRONG}).status_code == 401
    response = delete_account(client, WRONG)
    assert response.status_code == 303  # the fifth in all: locked, signed out
    assert response.headers["Location"].endswith("/auth/login")
    assert is_locked(user_of(db, "alice@example.org"))
    assert db.get(Patient, alice.id) is not None


def test_the_right_password_resets_the_count(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    for _ in range(accounts.LOCKOUT_THRESHOLD - 1):
        assert delete_account(client, WRONG).status_code == 422
    assert client.submit("/auth/confirm", {"password": PASSWORD}).status_code == 303
    assert user_of(db, "alice@example.org").failed_logins == 0
    assert delete_account(client, WRONG).status_code == 422
    assert not is_locked(user_of(db, "alice@example.org"))


def test_password_forms_share_one_budget_per_user(client, other_client, db, alice, bob) -> None:
    sign_in(client, "alice@example.org")
    # The right password every time (no lockout): only the rate limit can refuse.
    for _ in range(10):
        assert client.submit("/auth/confirm", {"password": PASSWORD}).status_code == 303
    # Another form, never used from this address: Alice's budget is spent all the same.
    response = delete_account(client, PASSWORD)
    assert response.status_code == 429
    assert response.headers["Retry-After"]
    page = response.get_data(as_text=True)
    assert "Trop de tentatives" in page and "<html" in page  # the app's own page
    assert db.get(Patient, alice.id) is not None
    # Bob, from the same address, has his own budget.
    sign_in(other_client, "bob@example.org")
    assert delete_account(other_client, WRONG).status_code == 422


def test_password_forms_are_limited_per_address(client, other_client, db, alice, bob) -> None:
    sign_in(client, "alice@example.org")
    sign_in(other_client, "bob@example.org")
    # Two people, one address: neither spends their own budget, the address spends its own.
    for browser in [client, other_client] * 5:
        assert browser.submit("/auth/confirm", {"password": PASSWORD}).status_code == 303
    assert other_client.submit("/auth/confirm", {"password": PASSWORD}).status_code == 429
