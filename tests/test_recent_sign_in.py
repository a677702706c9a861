"""Consent changes and data exports ask for the password again when it was typed too long ago."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from sqlalchemy import func, select

from pathway.models import Consent
from tests.factories import PASSWORD, sign_in

LATER = dt.timedelta(minutes=16)  # RECENT_SIGN_IN_MINUTES is 15


@pytest.fixture(autouse=True)
def committed(db, alice_enrollment) -> None:
    """Alice, enrolled in Claire's programme, committed as a real sign-in would find her."""
    db.commit()


def consents(db, enrollment) -> int:
    query = select(func.count()).select_from(Consent).where(Consent.enrollment_id == enrollment.id)
    return db.scalar(query)


def later() -> time_machine.travel:
    return time_machine.travel(dt.datetime.now(dt.UTC) + LATER)


def asked_to_confirm(response, back_to: str) -> None:
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location.path == "/auth/confirm"
    assert parse_qs(location.query)["next"] == [back_to]


def test_a_recent_sign_in_gives_consent_at_once(client, db, alice_enrollment) -> None:
    sign_in(client, "alice@example.org")
    response = client.submit(f"/programme/{alice_enrollment.id}/consent", page="/programme/")
    assert response.status_code == 302
    assert consents(db, alice_enrollment) == 1


def test_an_old_sign_in_confirms_the_password_before_a_consent_change(
    client, db, alice_enrollment
) -> None:
    sign_in(client, "alice@example.org")
    with later():
        back_to = f"/programme/#consent-{alice_enrollment.id}"
        response = client.submit(f"/programme/{alice_enrollment.id}/consent", page="/programme/")
        asked_to_confirm(response, back_to)
        assert consents(db, alice_enrollment) == 0  # nothing done meanwhile

        page = client.get(response.headers["Location"])
        assert page.status_code == 200
        assert "Confirmez votre mot de passe" in page.get_data(as_text=True)

        confirm = f"/auth/confirm?next={back_to.replace('#', '%23')}"
        wrong = client.submit(confirm, {"password": "not the password"})
        assert wrong.status_code == 401
        assert "Mot de passe incorrect." in wrong.get_data(as_text=True)
        again = client.submit(f"/programme/{alice_enrollment.id}/consent", page="/programme/")
        asked_to_confirm(again, back_to)

        right = client.submit(confirm, {"password": PASSWORD})
        assert right.status_code == 303
        assert right.headers["Location"] == back_to
        done = client.submit(f"/programme/{alice_enrollment.id}/consent", page="/programme/")
        assert done.status_code == 302
        assert consents(db, alice_enrollment) == 1

        withdrawn = client.submit(
            f"/programme/{alice_enrollment.id}/consent/withdraw", page="/programme/"
        )
        assert withdrawn.status_code == 302
    with time_machine.travel(dt.datetime.now(dt.UTC) + 2 * LATER):
        response = client.submit(f"/programme/{alice_enrollment.id}/consent", page="/programme/")
        asked_to_confirm(response, back_to)


def test_an_old_sign_in_confirms_the_password_before_a_data_export(
    client, alice_enrollment
) -> None:
    sign_in(client, "alice@example.org")
    with later():
        asked_to_confirm(client.get("/account/my-data"), "/account/my-data")
        form = client.csrf_token("/programme/")
        export = client.post("/account/my-data", data={"csrf_token": form})
        asked_to_confirm(export, "/account/my-data")
        assert export.mimetype != "application/json"

        client.submit("/auth/confirm?next=/account/my-data", {"password": PASSWORD})
        assert client.get("/account/my-data").status_code == 200
        export = client.submit("/account/my-data", page="/account/my-data")
        assert export.mimetype == "application/json"


def test_an_old_staff_sign_in_confirms_the_password_before_recording_a_consent(
    client, db, alice_enrollment
) -> None:
    sign_in(client, "claire@example.org")
    page = f"/team/enrollments/{alice_enrollment.id}"
    data = {"consent-given_on": dt.date.today().isoformat(), "version": alice_enrollment.version}
    with later():
        response = client.submit(f"{page}/consent", data, page=page)
        asked_to_confirm(response, f"{page}#consent")
        assert consents(db, alice_enrollment) == 0
        client.submit(f"/auth/confirm?next={page}", {"password": PASSWORD})
        response = client.submit(f"{page}/consent", data, page=page)
        assert response.status_code in (302, 303)
        assert consents(db, alice_enrollment) == 1


def test_guessing_the_password_of_an_open_session_ends_it(client, db, alice_enrollment) -> None:
    sign_in(client, "alice@example.org")
    with later():
        for _ in range(4):
            response = client.submit("/auth/confirm", {"password": "guess"})
            assert response.status_code == 401
        response = client.submit("/auth/confirm", {"password": "guess"})
        assert response.status_code == 303
        assert response.headers["Location"].endswith("/auth/login")
        assert client.get("/programme/").status_code == 302  # signed out
        # The account now waits, as after wrong passwords at sign-in.
        refused = client.submit("/auth/login", {"email": "alice@example.org", "password": PASSWORD})
        assert refused.status_code == 401


def test_a_lockout_that_has_ended_does_not_end_the_session_at_the_next_mistake(
    client, db, alice_enrollment
) -> None:
    sign_in(client, "alice@example.org")
    user = alice_enrollment.patient.user
    user.locked_until = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)  # as an old lockout left it
    db.commit()
    with later():
        assert client.submit("/auth/confirm", {"password": "guess"}).status_code == 401
        assert client.get("/programme/").status_code == 200  # still signed in


def test_the_confirmation_never_sends_elsewhere(client, alice_enrollment) -> None:
    sign_in(client, "alice@example.org")
    with later():
        response = client.submit("/auth/confirm?next=https://evil.example/", {"password": PASSWORD})
        assert response.status_code == 303
        assert not response.headers["Location"].startswith("https://evil")
        assert urlsplit(response.headers["Location"]).netloc in ("", "localhost", "pathway.test")


def test_the_confirmation_needs_a_signed_in_user(client) -> None:
    response = client.get("/auth/confirm")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_the_person_is_told_plainly_that_the_stopped_request_was_not_done(
    client, db, alice_enrollment
) -> None:
    sign_in(client, "alice@example.org")
    with later():
        response = client.submit(f"/programme/{alice_enrollment.id}/consent", page="/programme/")
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "Ce que vous avez demandé n&#39;a pas été fait" in page

        right = client.submit(response.headers["Location"], {"password": PASSWORD})

        landed = client.get(right.headers["Location"]).get_data(as_text=True)
        assert "Mot de passe confirmé. Ce que vous avez demandé n&#39;a pas encore" in landed
        assert consents(db, alice_enrollment) == 0
