"""The account page, /account: name and language, a change of e-mail address confirmed from
the new address, a change of password that signs out the other devices, the e-mails one
receives (and, for a patient, the GP notice of card openings), signing out everywhere, and
the patient's data export and deletion beside them. Every form refuses a post without its
CSRF token and bad input with a message, changing nothing."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pyotp
import pytest
import time_machine
from flask_babel import force_locale, gettext
from markupsafe import escape
from sqlalchemy import func, select

from pathway import tokens
from pathway.auth import accounts
from pathway.db import utcnow
from pathway.mail_notices import MAIL_LABELS, MailKind, wants_mail
from pathway.models import AuditEvent, OutboxMessage, SignInSession, User
from tests.conftest import PUBLIC_BASE_URL
from tests.factories import PASSWORD, mails_to, make_user, sign_in

NEW_PASSWORD = "une phrase de passe toute neuve"
NEW_EMAIL = "alice.martin@example.net"
CONFIRM_LINK = re.compile(re.escape(PUBLIC_BASE_URL) + r"(/account/email/confirm/[^\s]+)")


def french(app, message: str, **variables: object) -> str:
    """The French of a message as a page shows it (from the catalogue: its wording may change)."""
    with app.test_request_context(), force_locale("fr"):
        text = gettext(message, **variables)
    assert text != message, f"no French for {message!r}"
    return str(escape(text))


def user_by_id(db, user_id: int) -> User:
    db.expire_all()
    user = db.get(User, user_id)
    assert user is not None
    return user


def sessions_of(db, user: User) -> int:
    query = select(func.count()).select_from(SignInSession)
    return db.scalar(query.where(SignInSession.user_id == user.id))


def is_checked(page: str, name: str) -> bool:
    """Whether the page's checkbox of this name is ticked."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert found is not None, f"no box {name}"
    return " checked" in found.group(0)


def signed_in(client) -> bool:
    return client.get("/account/").status_code == 200


def ask_email_change(client, address: str = NEW_EMAIL, password: str = PASSWORD):
    return client.submit(
        "/account/email", {"new_email": address, "email_password": password}, page="/account/"
    )


def confirm_link(app, db, address: str = NEW_EMAIL) -> str:
    bodies = [body for _subject, body in mails_to(app, db, address)]
    links = [found.group(1) for body in bodies if (found := CONFIRM_LINK.search(body))]
    assert links, f"no confirmation link mailed to {address}"
    return links[-1]


def change_password(client, current: str = PASSWORD, new: str = NEW_PASSWORD, again=None):
    return client.submit(
        "/account/password",
        {
            "current_password": current,
            "new_password": new,
            "confirm_password": new if again is None else again,
        },
        page="/account/",
    )


# The page ---------------------------------------------------------------------------------------


def test_the_page_asks_to_sign_in(client) -> None:
    response = client.get("/account/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_a_patient_sees_every_part_of_her_account(app, client, alice) -> None:
    sign_in(client, "alice@example.org")
    page = client.get("/account/").get_data(as_text=True)
    assert 'href="/account/"' in client.get("/patient/").get_data(as_text=True)  # navigation
    for action in ("/account/profile", "/account/email", "/account/password", "/account/mails"):
        assert f'action="{action}"' in page
    assert 'action="/auth/logout-everywhere"' in page
    assert 'href="/account/my-data"' in page and 'href="/account/delete"' in page
    # Her name is her summary's, edited in its identity section.
    assert 'href="/patient/identity"' in page
    assert 'name="display_name"' not in page
    gp_notice = french(
        app,
        "Your GP receives an e-mail at each opening of your emergency card, as Mon Espace "
        "Santé does after an emergency access.",
    )
    assert html.unescape(gp_notice) in html.unescape(page)
    with app.test_request_context(), force_locale("fr"):
        labels = [str(MAIL_LABELS[kind]) for kind in MailKind]
    assert all(label in html.unescape(page) for label in labels)
    assert "<script" not in page  # nothing needs JavaScript
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page


def test_a_team_member_sees_only_the_parts_of_a_team_member(app, client, claire) -> None:
    sign_in(client, "claire@example.org")
    page = client.get("/account/").get_data(as_text=True)
    assert 'name="display_name"' in page and 'value="Claire Dubois"' in page
    assert 'action="/account/email"' in page and 'action="/account/password"' in page
    assert 'action="/auth/logout-everywhere"' in page
    assert "/account/my-data" not in page and "/account/delete" not in page
    assert 'name="tell_gp_of_card_openings"' not in page
    assert 'action="/account/mails"' not in page
    assert client.get("/account/my-data").status_code == 404
    assert client.get("/account/delete").status_code == 404
    assert client.submit("/account/mails", {}, page="/account/").status_code == 404


# Name and language ------------------------------------------------------------------------------


def test_a_team_member_saves_her_name_and_language(client, db, claire) -> None:
    sign_in(client, "claire@example.org")
    response = client.submit(
        "/account/profile",
        {"display_name": "  Claire Dubois-Lenoir ", "locale": "en"},
        page="/account/",
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/account/"
    saved = user_by_id(db, claire.id)
    assert (saved.display_name, saved.locale) == ("Claire Dubois-Lenoir", "en")
    assert client.get_cookie("lang", domain="pathway.test").value == "en"
    page = client.get("/account/").get_data(as_text=True)
    assert '<html lang="en">' in page and "My account" in page


def test_a_patient_saves_her_language_and_her_name_stays_her_summarys(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    response = client.submit(
        "/account/profile", {"display_name": "Someone else", "locale": "en"}, page="/account/"
    )
    assert response.status_code == 303
    saved = user_by_id(db, alice.user.id)
    assert saved.locale == "en"
    assert saved.display_name != "Someone else"
    assert saved.patient.first_name == "Alice"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"display_name": "", "locale": "fr"}, "Enter your name."),
        ({"display_name": "   ", "locale": "fr"}, "Enter your name."),
        ({"display_name": "x" * 121, "locale": "fr"}, None),
        ({"display_name": "Claire\r\nBcc: x@example.org", "locale": "fr"}, None),
        ({"display_name": "Claire", "locale": "de"}, None),
        ({"display_name": "Claire"}, "Choose a language."),
    ],
)
def test_a_bad_name_or_language_is_refused_and_nothing_is_saved(
    app, client, db, claire, data, message
) -> None:
    sign_in(client, "claire@example.org")
    response = client.submit("/account/profile", data, page="/account/")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="error"' in page
    if message is not None:
        assert french(app, message) in page
    saved = user_by_id(db, claire.id)
    assert (saved.display_name, saved.locale) == ("Claire Dubois", "fr")


# E-mail address ---------------------------------------------------------------------------------


def test_a_new_address_changes_only_once_confirmed_from_it(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    response = ask_email_change(client, "  Alice.Martin@Example.NET ")
    assert response.status_code == 303
    assert user_by_id(db, alice.user.id).email == "alice@example.org"
    # The old address is told a change was asked; the new one gets the link.
    told = mails_to(app, db, "alice@example.org")
    assert len(told) == 1 and NEW_EMAIL in told[0][1]
    assert "/account/email/confirm/" not in told[0][1]
    link = confirm_link(app, db)

    # Opening the link (a mail scanner does) changes nothing: a button confirms.
    page = client.get(link)
    assert page.status_code == 200 and NEW_EMAIL in page.get_data(as_text=True)
    assert user_by_id(db, alice.user.id).email == "alice@example.org"

    confirmed = client.submit(link, {})
    assert confirmed.status_code == 303
    assert user_by_id(db, alice.user.id).email == NEW_EMAIL
    assert signed_in(client)  # her session goes on
    # Both addresses are told of the change.
    assert len(mails_to(app, db, "alice@example.org")) == 2
    assert len(mails_to(app, db, NEW_EMAIL)) == 2
    # She signs in with the new address, not the old one.
    client.submit("/auth/logout", page="/account/")
    assert sign_in(client, NEW_EMAIL).status_code == 302
    assert accounts.authenticate("alice@example.org", PASSWORD).user is None


def test_a_confirmation_link_works_once(app, client, other_client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    ask_email_change(client)
    link = confirm_link(app, db)
    assert client.submit(link, {}).status_code == 303
    # Used: it fails, and a second request made before the first was used fails too.
    again = other_client.get(link)
    assert again.status_code == 410
    assert french(app, "This confirmation link has already been used or is no longer valid.") in (
        again.get_data(as_text=True)
    )
    assert user_by_id(db, alice.user.id).email == NEW_EMAIL


def test_an_older_request_is_stale_once_another_is_confirmed(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    ask_email_change(client, "first@example.net")
    first = confirm_link(app, db, "first@example.net")
    ask_email_change(client, "second@example.net")
    second = confirm_link(app, db, "second@example.net")
    assert client.submit(second, {}).status_code == 303
    assert (
        client.post(first, data={"csrf_token": client.csrf_token("/account/")}).status_code == 410
    )
    assert user_by_id(db, alice.user.id).email == "second@example.net"


def test_an_expired_confirmation_link_fails(app, client, stranger, db, alice) -> None:
    sign_in(client, "alice@example.org")
    ask_email_change(client)
    link = confirm_link(app, db)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=24, minutes=5)):
        response = stranger.get(link)
    assert response.status_code == 410
    assert french(app, "This confirmation link has expired. Ask for the change again.") in (
        response.get_data(as_text=True)
    )
    assert user_by_id(db, alice.user.id).email == "alice@example.org"


def test_a_forged_or_garbled_link_fails(app, stranger, db, alice) -> None:
    with app.test_request_context():
        other_purpose = tokens.sign(
            tokens.Purpose.PASSWORD_RESET, f"{alice.user.public_id}:{NEW_EMAIL}", 1
        )
    for token in ("not-a-token", other_purpose):
        response = stranger.get(f"/account/email/confirm/{token}")
        assert response.status_code == 410
        assert french(app, "This confirmation link is not valid.") in response.get_data(
            as_text=True
        )
    assert user_by_id(db, alice.user.id).email == "alice@example.org"


def test_an_address_taken_before_the_confirmation_is_refused(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    ask_email_change(client)
    link = confirm_link(app, db)
    make_user(NEW_EMAIL)
    response = client.submit(link, {})
    assert response.status_code == 410
    assert user_by_id(db, alice.user.id).email == "alice@example.org"


@pytest.mark.parametrize(
    ("address", "password", "message", "field"),
    [
        ("not an address", PASSWORD, "Enter a valid email address.", "new_email"),
        ("", PASSWORD, "Enter the new e-mail address.", "new_email"),
        ("a" * 250 + "@example.org", PASSWORD, None, "new_email"),
        (
            "bob@example.org",
            PASSWORD,
            "Another account already uses this e-mail address. Choose another one.",
            "new_email",
        ),
        (
            "BOB@example.org",
            PASSWORD,
            "Another account already uses this e-mail address. Choose another one.",
            "new_email",
        ),
        ("alice@example.org", PASSWORD, "This is already your e-mail address.", "new_email"),
        (
            NEW_EMAIL,
            "not my password",
            "Wrong current password: your e-mail address has not changed.",
            "email_password",
        ),
        (NEW_EMAIL, "", "Enter your current password.", "email_password"),
    ],
)
def test_a_bad_address_or_password_changes_nothing_and_mails_nothing(
    app, client, db, alice, bob, address, password, message, field
) -> None:
    sign_in(client, "alice@example.org")
    response = ask_email_change(client, address, password)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    if message is not None:
        assert french(app, message) in page
    assert user_by_id(db, alice.user.id).email == "alice@example.org"
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert not list(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))


def test_wrong_passwords_for_an_address_change_count_towards_the_lockout(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    for _ in range(accounts.LOCKOUT_THRESHOLD - 1):
        assert ask_email_change(client, password="wrong password").status_code == 422
    locked = ask_email_change(client, password="wrong password")
    assert locked.status_code == 303 and locked.headers["Location"] == "/auth/login"
    assert not signed_in(client)
    assert user_by_id(db, alice.user.id).email == "alice@example.org"


# Password ---------------------------------------------------------------------------------------


def test_a_new_password_signs_out_the_other_devices_only(
    app, client, other_client, db, alice
) -> None:
    sign_in(client, "alice@example.org")
    sign_in(other_client, "alice@example.org")  # her phone
    response = change_password(client)
    assert response.status_code == 303
    assert signed_in(client)  # this browser stays signed in
    assert not signed_in(other_client)
    assert sessions_of(db, alice.user) == 1
    told = mails_to(app, db, "alice@example.org")
    assert len(told) == 1
    # The new password opens the account; the old one does not.
    assert accounts.authenticate("alice@example.org", PASSWORD).user is None
    assert sign_in(other_client, "alice@example.org", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    ("current", "new", "again", "message", "field"),
    [
        (
            "not my password",
            NEW_PASSWORD,
            None,
            "Wrong current password: your password has not changed.",
            "current_password",
        ),
        ("", NEW_PASSWORD, None, "Enter your current password.", "current_password"),
        (PASSWORD, "short", None, None, "new_password"),
        (
            PASSWORD,
            "motdepasse123",
            None,
            "This password is too common. Choose another one.",
            "new_password",
        ),
        (
            PASSWORD,
            NEW_PASSWORD,
            "something else entirely",
            "The two passwords differ.",
            "confirm_password",
        ),
        (PASSWORD, "", None, "Enter the new password.", "new_password"),
    ],
)
def test_a_bad_password_change_changes_nothing(
    app, client, other_client, db, alice, current, new, again, message, field
) -> None:
    sign_in(client, "alice@example.org")
    sign_in(other_client, "alice@example.org")
    response = change_password(client, current, new, again)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page
    if message is not None:
        assert french(app, message) in page
    assert NEW_PASSWORD not in page and PASSWORD not in page  # never sent back
    assert accounts.authenticate("alice@example.org", PASSWORD).user is not None
    assert signed_in(client) and signed_in(other_client)
    assert mails_to(app, db, "alice@example.org") == []


def test_a_wrong_current_password_counts_towards_the_lockout(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    change_password(client, "wrong password")
    assert user_by_id(db, alice.user.id).failed_logins == 1


def test_staff_keep_their_two_step_sign_in_after_a_password_change(
    app, client, other_client, db, claire
) -> None:
    claire.totp_secret = pyotp.random_base32()
    claire.totp_enabled_at = utcnow()
    db.flush()
    client.submit("/auth/login", {"email": "claire@example.org", "password": PASSWORD})
    client.submit("/auth/two-factor", {"code": pyotp.TOTP(claire.totp_secret).now()})
    assert signed_in(client)
    assert change_password(client).status_code == 303
    assert signed_in(client)
    # Signing in again still asks for the code after the (new) password.
    step = other_client.submit(
        "/auth/login", {"email": "claire@example.org", "password": NEW_PASSWORD}
    )
    assert step.headers["Location"] == "/auth/two-factor"
    assert not signed_in(other_client)


# The e-mails I receive --------------------------------------------------------------------------


def test_every_mail_is_chosen_by_default_and_the_gp_notice_is_off(client, alice) -> None:
    sign_in(client, "alice@example.org")
    page = client.get("/account/").get_data(as_text=True)
    for kind in MailKind:
        assert is_checked(page, f"mail_{kind.value}")
    assert not is_checked(page, "tell_gp_of_card_openings")
    assert alice.tell_gp_of_card_openings is False


def test_a_patient_saves_her_mail_choices_and_the_gp_notice(client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    kept = {"mail_card_opened": "y", "mail_letter_sent": "y", "tell_gp_of_card_openings": "y"}
    response = client.submit("/account/mails", kept, page="/account/")
    assert response.status_code == 303
    user = user_by_id(db, alice.user.id)
    assert wants_mail(user, MailKind.CARD_OPENED) and wants_mail(user, MailKind.LETTER_SENT)
    assert not wants_mail(user, MailKind.LINK_LOCKED)
    assert not wants_mail(user, MailKind.REPLY_RECEIVED)
    assert not wants_mail(user, MailKind.LINK_EXPIRING)
    assert user.patient.tell_gp_of_card_openings is True
    page = client.get("/account/").get_data(as_text=True)
    assert is_checked(page, "tell_gp_of_card_openings")
    assert not is_checked(page, "mail_link_locked")

    client.submit("/account/mails", {}, page="/account/")
    user = user_by_id(db, alice.user.id)
    assert not any(wants_mail(user, kind) for kind in MailKind)
    assert user.patient.tell_gp_of_card_openings is False


# CSRF -------------------------------------------------------------------------------------------


def test_every_form_refuses_a_post_without_its_token(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    posts = {
        "/account/profile": {"locale": "en"},
        "/account/email": {"new_email": NEW_EMAIL, "email_password": PASSWORD},
        "/account/password": {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        "/account/mails": {"tell_gp_of_card_openings": "y"},
        "/account/delete": {"password": PASSWORD, "confirm": "y"},
    }
    for url, data in posts.items():
        assert client.post(url, data=data).status_code == 400, url
    user = user_by_id(db, alice.user.id)
    assert (user.locale, user.email, user.mail_choices) == ("fr", "alice@example.org", {})
    assert user.patient.tell_gp_of_card_openings is False
    assert accounts.authenticate("alice@example.org", PASSWORD).user is not None
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_the_confirmation_refuses_a_post_without_its_token(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    ask_email_change(client)
    link = confirm_link(app, db)
    assert client.post(link, data={}).status_code == 400
    assert user_by_id(db, alice.user.id).email == "alice@example.org"


# Signing out everywhere, and the patient's rights -----------------------------------------------


def test_signing_out_everywhere_from_the_account_page(client, other_client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    sign_in(other_client, "alice@example.org")
    response = client.submit("/auth/logout-everywhere", page="/account/")
    assert response.status_code == 303
    assert not signed_in(client) and not signed_in(other_client)
    assert sessions_of(db, alice.user) == 0


def test_the_former_address_of_the_deletion_page_sends_bookmarks_on(client, alice) -> None:
    sign_in(client, "alice@example.org")
    moved = client.get("/account/delete-account")
    assert moved.status_code == 308
    assert moved.headers["Location"] == "/account/delete"
    assert client.get("/account/delete").status_code == 200
    page = client.get("/account/my-data").get_data(as_text=True)
    assert 'href="/account/delete"' in page and 'href="/account/"' in page


def test_the_links_page_sends_to_the_account_page(client, alice) -> None:
    sign_in(client, "alice@example.org")
    page = client.get("/shares/").get_data(as_text=True)
    assert 'href="/account/#rights"' in page


def test_each_change_is_in_the_audit_trail(app, client, db, alice) -> None:
    sign_in(client, "alice@example.org")
    assert ask_email_change(client).status_code == 303
    assert client.submit(confirm_link(app, db), {}).status_code == 303
    assert change_password(client).status_code == 303
    events = {
        event.tag: event
        for event in db.scalars(select(AuditEvent).where(AuditEvent.actor_id == alice.user.id))
    }
    changed = events["auth:email:changed"]
    assert changed.patient_id == alice.id
    assert changed.details == {"email_domain": NEW_EMAIL.rpartition("@")[2]}  # not the address
    assert "auth:password:changed" in events and "auth:password:reset" not in events
