"""Journeys on a 390 × 844 phone: nothing typed is lost, nothing is lost by one tap, the printed
card says when it is out of date, a new patient knows where to start. Every page visited fits
the phone's width.

The server is shared by the package: what a journey changes in the demo data it puts back.
"""

from __future__ import annotations

import email
import email.policy
import re
import secrets
import time
from pathlib import Path
from typing import Any

import pytest

from .support import PHONE, Server, follow, fr, qr_link_of_card

pytestmark = pytest.mark.e2e

VITAL = "Fludrocortisone 50 µg"  # a vital treatment of the demo patient
VITAL_DOSAGE = "1 comprimé le matin"
NEW_ALLERGY = "Arachide"
NEW_PASSWORD = "une longue phrase pour mon carnet de santé"


# Pages found wider than the phone during the current test: every journey goes to its end,
# then says which pages scrolled sideways (all of them at once).
TOO_WIDE: list[str] = []


@pytest.fixture(autouse=True)
def _widths() -> None:
    TOO_WIDE.clear()


def fits(page: Any) -> None:
    """Note the page if it scrolls sideways on the phone."""
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > PHONE["width"]:
        TOO_WIDE.append(f"{page.url} is {width} px wide")


def every_page_fitted() -> None:
    assert TOO_WIDE == [], "pages wider than the phone:\n" + "\n".join(TOO_WIDE)


def go(page: Any, address: str) -> Any:
    response = page.goto(address)
    fits(page)
    return response


def tap(page: Any, target: Any) -> Any:
    """Tap a link or a button, wait for the next page, check it fits; return its response."""
    response = follow(page, target)
    fits(page)
    return response


def main_text(page: Any) -> str:
    return str(page.locator("main").inner_text())


def long_text(sentence: str, length: int) -> str:
    """A text of exactly `length` characters, with no space at either end (fields are stripped)."""
    text = (sentence * (length // len(sentence) + 1))[: length - 1] + "."
    assert len(text) == length and text == text.strip()
    return text


def open_section(page: Any, section: str) -> None:
    """From the summary, tap the section's « Modifier »."""
    go(page, "/patient/")
    tap(page, page.locator(f"section#{section}").get_by_role("link", name=fr("Edit"), exact=True))


def item(page: Any, text: str) -> Any:
    """The item of a section's list that shows this text."""
    return page.locator("main li.card", has_text=text)


def test_nothing_typed_is_lost(patient_page: Any, educator_page: Any) -> None:
    # A reply of the GP, tapped in the inbox.
    page = patient_page
    go(page, "/inbox/")
    replies = page.get_by_role("region", name=fr("Replies from your professionals"))
    tap(page, replies.get_by_role("link", name="Dr Paul Martin"))
    assert re.search(r"/inbox/contributions/\d+$", page.url), page.url
    reply_page = page.url

    # One comment box, sent by every button of the page.
    assert page.locator("main textarea").count() == 1
    box = page.get_by_label(fr("Your comment"), exact=True)
    assert box.count() == 1
    assert box.input_value() == ""
    save = page.get_by_role("button", name=fr("Save my comment"))
    assert save.count() == 1

    # An empty comment saves nothing, and says so without a success message.
    for empty in ("", "   "):
        box.fill(empty)
        tap(page, save)
        assert page.locator(".flash-success").count() == 0, main_text(page)
        text = main_text(page)
        assert fr("Your comment is unchanged: there was nothing to save.") in text
        assert fr("Your comment is saved.") not in text

    # A comment too long is refused with a message, and stays in the box, whole.
    too_long = long_text("Je voudrais en parler à l'atelier de décembre. ", 2001)
    box.fill(too_long)
    assert box.input_value() == too_long
    refused = tap(page, save)
    assert refused.status == 422
    assert fr("This text is too long (%(max)d characters at most).", max=2000) in main_text(page)
    assert box.input_value() == too_long
    go(page, reply_page)
    assert box.input_value() == ""  # nothing half-saved

    # A comment typed and saved is there when the page is reloaded.
    comment = "D'accord pour en parler avec l'équipe en janvier."
    box.fill(comment)
    tap(page, save)
    assert fr("Your comment is saved.") in main_text(page)
    page.reload()
    fits(page)
    assert page.get_by_label(fr("Your comment"), exact=True).input_value() == comment

    # « Consignes » of 501 characters on a treatment: refused, kept whole in the field.
    open_section(page, "treatments")
    tap(page, item(page, "Lévothyroxine 75 µg").get_by_role("link", name=fr("Edit"), exact=True))
    instructions = page.get_by_label(fr("Instructions"), exact=True)
    assert instructions.get_attribute("maxlength") is None
    consignes = long_text("Prendre à jeun, une demi-heure avant le petit-déjeuner ; ", 501)
    instructions.fill(consignes)
    assert instructions.input_value() == consignes
    refused = tap(page, page.get_by_role("button", name=fr("Save"), exact=True))
    assert refused.status == 422
    message = fr("Too long: %(max)d characters at most.", max=500)
    error = page.locator(".field.has-error", has=instructions)
    assert message in error.inner_text()
    assert error.locator(".error").is_visible()
    assert instructions.input_value() == consignes
    go(page, "/patient/treatments")
    assert consignes[:60] not in main_text(page)

    # What the patient wants to discuss with the GP: written by the team on the enrollment's
    # page; 601 characters are refused and kept whole in the field.
    team = educator_page
    go(team, "/team/")
    tap(team, team.get_by_role("link", name="Camille Lefèvre").first)
    enrollment_page = team.url
    topics = team.get_by_label(fr("What the patient wants to discuss with their GP"), exact=True)
    assert topics.get_attribute("maxlength") is None
    before = topics.input_value()
    wanted = long_text("Les doses d'hydrocortisone pendant les infections de l'hiver ; ", 601)
    topics.fill(wanted)
    assert topics.input_value() == wanted
    refused = tap(team, team.locator("#bep").get_by_role("button", name=fr("Save"), exact=True))
    assert refused.status in (400, 422), refused.status
    field = team.locator(".field.has-error", has=topics)
    assert field.count() == 1, main_text(team)
    assert field.locator(".error").is_visible()
    assert "600 caractères" in field.locator(".error").inner_text()
    assert topics.input_value() == wanted
    go(team, enrollment_page)
    assert topics.input_value() == before  # nothing half-saved
    every_page_fitted()


def test_nothing_is_lost_by_one_tap(patient_page: Any, stranger_page: Any) -> None:
    page = patient_page

    # Deleting a vital treatment: a confirmation page that names it and says it is vital.
    open_section(page, "treatments")
    delete = item(page, VITAL).get_by_role("link", name=fr("Delete…"))
    tap(page, delete)
    assert page.get_by_role("heading", level=1).inner_text() == fr("Delete “%(name)s”?", name=VITAL)
    assert fr(
        "This is a vital treatment: crews read it on your emergency card. "
        "Delete it only if you no longer take it."
    ) in main_text(page)
    # Cancelling keeps it.
    tap(page, page.get_by_role("link", name=fr("Cancel"), exact=True))
    assert page.url.endswith("/patient/treatments")
    assert item(page, VITAL).count() == 1
    # Confirming deletes it.
    tap(page, delete)
    tap(page, page.get_by_role("button", name=fr("Delete"), exact=True))
    assert page.url.endswith("/patient/treatments")
    assert fr("Deleted.") in main_text(page)
    assert item(page, VITAL).count() == 0
    # Put it back as the demo had it.
    tap(page, page.get_by_role("link", name=fr("Add"), exact=True))
    page.get_by_label(fr("Treatment"), exact=True).fill(VITAL)
    page.get_by_label(fr("Dosage"), exact=True).fill(VITAL_DOSAGE)
    page.get_by_label(
        fr("Vital daily treatment (must never be stopped; shown first to emergency teams)")
    ).check()
    tap(page, page.get_by_role("button", name=fr("Save"), exact=True))
    assert fr("Critical: never stop") in item(page, VITAL).inner_text()

    # The card: replacing or withdrawing it asks first, and nothing is done by looking.
    link = qr_link_of_card(page)
    responder = stranger_page
    for action, title, consequence in (
        (
            "Create a new QR code…",
            "Create a new QR code?",
            "The QR code on every card you printed and on your lock-screen image stops "
            "working at once: a crew scanning it will no longer see your information. You "
            "will then print the new card and change your lock-screen image.",
        ),
        (
            "Withdraw my card…",
            "Withdraw your emergency card?",
            "Nobody will be able to open your emergency information with this card any more: "
            "the QR code on every printed card and on your lock-screen image stops working at "
            "once. You can create a new card later.",
        ),
    ):
        go(page, "/card/")
        tap(page, page.get_by_role("link", name=fr(action)))
        assert page.get_by_role("heading", level=1).inner_text() == fr(title)
        assert fr(consequence) in main_text(page)
        opened = go(responder, link)
        assert opened.status == 200, action
        tap(page, page.get_by_role("link", name=fr("Cancel"), exact=True))
        assert page.url.endswith("/card/")
    assert qr_link_of_card(page) == link
    assert go(responder, link).status == 200

    # Withdrawing a link to the summary asks first too.
    label = "Pharmacie du Centre, Trélazé"
    go(page, "/shares/new?audience=pharmacist")
    page.get_by_label(fr("Who is this link for?")).fill(label)
    tap(page, page.get_by_role("button", name=fr("Create the link")))
    shared = page.locator("#share-url").input_value()
    assert go(responder, shared).status == 200
    tap(page, page.get_by_role("link", name=fr("Withdraw the link…")))
    assert page.get_by_role("heading", level=1).inner_text() == fr(
        "Withdraw the link “%(label)s”?", label=label
    )
    assert fr(
        "The link stops working at once: whoever holds it, or its QR code, can no longer open "
        "your summary. This cannot be undone; you can renew it later, which makes a new link "
        "to send again."
    ) in main_text(page)
    assert go(responder, shared).status == 200
    tap(page, page.get_by_role("link", name=fr("Cancel"), exact=True))
    assert go(responder, shared).status == 200
    tap(page, page.get_by_role("link", name=fr("Withdraw the link…")))
    tap(page, page.get_by_role("button", name=fr("Withdraw the link"), exact=True))
    assert go(responder, shared).status == 410
    every_page_fitted()


def test_the_card_page_says_when_the_printed_card_is_out_of_date(
    patient_page: Any, stranger_page: Any
) -> None:
    page = patient_page
    # Someone opens the card, so that the card page lists an opening.
    go(stranger_page, qr_link_of_card(page))

    go(page, "/card/")
    qr = page.get_by_role("img", name=fr("QR code of your emergency card"))
    openings = page.get_by_role("region", name=fr("Openings of your emergency card"))
    assert qr.is_visible() and openings.count() == 1
    qr_box, openings_box = qr.bounding_box(), openings.bounding_box()
    assert qr_box is not None and openings_box is not None
    assert qr_box["y"] + qr_box["height"] <= openings_box["y"]

    # A new allergy: the page the patient lands on says the printed card no longer matches.
    open_section(page, "allergies")
    tap(page, page.get_by_role("link", name=fr("Add"), exact=True))
    page.get_by_label(fr("Substance"), exact=True).fill(NEW_ALLERGY)
    page.get_by_label(fr("Reaction"), exact=True).fill("Œdème de Quincke")
    page.get_by_label(fr("Severe reaction"), exact=True).check()
    tap(page, page.get_by_role("button", name=fr("Save"), exact=True))
    assert item(page, NEW_ALLERGY).count() == 1
    notice = page.locator(
        ".flash", has_text=fr("Your printed emergency card no longer matches your summary.")
    )
    assert notice.is_visible()
    assert notice.inner_text().startswith(
        "Votre carte d'urgence imprimée ne correspond plus à votre synthèse."
    )
    tap(page, notice.get_by_role("link", name=fr("Update it and print it again")))
    assert page.url.endswith("/card/")
    stale = page.get_by_role("heading", name=fr("Your printed card is out of date"))
    assert stale.is_visible()

    # Put the summary back as it was.
    open_section(page, "allergies")
    tap(page, item(page, NEW_ALLERGY).get_by_role("link", name=fr("Delete…")))
    tap(page, page.get_by_role("button", name=fr("Delete"), exact=True))
    assert item(page, NEW_ALLERGY).count() == 0
    every_page_fitted()


def invitation_link(outbox: Path, address: str, seconds: float = 10) -> str:
    """The invitation link of the mail sent to this address (sent just after the response)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in outbox.glob("*.eml") if outbox.exists() else ():
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address in str(message["To"]):
                body = message.get_body(preferencelist=("plain",))
                assert body is not None
                found = re.search(r"https?://\S+/auth/invitation/\S+", body.get_content())
                assert found, body.get_content()
                return found.group(0)
        time.sleep(0.1)
    raise AssertionError(f"no invitation was mailed to {address} in {seconds} s")


def test_a_new_patient_knows_where_to_start(
    server: Server, educator_page: Any, stranger_page: Any
) -> None:
    # The team enrols a new patient, who gets an invitation by email.
    team = educator_page
    address = f"nina.roux.{secrets.token_hex(4)}@example.org"
    go(team, "/team/")
    tap(team, team.get_by_role("link", name=fr("Enrol a patient")))
    team.get_by_label(fr("First name"), exact=True).fill("Nina")
    team.get_by_label(fr("Last name"), exact=True).fill("Roux")
    team.get_by_label(fr("Date of birth"), exact=True).fill("1990-05-06")
    team.get_by_label(fr("Patient's email address"), exact=True).fill(address)
    tap(team, team.get_by_role("button", name=fr("Enrol and send the invitation")))
    assert fr("The patient is enrolled and has been sent an invitation.") in main_text(team)

    # She opens the invitation on her phone and chooses her password.
    page = stranger_page
    go(page, invitation_link(server.outbox, address))
    page.get_by_label(fr("New password"), exact=True).fill(NEW_PASSWORD)
    page.get_by_label(fr("Confirm the password"), exact=True).fill(NEW_PASSWORD)
    tap(page, page.get_by_role("button", name=fr("Create my account")))
    assert page.url.endswith("/patient/"), page.url
    assert page.get_by_role("heading", level=1).inner_text() == fr("My summary")

    # Her summary is almost empty: the first steps come first, before any empty section.
    steps = page.get_by_role("region", name=fr("First steps"))
    assert steps.is_visible()
    for title, address_part in (
        ("Fill in what a crew needs in an emergency", "/patient/emergency-protocol"),
        ("Make your emergency card", "/card/"),
        ("Share your summary with your GP", "/shares/new?audience=gp"),
    ):
        step = steps.get_by_role("link", name=fr(title))
        assert step.count() == 1, title
        assert address_part in step.get_attribute("href")
    text = main_text(page)
    nothing = fr("Nothing recorded.")
    assert nothing not in text or text.index(fr("First steps")) < text.index(nothing)
    box = steps.bounding_box()
    assert box is not None
    for empty in page.locator("main").get_by_text(nothing, exact=True).all():
        empty_box = empty.bounding_box()
        assert empty_box is not None and box["y"] < empty_box["y"]

    # Each step leads where it says.
    tap(page, steps.get_by_role("link", name=fr("Make your emergency card")))
    assert page.get_by_role("heading", level=1).inner_text() == fr("My emergency card")
    go(page, "/patient/")
    tap(page, page.get_by_role("link", name=fr("Fill in what a crew needs in an emergency")))
    assert page.url.endswith("/patient/emergency-protocol")
    go(page, "/patient/")
    tap(page, page.get_by_role("link", name=fr("Share your summary with your GP")))
    assert "/shares/new" in page.url
    every_page_fitted()
