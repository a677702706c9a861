"""Accessibility of the main pages: axe-core audit, labels, language, focus, keyboard reach."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .support import (
    DEMO_PASSWORD,
    PATIENT_EMAIL,
    Server,
    follow,
    fr,
    fr_her,
    qr_link_of_card,
    run_axe,
)

pytestmark = pytest.mark.e2e


def open_enrollment(page: Any, server: Server) -> None:
    page.goto("/team/")
    follow(page, page.get_by_role("link", name="Camille Lefèvre").first)


def open_letter_preview(page: Any, server: Server) -> None:
    open_enrollment(page, server)
    follow(page, page.locator("#letters").get_by_role("link", name=fr("Preview and issue")).first)


def open_share_preview(page: Any, server: Server) -> None:
    page.goto("/shares/new?audience=pharmacist")
    page.get_by_label(fr("Who is this link for?")).fill("Pharmacie du Centre")
    follow(page, page.get_by_role("button", name=fr("Preview what they will see")))


def open_emergency_view(page: Any, server: Server) -> None:
    page.goto(qr_link_of_card(page))


def open_naming_page(page: Any, server: Server) -> None:
    open_emergency_view(page, server)
    follow(page, page.get_by_role("link", name=fr_her("Tell the patient who opened their card")))


def go(path: str) -> Callable[[Any, Server], None]:
    return lambda page, server: page.goto(path)


# id: (who, how to get there). "patient" and "educator" are signed in; "visitor" has no account.
PAGES: dict[str, tuple[str, Callable[[Any, Server], Any]]] = {
    "home": ("visitor", go("/")),
    "sign-in": ("visitor", go("/auth/login")),
    "recipient-view": ("visitor", lambda page, server: page.goto(server.link("GP link"))),
    "invalid-link": ("visitor", go("/s/not-a-valid-token")),
    "patient-summary": ("patient", go("/patient/")),
    "share-choice": ("patient", go("/shares/new")),
    "share-creation-preview": ("patient", open_share_preview),
    "my-links": ("patient", go("/shares/")),
    "emergency-card": ("patient", go("/card/")),
    "emergency-view": ("patient", open_emergency_view),
    "emergency-naming": ("patient", open_naming_page),
    "programme": ("patient", go("/programme/")),
    "patient-inbox": ("patient", go("/inbox/")),
    "team": ("educator", go("/team/")),
    "enrollment": ("educator", open_enrollment),
    "letter-preview": ("educator", open_letter_preview),
    "team-inbox": ("educator", go("/inbox/")),
}

PERSONAS = {"visitor": "stranger_page", "patient": "patient_page", "educator": "educator_page"}

FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]),"
    " select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])"
)


@pytest.fixture(params=list(PAGES), ids=list(PAGES))
def audited(request: pytest.FixtureRequest, server: Server) -> Any:
    """The page under audit, opened by the right person."""
    who, navigate = PAGES[request.param]
    page = request.getfixturevalue(PERSONAS[who])
    navigate(page, server)
    page.wait_for_load_state()
    return page


def test_page_is_accessible(audited: Any) -> None:
    """One visit per page, every check: axe audit, language, labels, keyboard and focus."""
    page = audited
    violations = run_axe(page)
    assert violations == [], "\n".join(
        f"{v['impact']} {v['id']}: {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in violations
    )
    assert page.evaluate("document.documentElement.lang") == "fr"
    assert unlabelled_fields(page) == []
    reached_all, no_focus_style = tab_through(page)
    assert no_focus_style == [], "focused without a visible focus indicator"
    assert reached_all == [], "not reachable with the Tab key"
    assert sideways(page) == [], "wider than a 390 px phone"


def sideways(page: Any) -> list[str]:
    """The page itself, and any part of it, that must be scrolled sideways on the phone.

    A row of section links (nav) may scroll: it is a menu of chips, not content.
    """
    return page.evaluate(
        """() => {
          const root = document.documentElement;
          const wide = root.scrollWidth > window.innerWidth ? ["the page"] : [];
          for (const element of document.body.querySelectorAll("*")) {
            const overflow = getComputedStyle(element).overflowX;
            const scrolls = ["auto", "scroll"].includes(overflow) && element.tagName !== "NAV";
            if (scrolls && element.scrollWidth > element.clientWidth + 1) {
              wide.push(element.tagName.toLowerCase() + "." + element.className);
            }
          }
          return wide;
        }"""
    )


def test_audit_reports_a_planted_unlabelled_field_and_low_contrast(stranger_page: Any) -> None:
    """The audit is not vacuous: it finds what it must find."""
    page = stranger_page
    page.goto("/auth/login")
    page.evaluate(
        """() => {
            const main = document.querySelector('main');
            main.appendChild(document.createElement('input'));
            const faint = document.createElement('p');
            faint.textContent = 'faint';
            faint.style.color = '#dddddd';
            main.appendChild(faint);
        }"""
    )
    found = {v["id"] for v in run_axe(page)}
    assert {"label", "color-contrast"} <= found
    assert unlabelled_fields(page) != []


def unlabelled_fields(page: Any) -> list[str]:
    """Form fields with no label, aria-label or aria-labelledby."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
                "input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea")]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.outerHTML.slice(0, 120))"""
    )


def tab_through(page: Any) -> tuple[list[str], list[str]]:
    """Press Tab through the page: the controls never reached, and those focused without a ring."""
    controls = page.evaluate(
        """(selector) => {
            const visible = el => el.getClientRects().length > 0
                && getComputedStyle(el).visibility !== 'hidden';
            const all = [...document.querySelectorAll(selector)].filter(visible);
            // Tab enters a group of radio buttons once (arrows move inside): one stop per group.
            const groups = new Map();
            let stops = 0;
            for (const el of all) {
                const form = el.form ? [...document.forms].indexOf(el.form) : -1;
                const group = el.type === 'radio' ? `${form}/${el.name}` : null;
                if (group !== null && groups.has(group)) {
                    el.dataset.e2eFocusIndex = groups.get(group);
                    continue;
                }
                el.dataset.e2eFocusIndex = String(stops);
                if (group !== null) groups.set(group, String(stops));
                stops += 1;
            }
            return stops;
        }""",
        FOCUSABLE,
    )
    assert controls > 0
    page.evaluate(
        "() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }"
    )
    reached: set[int] = set()
    no_focus_style: list[str] = []
    for _ in range(controls + 5):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const style = getComputedStyle(el);
                const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                    || style.boxShadow !== 'none';
                return {index: el.dataset.e2eFocusIndex ?? null, ring,
                        html: el.outerHTML.slice(0, 100)};
            }"""
        )
        if focused is None:
            continue
        if focused["index"] is not None:
            reached.add(int(focused["index"]))
        if not focused["ring"]:
            no_focus_style.append(focused["html"])
        if len(reached) == controls:
            break
    missing = page.evaluate(
        """(reached) => [...document.querySelectorAll('[data-e2e-focus-index]')]
            .filter(el => !reached.includes(Number(el.dataset.e2eFocusIndex)))
            .map(el => el.outerHTML.slice(0, 100))""",
        sorted(reached),
    )
    return missing, no_focus_style


def test_patient_signs_in_with_the_keyboard_alone(stranger_page: Any) -> None:
    page = stranger_page
    page.goto("/auth/login")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name=fr("Skip to content"))
    assert page.evaluate("document.activeElement.textContent.trim()") == fr("Skip to content")
    box = skip.bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0  # on screen once focused
    focused_label = "document.activeElement.labels?.[0]?.textContent.trim() ?? null"
    for _ in range(30):
        if page.evaluate(focused_label) == fr("Email address"):
            break
        page.keyboard.press("Tab")
    else:
        pytest.fail("the email field cannot be reached with the Tab key")
    page.keyboard.type(PATIENT_EMAIL)
    page.keyboard.press("Tab")
    assert page.evaluate(focused_label) == fr("Password")
    page.keyboard.type(DEMO_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/patient/")
    assert page.get_by_role("heading", level=1).inner_text() == fr("My summary")
