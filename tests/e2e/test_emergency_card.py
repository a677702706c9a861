"""The patient makes an emergency card; a paramedic scans its QR code and reads the vital facts."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Server, download, follow, fr, fr_her, qr_text, run_axe, screenshot

pytestmark = pytest.mark.e2e


def test_new_emergency_card_qr_opens_the_critical_facts(
    server: Server, patient_page: Any, stranger_page: Any
) -> None:
    page = patient_page
    page.goto("/card/")
    assert page.get_by_role("heading", level=1).inner_text() == fr("My emergency card")

    # A fresh card: withdraw the demo's, then create one with the suggested sections.
    # Withdrawing asks first: every printed card stops working.
    follow(page, page.get_by_role("link", name=fr("Withdraw my card…")))
    follow(page, page.get_by_role("button", name=fr("Withdraw my card")))
    follow(page, page.get_by_role("button", name=fr("Create my emergency card")))
    assert page.get_by_role("heading", name=fr("Your QR code")).is_visible()

    # The QR code to download and the one on screen both decode to the card's short link.
    link = qr_text(download(page, fr("QR code (PNG image)")))
    assert link.startswith(f"{server.url}/e/"), link
    on_screen = page.get_by_role("img", name=fr("QR code of your emergency card"))
    on_screen.scroll_into_view_if_needed()
    assert qr_text(on_screen.screenshot()) == link
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "05-emergency-card")

    # The demo's previous card no longer opens.
    old = stranger_page.goto(server.link("Emergency link"))
    assert old is not None and old.status == 410
    assert run_axe(stranger_page) == []

    # A paramedic scans the card: the facts that matter first, calls one tap away.
    responder = stranger_page
    response = responder.goto(link)
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert responder.get_by_role("heading", level=1).inner_text() == "Camille Lefèvre"
    text = responder.inner_text("body")
    for fact in (
        "Hydrocortisone 100 mg IV, ou IM/SC si pas d'abord veineux, immédiatement",
        "Lactose",
        "Pénicillines",
        "ORPHA:85138",
        "Éviter l'étomidate",
        "Julien Lefèvre",
    ):
        assert fact in text, fact
    assert "professeure des écoles" not in text  # the life context is not for responders
    assert "Préparer un voyage" not in text  # nor the ETP programme
    assert responder.locator('a[href^="tel:"]', has_text="06 98 76 54 32").count() == 1
    screenshot(responder, "06-emergency-view")

    # The crew names itself, after the facts; the patient sees who opened the card.
    follow(
        responder,
        responder.get_by_role("link", name=fr_her("Tell the patient who opened their card")),
    )
    responder.get_by_label(fr("Who are you? (e.g. SAMU 49, VSAV Angers)")).fill("SAMU 49")
    follow(responder, responder.get_by_role("button", name=fr("Send")))
    assert responder.get_by_role("status").inner_text() == fr(
        "Thank you. The patient will see who opened their card."
    )
    page.reload()
    openings = page.locator(".card-openings").inner_text()
    assert "SAMU 49" in openings
    assert link.rsplit("/", 1)[1] not in server.log_text()
