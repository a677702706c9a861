"""The browser the journeys need: without it they are skipped, with this one message (CI fails)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_debian_chromium_starts_at_phone_size(browser: object, chromium: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})
    try:
        page.set_content("<html lang='fr'><title>ok</title><p>Pathway</p></html>")
        assert page.evaluate("window.innerWidth") == 390
        assert page.inner_text("p") == "Pathway"
    finally:
        page.close()
