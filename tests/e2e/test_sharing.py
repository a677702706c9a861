"""The patient shares chosen sections with a GP, who opens the link, until it is withdrawn."""

from __future__ import annotations

import re
from typing import Any

import pytest

from pathway.sharing.sections import SECTION_LABELS, Section

from .support import PATIENT_EMAIL, Server, follow, fr, fr_label, run_axe, screenshot, sign_in

pytestmark = pytest.mark.e2e

CHOSEN = [Section.IDENTITY, Section.TREATMENTS, Section.ALLERGIES]
# One sentence of the demo data per section: present when shared, absent otherwise.
SENTINELS = {
    Section.IDENTITY: "12 avril 1988",
    Section.TREATMENTS: "Lévothyroxine 75 µg",
    Section.ALLERGIES: "Urticaire généralisée",
    Section.CONDITIONS: "thyroïdite de Hashimoto",
    Section.EMERGENCY_PROTOCOL: "étomidate",
    Section.EMERGENCY_CONTACTS: "Julien Lefèvre",
    Section.CARE_TEAM: "Pharmacie du Centre",
    Section.ETP_PROGRESS: "Préparer un voyage à l'étranger",
    Section.LIFE_CONTEXT: "professeure des écoles",
}


def assert_shows_exactly(page: Any, scope: str, sections: list[Section]) -> None:
    """The page shows these sections, in this order, and no sentence of any other."""
    shown = page.locator(f"{scope} section.summary-section").evaluate_all(
        "nodes => nodes.map(n => n.id)"
    )
    assert shown == [s.value for s in sections]
    text = page.locator(scope).first.inner_text()
    for section, sentinel in SENTINELS.items():
        if section in sections:
            assert sentinel in text, f"{section} was shared but {sentinel!r} is missing"
        else:
            assert sentinel not in text, f"{section} was not shared but {sentinel!r} is shown"


def test_patient_signs_in_and_lands_on_the_summary(stranger_page: Any) -> None:
    page = stranger_page
    sign_in(page, PATIENT_EMAIL)
    assert page.url.endswith("/patient/")
    assert page.get_by_role("heading", level=1).inner_text() == fr("My summary")
    shown = page.locator("section.summary-section").evaluate_all("nodes => nodes.map(n => n.id)")
    assert shown == [section.value for section in Section]
    assert "Pénicillines" in page.inner_text("main")
    screenshot(page, "01-patient-summary")


def test_gp_share_shows_exactly_the_chosen_sections_until_withdrawn(
    server: Server, patient_page: Any, stranger_page: Any
) -> None:
    page = patient_page
    page.goto("/patient/")
    follow(page, page.get_by_role("link", name=fr("Share my summary")).first)
    follow(page, page.get_by_role("link", name=fr("General practitioner (médecin traitant)")))
    page.get_by_label(fr("Who is this link for?")).fill("Dr Anne Roux, maison de santé d'Avrillé")
    for section in Section:
        box = page.get_by_role("checkbox", name=fr_label(SECTION_LABELS[section]), exact=True)
        box.set_checked(section in CHOSEN)
    page.get_by_role("radio", name=fr("7 days")).check()
    follow(page, page.get_by_role("button", name=fr("Preview what they will see")))

    # The preview is exactly what the GP will see.
    assert_shows_exactly(page, "#preview", CHOSEN)
    page.locator("#preview-title").evaluate("heading => heading.scrollIntoView({block: 'start'})")
    screenshot(page, "02-share-preview")

    follow(page, page.get_by_role("button", name=fr("Create the link")))
    link = page.locator("#share-url").input_value()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/s/[\w.-]+", link), link

    # The GP: another person, another browser, no account.
    gp = stranger_page
    response = gp.goto(link)
    assert response is not None and response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "no-store" in response.headers["cache-control"]
    assert "noindex" in response.headers["x-robots-tag"]
    assert gp.get_by_role("heading", level=1).inner_text() == "Camille Lefèvre"
    assert_shows_exactly(gp, "main", CHOSEN)
    screenshot(gp, "03-recipient-view")

    # The patient sees the opening, then withdraws the link.
    page.reload()
    assert fr("Nobody has opened this yet.") not in page.inner_text("main")
    # It asks first, saying what will happen; nothing is withdrawn until confirmed.
    follow(page, page.get_by_role("link", name=fr("Withdraw the link…")))
    assert gp.reload().status == 200
    follow(page, page.get_by_role("button", name=fr("Withdraw the link")))
    assert page.get_by_role("link", name=fr("Withdraw the link…")).count() == 0
    assert page.get_by_role("link", name=fr("Renew this link")).count() == 1

    response = gp.reload()
    assert response is not None and response.status == 410
    assert gp.get_by_role("heading", level=1).inner_text() == fr("This link has been withdrawn")
    assert "Pénicillines" not in gp.content()
    assert run_axe(gp) == []
    screenshot(gp, "04-link-withdrawn-410")

    # The link is a credential: the server's access log shows the route, never the token.
    log = server.log_text()
    assert "/s/<token>" in log
    assert link.rsplit("/", 1)[1] not in log
