"""After a change the printed emergency card shows, the page the patient saved says that the
card in their wallet is out of date, with the way to print it again; after any other change,
or without a card, it says nothing of the kind."""

from __future__ import annotations

from html import unescape

import pytest

from tests.factories import make_card, sign_in

NOTICE = "Votre carte d'urgence imprimée ne correspond plus à votre synthèse."


@pytest.fixture(autouse=True)
def alice_signed_in(client, alice) -> None:
    sign_in(client, "alice@example.org")


def landed(client, response) -> str:
    assert response.status_code == 302, response.status_code
    return unescape(client.get(response.headers["Location"]).get_data(as_text=True))


def test_a_new_allergy_tells_the_card_is_out_of_date(client, alice) -> None:
    make_card(alice)
    page = landed(client, client.submit("/patient/allergies/new", {"substance": "Latex"}))
    assert "Enregistré." in page
    notice = page[page.index(NOTICE) :]
    assert 'href="/card/"' in notice[:300]


def test_deleting_an_allergy_on_the_card_tells_it_too(client, db, alice) -> None:
    make_card(alice)
    allergy = alice.allergies[0]
    url = f"/patient/allergies/{allergy.id}/delete"
    page = landed(client, client.submit(url, {}, page="/patient/allergies"))
    assert "Supprimé." in page and NOTICE in page


def test_a_change_the_card_does_not_show_says_nothing(client, alice) -> None:
    make_card(alice)
    page = landed(client, client.submit("/patient/life-context", {"text": "Je suis enseignante."}))
    assert "Enregistré." in page and NOTICE not in page


def test_without_a_card_nothing_is_said(client, alice) -> None:
    page = landed(client, client.submit("/patient/allergies/new", {"substance": "Latex"}))
    assert "Enregistré." in page and NOTICE not in page


def test_a_refused_change_says_nothing(client, alice) -> None:
    make_card(alice)
    response = client.submit("/patient/allergies/new", {"substance": ""})
    page = unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and NOTICE not in page
