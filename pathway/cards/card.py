"""The printable wallet card: an ID-1 PDF (85.6 × 54 mm), front and back, in plain text.

It must help with no network at all, so the critical facts are printed; the QR code
leads to the up-to-date emergency view when there is a network. The front carries what a
crew acts on first (docs/clinical.md): who, the disease, allergies and intolerances apart,
the immediate action in the largest type that fits its box, the daily treatment never to
stop, the issue date and « Carte personnelle — secret médical ».
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from pathway import LOCALES
from pathway.cards.fit import largest_size, line_count, shorten, text_width
from pathway.cards.qr import qr_data_uri
from pathway.documents import DocumentError, render_pdf

CARD_PAGES = 2
LOCAL_TIME = ZoneInfo("Europe/Paris")
MM = 72 / 25.4  # points in a millimetre

# The boxes of wallet.css, in points: every text is measured against its box here, so that
# nothing is cut in the middle by the card's edge (change both together).
FULL_WIDTH = 79.6 * MM  # the card's width inside its margins
SIDE_WIDTH = 42.6 * MM  # the column right of the QR code, on the back
TEXT_SIZE = 6.6
LABEL_SIZE = 5.8
NAME_SIZES = (9.0, 8.0, 7.0)
NAME_LINES = 2
# The immediate action's text box, and the sizes it may be printed in (largest first).
ACTION_WIDTH = 75.6 * MM
ACTION_HEIGHT = 8.4 * MM
ACTION_LINE_HEIGHT = 1.1
ACTION_SIZES = (13.0, 12.0, 11.0, 10.0, 9.0, 8.0, 7.0)
VITAL_LINES = 2
CONDITION_LINES = 1
ALLERGY_LINES = 2
INTOLERANCE_LINES = 1
CENTRE_LINES = 5
PHYSICIAN_LINES = 4
CONTACT_LINES = 1
CONTRA_LINES = 2


@cache
def card_css() -> str:
    return resources.files("pathway.cards").joinpath("wallet.css").read_text(encoding="utf-8")


def action_size(action: str) -> float | None:
    """The type size the immediate action is printed in: the largest that fits its box, or
    None when even the smallest would not."""
    return largest_size(action, ACTION_SIZES, ACTION_WIDTH, ACTION_HEIGHT, ACTION_LINE_HEIGHT)


def never_stop_label() -> str:
    return _("Never stop:")


def _label_width(label: str) -> float:
    """A label's width: printed in small bold capitals, followed by a space."""
    return text_width(label.upper() + " ", LABEL_SIZE)


def _widest_never_stop_label() -> float:
    widths = []
    for locale in LOCALES:
        with force_locale(locale):
            widths.append(_label_width(never_stop_label()))
    return max(widths)


def _fits(text: str, lines: int, width: float, reserve: float = 0, bold: bool = False) -> bool:
    return line_count(text, TEXT_SIZE, width, bold=bold, reserve=reserve) <= lines


def vital_treatment_fits(text: str) -> bool:
    """Whether the daily vital treatment fits its lines on the front, after its label (in
    every language the card is printed in)."""
    return _fits(text, VITAL_LINES, FULL_WIDTH, _widest_never_stop_label())


def _fit_list(label: str, items: list[str], more: int, lines: int) -> tuple[list[str], int]:
    """As many whole items as fit after the label in `lines` lines with the count of those
    left out, « (+n) »; the first item is shortened only if it does not fit alone."""
    reserve = _label_width(label)

    def fits(shown: list[str], hidden: int) -> bool:
        line = ", ".join(shown) + (f" (+{hidden})" if hidden else "")
        return _fits(line, lines, FULL_WIDTH, reserve, bold=True)

    if not items:
        return [], more
    hidden = len(items) - 1 + more
    if not fits(items[:1], hidden):
        return [shorten(items[0], lambda cut: fits([cut], hidden))], hidden
    shown = items[:1]
    for item in items[1:]:
        if not fits([*shown, item], len(items) - len(shown) - 1 + more):
            break
        shown.append(item)
    return shown, len(items) - len(shown) + more


def _fit_line(label: str, text: str, suffix: str, lines: int, width: float) -> str:
    """The text shortened so that label, text and suffix (a phone number, kept whole) fit."""
    reserve = _label_width(label)
    return shorten(text, lambda cut: _fits(f"{cut} {suffix}", lines, width, reserve, bold=True))


def centre_label(kind: str) -> str:
    if kind == "reference":
        return _("Rare disease reference centre:")
    if kind == "competence":
        return _("Rare disease competence centre:")
    return _("Follow-up centre:")


def card_layout(facts: dict[str, Any], born: str) -> dict[str, Any]:
    """What each box of the card prints, fitted to it (call it in the card's language)."""
    name = f"{facts['full_name']} · {born}" if born else facts["full_name"]
    name_size = next(
        (s for s in NAME_SIZES if line_count(name, s, FULL_WIDTH) <= NAME_LINES), NAME_SIZES[-1]
    )
    conditions = [
        c["label"] + (f" ORPHA:{c['orphacode']}" if c["orphacode"] else "")
        for c in facts["conditions"]
    ]
    allergies = [
        a["substance"] + (f" ({_('severe')})" if a["is_severe"] else "")
        for a in facts["allergies"] or []
    ]
    intolerances = [a["substance"] for a in facts["intolerances"] or []]
    layout: dict[str, Any] = {
        "name_size": f"{name_size:g}pt",
        "condition_label": _("Condition:"),
        "allergy_label": _("Allergies:"),
        "intolerance_label": _("Intolerances:"),
        "never_stop": never_stop_label(),
        "action_size": f"{action_size(facts['immediate_action']) or min(ACTION_SIZES):g}pt",
    }
    layout["conditions"], layout["more_conditions"] = _fit_list(
        layout["condition_label"], conditions, facts["more_conditions"], CONDITION_LINES
    )
    layout["allergies"], layout["more_allergies"] = _fit_list(
        layout["allergy_label"], allergies, facts["more_allergies"], ALLERGY_LINES
    )
    layout["intolerances"], layout["more_intolerances"] = _fit_list(
        layout["intolerance_label"], intolerances, facts["more_intolerances"], INTOLERANCE_LINES
    )
    # The back: the centre and the physician beside the QR code, then a contact and the
    # contraindicated drugs. Phone numbers are never shortened.
    layout["centre_label"] = centre_label(facts["reference_centre_kind"])
    phone = ""
    if facts["reference_centre_phone"]:
        phone_label = _("24 h/24:") if facts["reference_centre_24h"] else _("Phone:")
        phone = f"· {phone_label} {facts['reference_centre_phone']}"
    layout["centre_phone"] = phone
    layout["centre"] = _fit_line(
        layout["centre_label"], facts["reference_centre"], phone, CENTRE_LINES, SIDE_WIDTH
    )
    layout["physician_label"] = _("Treating physician:")
    layout["physician"] = _fit_line(
        layout["physician_label"],
        facts["treating_physician"],
        facts["treating_physician_phone"],
        PHYSICIAN_LINES,
        SIDE_WIDTH,
    )
    layout["contact_label"] = _("Contact:")
    layout["contacts"] = [
        {
            "who": _fit_line(
                layout["contact_label"],
                f"{c['name']} ({c['relationship']})" if c["relationship"] else c["name"],
                c["phone"],
                CONTACT_LINES,
                FULL_WIDTH,
            ),
            "phone": c["phone"],
        }
        for c in facts["contacts"]
    ]
    layout["contra_label"] = _("Contraindicated:")
    layout["contraindicated"] = _fit_line(
        layout["contra_label"], facts["contraindicated"], "", CONTRA_LINES, FULL_WIDTH
    )
    return layout


def birth_date_text(facts: dict[str, Any]) -> str:
    """The birth date in the card's language, or an empty string."""
    if not facts["birth_date"]:
        return ""
    text: str = format_date(dt.date.fromisoformat(facts["birth_date"]), "medium")
    return text


def render_card_html(facts: dict[str, Any], url: str, issued_on: dt.date) -> str:
    """The card's HTML, in the patient's language, from plain values only."""
    with force_locale(facts["locale"]):
        born = birth_date_text(facts)
        return render_template(
            "cards/wallet.html",
            card=facts,
            birth_date=born,
            layout=card_layout(facts, _("born %(date)s", date=born) if born else ""),
            issued_on=format_date(issued_on, "medium"),
            qr=qr_data_uri(url),
        )


def render_card(facts: dict[str, Any], url: str, issued_on: dt.date | None = None) -> bytes:
    """The wallet card PDF: exactly two ID-1 pages (front, back), issued today by default."""
    issued_on = issued_on or dt.datetime.now(LOCAL_TIME).date()
    rendered = render_pdf(render_card_html(facts, url, issued_on), card_css())
    if rendered.pages != CARD_PAGES:
        # The template clips every box to the card; more pages would be a layout bug.
        raise DocumentError(f"wallet card has {rendered.pages} pages")
    return rendered.data
