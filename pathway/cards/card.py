"""The printable wallet card: an ID-1 PDF (85.6 × 54 mm), front and back, in plain text.

It must help with no network at all, so the critical facts are printed; the QR code
leads to the up-to-date emergency view when there is a network.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any

from flask import render_template
from flask_babel import force_locale, format_date

from pathway.cards.qr import qr_data_uri
from pathway.documents import DocumentError, render_pdf

CARD_PAGES = 2


@cache
def card_css() -> str:
    return resources.files("pathway.cards").joinpath("wallet.css").read_text(encoding="utf-8")


def birth_date_text(facts: dict[str, Any]) -> str:
    """The birth date in the card's language, or an empty string."""
    if not facts["birth_date"]:
        return ""
    text: str = format_date(dt.date.fromisoformat(facts["birth_date"]), "medium")
    return text


def render_card_html(facts: dict[str, Any], url: str) -> str:
    """The card's HTML, in the patient's language, from plain values only."""
    with force_locale(facts["locale"]):
        return render_template(
            "cards/wallet.html",
            card=facts,
            birth_date=birth_date_text(facts),
            qr=qr_data_uri(url),
        )


def render_card(facts: dict[str, Any], url: str) -> bytes:
    """The wallet card PDF: exactly two ID-1 pages (front, back)."""
    rendered = render_pdf(render_card_html(facts, url), card_css())
    if rendered.pages != CARD_PAGES:
        # The template clips every box to the card; more pages would be a layout bug.
        raise DocumentError(f"wallet card has {rendered.pages} pages")
    return rendered.data
