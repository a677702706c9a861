"""The educator records the patient's agreement, issues the start letter and downloads its PDF."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from .support import follow, fr, fr_her, screenshot

pytestmark = pytest.mark.e2e

START_TITLE = "Summary of the Shared Educational Assessment and of the personalised programme"


def start_letter_card(page: Any) -> Any:
    """The start letter's box in the enrollment's letters section."""
    return page.locator("#letters li", has_text=fr(START_TITLE))


def test_educator_issues_the_start_letter_only_with_the_patients_agreement(
    educator_page: Any,
) -> None:
    page = educator_page
    page.goto("/team/")
    follow(page, page.get_by_role("link", name="Camille Lefèvre").first)
    assert page.get_by_role("heading", level=1).inner_text() == "Camille Lefèvre"
    screenshot(page, "07-educator-enrollment")

    # Without the agreement, no letter can be issued.
    consent = page.locator("#consent")
    withdraw = consent.get_by_role(
        "button", name=fr_her("Record that the patient withdraws their agreement")
    )
    if withdraw.count():
        follow(page, withdraw)
    record = page.locator("#consent").get_by_role("button", name=fr("Record the oral agreement"))
    assert record.is_visible()
    follow(page, start_letter_card(page).get_by_role("link", name=fr("Preview and issue")))
    refused = follow(page, page.get_by_role("button", name=fr("Issue the letter")))
    assert refused.status == 403
    assert page.get_by_role("alert").count() >= 1
    page.goto("/team/")
    follow(page, page.get_by_role("link", name="Camille Lefèvre").first)
    issued_before = start_letter_card(page).inner_text()

    # The educator records the agreement the patient gave orally today.
    page.locator("#consent").get_by_label(fr("Agreement collected orally on")).fill(
        dt.date.today().isoformat()
    )
    follow(
        page, page.locator("#consent").get_by_role("button", name=fr("Record the oral agreement"))
    )
    assert (
        page.locator("#consent")
        .get_by_role("button", name=fr_her("Record that the patient withdraws their agreement"))
        .is_visible()
    )

    # Preview first, then issue: a new version of the start letter.
    follow(page, start_letter_card(page).get_by_role("link", name=fr("Preview and issue")))
    assert page.get_by_role("heading", level=1).inner_text() == fr(START_TITLE)
    preview = page.locator(".letter-sheet")
    assert "Dr Paul Martin" in preview.inner_text()
    page.get_by_role("heading", name=fr("Preview"), exact=True).evaluate(
        "heading => heading.scrollIntoView({block: 'start'})"
    )
    screenshot(page, "08-letter-preview")
    follow(page, page.get_by_role("button", name=fr("Issue the letter")))
    issued = start_letter_card(page).inner_text()
    assert issued != issued_before

    with page.expect_download() as info:
        start_letter_card(page).get_by_role("link", name=fr("Download the PDF")).click()
    pdf = Path(info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = " ".join((p.extract_text() or "") for p in reader.pages)
    assert "Paul Martin" in text
    assert "Savoir adapter les doses" in text  # an objective elaborated with the patient
