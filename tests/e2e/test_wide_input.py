"""Nothing widens a phone page: a 300-character word or a pasted web address, typed in every
free-text field, keeps every page of the patient, the recipient, the crew and the team within
390 px. (Runs last in the package: it writes into the demo's summary.)"""

from __future__ import annotations

from typing import Any

import pytest

from .support import PHONE, follow, fr, qr_link_of_card

pytestmark = pytest.mark.e2e

WORD = "Hydrocortisonehémisuccinate" * 11 + "abc"  # 300 characters, no break opportunity
URL = "https://www.orpha.net/fr/disease/detail/95409?" + "&".join(
    f"parametre{n}=valeur{n}" for n in range(12)
)
ITEM_SECTIONS = ("conditions", "treatments", "allergies", "emergency-contacts", "care-team")
SINGLE_SECTIONS = ("identity", "emergency-protocol", "life-context")


def width(page: Any) -> int:
    return int(page.evaluate("document.documentElement.scrollWidth"))


def assert_fits(page: Any, what: str) -> None:
    assert width(page) <= PHONE["width"], f"{what} is {width(page)} px wide: {page.url}"


def fill_every_box(page: Any, text: str) -> int:
    """Type the text in every visible free-text box of the page's main form."""
    boxes = page.locator(
        "main form textarea, main form input[type=text], main form input:not([type])"
    )
    filled = 0
    for box in boxes.all():
        if box.is_visible() and box.is_editable():
            box.fill(text)
            filled += 1
    return filled


def submit(page: Any) -> None:
    follow(page, page.locator("main form button[type=submit]").first)


def test_a_long_word_or_address_in_every_field_keeps_every_page_within_390_px(
    patient_page: Any, educator_page: Any, stranger_page: Any, server: Any
) -> None:
    page = patient_page
    for section in ITEM_SECTIONS:
        for text in (WORD, URL, WORD[:150]):
            page.goto(f"/patient/{section}/new")
            assert fill_every_box(page, text) >= 1, section
            submit(page)
            assert_fits(page, f"{section} after saving a long text")
        page.goto(f"/patient/{section}")
        assert_fits(page, f"the {section} list")
    for section in SINGLE_SECTIONS:
        for text in (WORD, URL):
            page.goto(f"/patient/{section}")
            fill_every_box(page, text)
            submit(page)
            assert_fits(page, f"{section} after saving a long text")
    for path in ("/patient/", "/shares/", "/shares/log", "/card/", "/programme/", "/inbox/"):
        page.goto(path)
        assert_fits(page, path)

    # A link whose recipient's name is one long word.
    page.goto("/shares/new?audience=gp")
    page.locator("main form input[name=label]").fill(WORD[:120])
    follow(page, page.get_by_role("button", name=fr("Create the link")))
    assert_fits(page, "the new link")
    link = page.locator("#share-url").input_value()

    # The recipient and the crew read it all on a phone.
    for address in (link, server.link("GP link")):
        stranger_page.goto(address)
        assert_fits(stranger_page, "the recipient's view")
    stranger_page.goto(qr_link_of_card(page))
    assert_fits(stranger_page, "the emergency view")

    # The team reads the patient's record.
    educator_page.goto("/team/")
    assert_fits(educator_page, "the team's list")
    follow(educator_page, educator_page.get_by_role("link", name="Camille Lefèvre").first)
    assert_fits(educator_page, "the team's record of the patient")
