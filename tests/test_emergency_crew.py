"""The emergency card follows the crew that opens it: the person to call near the top, the
browser's language or the one its switch asks for (the same opening, not another), the
numbers to call when a card opens nothing, the contact on the lock screen, dates in French."""

from __future__ import annotations

import datetime as dt
import json
import re
from html import unescape

import pytest
from flask_babel import force_locale
from PIL import Image, ImageDraw
from sqlalchemy import select

from pathway import tokens
from pathway.cards import artifacts
from pathway.cards.facts import MAX_ACTION, clip
from pathway.cards.lockscreen import lockscreen_layout, lockscreen_lines
from pathway.cards.patient_routes import local_time
from pathway.cards.service import regenerate_card
from pathway.db import utcnow
from pathway.models import AccessEvent, Notification
from pathway.sharing import shares
from tests.conftest import PUBLIC_BASE_URL
from tests.factories import PASSWORD, count, events_of, make_card, path_of, sign_in

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.8"}
CONTACT_CALL = 'href="tel:0600000001"'  # Alice's emergency contact


def language_link(html: str) -> tuple[str, str]:
    """The page's language switch: its URL and the language it asks for."""
    found = re.search(r'<nav class="languages".*?</nav>', html, re.S)
    assert found, "the page has a language switch"
    link = re.search(r'<a href="([^"]+)" lang="(\w+)"', found.group(0))
    assert link, found.group(0)
    return unescape(link.group(1)), link.group(2)


def notices(db, patient) -> int:
    return len(
        db.scalars(select(Notification).where(Notification.user_id == patient.user_id)).all()
    )


# The person to call comes right after the action and the allergies -------------------------


def test_the_contacts_call_link_follows_the_action_and_the_allergies(app, client, alice) -> None:
    html = client.get(path_of(make_card(alice))).get_data(as_text=True)
    call = html.index(CONTACT_CALL)
    assert html.count(CONTACT_CALL) == 1
    assert html.index("Alice critical action") < call
    assert html.index("Alice allergen") < call
    # Before the long sections, which all stay on the page.
    for later in (
        "Alice what to do",
        "Alice what to avoid",
        "Alice situations",
        "Alice critical drug",
        "Alice condition</strong>",
        "Alice reference centre",
    ):
        assert call < html.index(later), later
    assert "Personnes à prévenir" in html and "Contacts" in html


# The browser's language --------------------------------------------------------------------


def test_without_account_or_cookie_the_browsers_language_is_used(app, client, alice) -> None:
    card_path = path_of(make_card(alice))
    english = client.get(card_path, headers=ENGLISH)
    html = english.get_data(as_text=True)
    assert '<html lang="en">' in html and "Immediately" in html
    assert "Accept-Language" in english.headers["Vary"]
    french = client.get(card_path, headers=FRENCH)
    assert '<html lang="fr">' in french.get_data(as_text=True)
    assert "Accept-Language" in french.headers["Vary"]
    # A language the app does not have, or no header at all: French.
    for headers in ({"Accept-Language": "de-DE,de;q=0.9"}, {}):
        assert '<html lang="fr">' in client.get(card_path, headers=headers).get_data(as_text=True)


def test_the_remembered_choice_and_the_account_come_before_the_browser(
    app, client, other_client, alice, bob
) -> None:
    card_path = path_of(make_card(alice))
    client.set_cookie("lang", "fr", domain="pathway.test")
    chosen = client.get(card_path, headers=ENGLISH)
    assert '<html lang="fr">' in chosen.get_data(as_text=True)
    assert "Accept-Language" not in chosen.headers.get("Vary", "")
    sign_in(other_client, "bob@example.org")  # Bob's account is in French
    signed_in = other_client.get(card_path, headers=ENGLISH)
    assert '<html lang="fr">' in signed_in.get_data(as_text=True)
    assert "Accept-Language" not in signed_in.headers.get("Vary", "")


def test_other_pages_follow_the_browsers_language_too(app, client) -> None:
    response = client.get("/auth/login", headers=ENGLISH)
    assert '<html lang="en"' in response.get_data(as_text=True)
    assert "Accept-Language" in response.headers["Vary"]


def test_an_english_opening_never_gets_the_french_stored_page_or_the_reverse(
    app, client, alice
) -> None:
    card_path = path_of(make_card(alice))
    for _round in range(2):  # rendered and stored, then read from the stored pages
        for headers, lang, text, other in (
            (FRENCH, "fr", "Immédiatement", "Immediately"),
            (ENGLISH, "en", "Immediately", "Immédiatement"),
        ):
            html = client.get(card_path, headers=headers).get_data(as_text=True)
            assert f'<html lang="{lang}">' in html
            assert f"<h2>{text}</h2>" in html and f"<h2>{other}</h2>" not in html
    assert events_of(alice.shares[0]) == 4


# The language switch: the same opening, in the other language -------------------------------


def test_the_switch_renders_english_without_a_second_opening(app, client, db, alice) -> None:
    card = make_card(alice)
    french = client.get(path_of(card)).get_data(as_text=True)
    assert '<html lang="fr">' in french
    url, lang = language_link(french)
    assert lang == "en" and url.startswith(path_of(card) + "?")
    assert "lang=en" in url and "opening=" in url
    english = client.get(url)
    assert english.status_code == 200
    html = english.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Immediately" in html and "Emergency contacts" in html and "Allergies" in html
    assert "Set-Cookie" not in english.headers  # nothing kept in the browser
    assert events_of(card) == 1
    assert notices(db, alice) == 1
    # And back to French: still that one opening.
    back_url, back_lang = language_link(html)
    assert back_lang == "fr"
    assert '<html lang="fr">' in client.get(back_url).get_data(as_text=True)
    assert events_of(card) == 1
    assert count(AccessEvent) == 1


def test_after_the_switch_the_crew_still_names_that_opening(app, client, db, alice) -> None:
    card = make_card(alice)
    url, _lang = language_link(client.get(path_of(card)).get_data(as_text=True))
    english = client.get(url).get_data(as_text=True)
    naming = re.search(r'href="(/e/[^"/]+/who/[^"]+)"', english)
    assert naming
    path = unescape(naming.group(1))
    assert "lang=en" in path
    form = client.get(path).get_data(as_text=True)
    assert '<html lang="en">' in form
    client.submit(path, {"viewer": "SAMU 49"})
    assert db.scalars(select(AccessEvent.viewer).where(AccessEvent.share_id == card.id)).all() == [
        "SAMU 49"
    ]


def test_a_forged_foreign_or_old_reference_is_an_opening_of_its_own(
    app, client, db, alice, bob
) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    url, _lang = language_link(client.get(card_path).get_data(as_text=True))
    reference = re.search(r"opening=([^&]+)", url).group(1)
    other_card = make_card(bob)
    foreign_url, _ = language_link(client.get(path_of(other_card)).get_data(as_text=True))
    foreign = re.search(r"opening=([^&]+)", foreign_url).group(1)
    with app.test_request_context():
        unsigned = tokens.sign_ids(tokens.Purpose.SHARE, 1, None)  # another purpose's
    for forged in (
        reference[:-3] + "xyz",
        "not-a-reference",
        "12-.",
        unsigned,
        foreign,  # an opening of another card
        "é" * 300,
    ):
        response = client.get(card_path, query_string={"lang": "en", "opening": forged})
        assert response.status_code == 200, forged
        assert '<html lang="en">' in response.get_data(as_text=True)
    assert events_of(card) == 7
    # An opening too old to be the same one.
    event = db.scalars(select(AccessEvent).where(AccessEvent.share_id == card.id)).first()
    event.occurred_at = utcnow() - dt.timedelta(hours=3)
    db.flush()
    client.get(url)
    assert events_of(card) == 8


def test_one_opening_and_one_switch_make_one_event_a_forged_one_two(app, client, alice) -> None:
    card = make_card(alice)
    card_path = path_of(card)
    url, _lang = language_link(client.get(card_path).get_data(as_text=True))
    client.get(url)
    assert events_of(card) == 1
    client.get(url.replace("opening=", "opening=0"))
    assert events_of(card) == 2


def test_an_unknown_language_is_ignored(app, client, alice) -> None:
    response = client.get(path_of(make_card(alice)), query_string={"lang": "de"})
    assert response.status_code == 200
    assert '<html lang="fr">' in response.get_data(as_text=True)


# A card that opens nothing: the numbers to call ---------------------------------------------


def assert_numbers_to_call(html: str) -> None:
    assert 'href="tel:15"' in html and 'href="tel:112"' in html
    assert "Page introuvable" not in html and "Page not found" not in html


def test_an_unknown_token_answers_the_numbers_to_call(app, client) -> None:
    response = client.get("/e/anything")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert_numbers_to_call(html)
    assert "Appeler le 15 (SAMU)" in html and "Ce lien n'ouvre aucune carte d'urgence" in html
    english = client.get("/e/anything", headers=ENGLISH).get_data(as_text=True)
    assert_numbers_to_call(english)
    assert "Call 15 (SAMU)" in english and "Call 112" in english
    assert "Call 15 (SAMU)" in client.get("/e/anything?lang=en").get_data(as_text=True)
    assert count(AccessEvent) == 0


def test_a_replaced_card_answers_410_with_the_numbers_to_call(app, client, alice) -> None:
    card = make_card(alice)
    old_path = path_of(card)
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        regenerate_card(card, actor=alice.user)
    response = client.get(old_path, headers=ENGLISH)
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert_numbers_to_call(html)
    assert "replaced this card" in html and "Call 15 (SAMU)" in html
    assert "Alice" not in html


def test_a_card_whose_patient_deleted_their_account_answers_the_numbers_to_call(
    app, client, db, alice
) -> None:
    card_path = path_of(make_card(alice))
    db.commit()
    sign_in(client, "alice@example.org")
    deleted = client.submit("/account/delete-account", {"password": PASSWORD, "confirm": "y"})
    assert deleted.status_code == 303
    response = client.get(card_path)
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert_numbers_to_call(html)
    assert "Alice" not in html


def test_a_garbled_naming_link_answers_the_numbers_to_call(app, client, alice) -> None:
    token = shares.share_token(make_card(alice))
    response = client.get(f"/e/{token}/who/not-a-reference")
    assert response.status_code == 404
    assert_numbers_to_call(response.get_data(as_text=True))


# The lock-screen image and the card page's dates -------------------------------------------


def test_the_lockscreen_carries_the_emergency_contacts_name_and_number(app, alice) -> None:
    card = make_card(alice)
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        facts = json.loads(artifacts.artifact(card, artifacts.FACTS).data)
    with app.test_request_context(), force_locale("fr"):
        lines = [line[0] for line in lockscreen_lines(facts)]
    (contact,) = [line for line in lines if "Alice contact" in line]
    assert "06 00 00 00 01" in contact


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("fr", "1er décembre 2025, 15:30"), ("en", "1 December 2025, 15:30")],
)
def test_card_page_dates_print_the_first_of_the_month_in_french(
    app, locale: str, expected: str
) -> None:
    moment = dt.datetime(2025, 12, 1, 14, 30, tzinfo=dt.UTC)  # 15:30 in Paris
    with app.test_request_context(), force_locale(locale):
        assert local_time(moment) == expected
        assert local_time(moment + dt.timedelta(days=1)).startswith("2 ")


def crowded_facts() -> dict:
    """A lock screen too full for every fact, each within what the card's facts allow."""
    condition = {
        "label": "Insuffisance surrénalienne primaire (maladie d'Addison) auto-immune",
        "orphacode": "85138",
        "is_rare": True,
    }
    allergies = [
        {"substance": substance, "is_severe": severe}
        for substance, severe in (("Pénicillines", True), ("Latex", True), ("Aspirine", False))
    ]
    intolerances = [
        {"substance": substance, "is_severe": False}
        for substance in ("Lactose", "Gluten", "Codéine", "Tramadol")
    ]
    return {
        "locale": "fr",
        "full_name": clip("Camille-Marie Lefèvre-Durand de la Fontaine-Saint-Martin", 60),
        "birth_date": "1990-01-01",
        "conditions": [condition],
        "more_conditions": 0,
        "immediate_action": clip(
            "Hydrocortisone 100 mg IV, ou IM/SC si pas d'abord veineux, immédiatement, puis "
            "200 mg sur 24 h en continu ; remplissage par sérum salé isotonique 1 L en 1 h",
            MAX_ACTION,
        ),
        "allergies": allergies,
        "more_allergies": 0,
        "intolerances": intolerances,
        "more_intolerances": 1,
        "vital_treatment": clip(
            "Hydrocortisone 20 mg le matin, 10 mg à midi ; fludrocortisone 50 µg le matin ; "
            "doubler les doses en cas de fièvre, injecter si vomissements",
            MAX_ACTION,
        ),
        "contacts": [
            {"name": "Julien Lefèvre", "relationship": "Conjoint", "phone": "06 98 76 54 32"}
        ],
    }


def test_a_crowded_lockscreen_still_draws_the_contact(app) -> None:
    facts = crowded_facts()
    with app.test_request_context(), force_locale("fr"):
        lines = lockscreen_lines(facts)
        draw = ImageDraw.Draw(Image.new("RGB", (1170, 2532)))
        drawn = " ".join(placed.text for placed in lockscreen_layout(draw, lines))
    assert "Ne jamais arrêter" not in drawn  # crowded: the last facts are left out
    assert "Julien Lefèvre" in drawn and "06 98 76 54 32" in drawn, drawn
