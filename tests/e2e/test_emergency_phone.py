"""A crew reads the emergency card on a phone: the person to call near the top, its language."""

from __future__ import annotations

from typing import Any

import pytest

from .support import PHONE, Phones, follow, fr, qr_link_of_card

pytestmark = pytest.mark.e2e

# Within the first screen and a half of a 390 × 844 phone.
FIRST_SCREENS = 1.5 * PHONE["height"]
CONTACT_PHONE = "06 98 76 54 32"  # the demo patient's emergency contact


def test_the_person_to_call_is_within_the_first_screen_and_a_half(
    patient_page: Any, stranger_page: Any
) -> None:
    link = qr_link_of_card(patient_page)
    responder = stranger_page
    response = responder.goto(link)
    assert response is not None and response.status == 200
    assert responder.viewport_size == PHONE
    # The demo's protocol is long: what to do, what to avoid, situations, treatments.
    assert responder.evaluate("document.documentElement.scrollHeight") > 2 * PHONE["height"]
    call = responder.locator('a[href^="tel:"]', has_text=CONTACT_PHONE)
    assert call.count() == 1
    box = call.bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= FIRST_SCREENS, box
    # After the immediate action and the allergies, which stay first.
    for first in (".critical", ".danger"):
        above = responder.locator(first).first.bounding_box()
        assert above is not None and above["y"] < box["y"], first


def test_the_crew_switches_the_card_to_english_and_back_without_a_cookie(
    patient_page: Any, stranger_page: Any
) -> None:
    link = qr_link_of_card(patient_page)
    responder = stranger_page
    responder.goto(link)
    assert responder.locator("html").get_attribute("lang") == "fr"
    english = follow(responder, responder.get_by_role("link", name="English"))
    assert english.status == 200
    assert "lang=en" in responder.url
    assert responder.locator("html").get_attribute("lang") == "en"
    assert responder.get_by_role("heading", name="Immediately").is_visible()
    assert responder.context.cookies() == []
    follow(responder, responder.get_by_role("link", name="Français"))
    assert responder.locator("html").get_attribute("lang") == "fr"
    assert responder.get_by_role("heading", name=fr("Immediately")).is_visible()


def test_a_phone_set_to_english_reads_the_card_in_english(
    patient_page: Any, phones: Phones
) -> None:
    link = qr_link_of_card(patient_page)
    context = phones.browser.new_context(
        base_url=phones.server.url, viewport=PHONE, is_mobile=True, locale="en-GB"
    )
    phones.contexts.append(context)
    page = context.new_page()
    response = page.goto(link)
    assert response is not None and response.status == 200
    assert page.locator("html").get_attribute("lang") == "en"
    assert "accept-language" in response.headers.get("vary", "").lower()
    assert page.get_by_role("heading", name="Immediately").is_visible()
