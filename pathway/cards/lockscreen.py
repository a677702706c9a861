"""The phone lock-screen image: the QR code and the critical facts, readable without unlocking.

Portrait at a common phone resolution; the top is left empty for the lock-screen clock
and the bottom for the torch and camera buttons.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any, NamedTuple

from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont

from pathway.cards.card import birth_date_text
from pathway.cards.fit import wrap
from pathway.cards.qr import qr_png

WIDTH, HEIGHT = 1170, 2532
CLOCK_SPACE = 760  # the lock-screen clock and date sit here
BUTTON_SPACE = 230  # torch and camera buttons
MARGIN = 70
FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
RED = (176, 0, 32)
INK = (17, 17, 17)
PAPER = (255, 255, 255)
QR_SIZE = 620


@cache
def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(FONT_DIR + name, size)


def _wrap(
    draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int
) -> list[str]:
    """Split text into lines that fit the width (long words are cut)."""
    return wrap(text, lambda candidate: draw.textlength(candidate, font=font) <= width)


Line = tuple[str, bool, int, tuple[int, int, int]]


def lockscreen_lines(facts: dict[str, Any]) -> list[Line]:
    """The texts the image prints, each with (bold, size, colour), in the patient's language
    (call it inside force_locale), the most urgent first: the layout leaves out the last
    ones if they do not fit. Allergies and intolerances are two lines: an intolerance is
    never listed under « Allergies »."""
    out: list[Line] = []
    born = birth_date_text(facts)
    out.append((facts["full_name"], True, 64, INK))
    if born:
        out.append((_("born %(date)s", date=born), False, 40, INK))
    for condition in facts["conditions"]:
        code = f" · ORPHA:{condition['orphacode']}" if condition["orphacode"] else ""
        out.append((condition["label"] + code, False, 44, INK))
    if facts["immediate_action"]:
        out.append(
            (_("In an emergency: %(action)s", action=facts["immediate_action"]), True, 50, RED)
        )
    if facts["allergies"] is not None:
        allergies = ", ".join(
            a["substance"] + (f" ({_('severe')})" if a["is_severe"] else "")
            for a in facts["allergies"]
        ) or _("none known")
        if facts["more_allergies"]:
            allergies += f" (+{facts['more_allergies']})"
        out.append((_("Allergies: %(list)s", list=allergies), True, 44, INK))
    # The person to call, as a phone's emergency screen shows them: before the longer
    # facts, so that a crowded image still carries the name and the number.
    for contact in facts["contacts"]:
        out.append(
            (
                _("Contact: %(name)s %(phone)s", name=contact["name"], phone=contact["phone"]),
                False,
                42,
                INK,
            )
        )
    if facts["intolerances"]:
        intolerances = ", ".join(a["substance"] for a in facts["intolerances"])
        if facts["more_intolerances"]:
            intolerances += f" (+{facts['more_intolerances']})"
        out.append((_("Intolerances: %(list)s", list=intolerances), False, 42, INK))
    if facts["vital_treatment"]:
        out.append(
            (_("Never stop: %(treatment)s", treatment=facts["vital_treatment"]), True, 42, INK)
        )
    return out


TEXT_TOP = CLOCK_SPACE + 130 + 40
# The type is made smaller, down to this, before a line is left out.
SCALES = (1.0, 0.9, 0.8, 0.7)
QR_SPACE = QR_SIZE + 110
TEXT_BOTTOM = HEIGHT - BUTTON_SPACE - QR_SPACE


class Placed(NamedTuple):
    """One line of text as the image draws it."""

    y: int
    text: str
    bold: bool
    size: int
    colour: tuple[int, int, int]


def _place(draw: ImageDraw.ImageDraw, lines: list[Line], scale: float) -> tuple[list[Placed], bool]:
    """Lay the lines out at `scale`, each one whole or not at all; whether all fitted."""
    placed: list[Placed] = []
    y = TEXT_TOP
    for text, bold, size, colour in lines:
        size = round(size * scale)
        wrapped = _wrap(draw, text, _font(size, bold), WIDTH - 2 * MARGIN)
        step = int(size * 1.25)
        if y + step * (len(wrapped) - 1) + size > TEXT_BOTTOM:
            return placed, False  # never half an item, never over the QR code
        for line in wrapped:
            placed.append(Placed(y, line, bold, size, colour))
            y += step
        y += 14
    return placed, True


def lockscreen_layout(draw: ImageDraw.ImageDraw, lines: list[Line]) -> list[Placed]:
    """Where each line goes, between the title band and the QR code, in the largest type at
    which every line fits; if none does, the first lines (the most urgent) whole, and the
    link has the rest."""
    placed: list[Placed] = []
    for scale in SCALES:
        placed, complete = _place(draw, lines, scale)
        if complete:
            return placed
    return placed


def render_lockscreen(facts: dict[str, Any], url: str) -> bytes:
    """The lock-screen PNG (1170 × 2532)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), INK)
    draw = ImageDraw.Draw(image)
    with force_locale(facts["locale"]):
        title = _("MEDICAL EMERGENCY")
        scan = _("Scan for up-to-date information")
        lines = lockscreen_lines(facts)
    # A red band under the clock says at a glance what this is.
    y = CLOCK_SPACE
    draw.rectangle((0, y, WIDTH, y + 130), fill=RED)
    title_font = _font(72, bold=True)
    draw.text((WIDTH // 2, y + 65), title, font=title_font, fill=PAPER, anchor="mm")
    y += 130
    # White panel for the facts and the QR code: dark text on white reads in sunlight.
    panel_bottom = HEIGHT - BUTTON_SPACE
    draw.rectangle((0, y, WIDTH, panel_bottom), fill=PAPER)
    for line in lockscreen_layout(draw, lines):
        draw.text((MARGIN, line.y), line.text, font=_font(line.size, line.bold), fill=line.colour)
    qr = Image.open(io.BytesIO(qr_png(url, box_size=12))).convert("RGB")
    qr = qr.resize((QR_SIZE, QR_SIZE), Image.Resampling.NEAREST)
    qr_top = panel_bottom - QR_SPACE
    image.paste(qr, ((WIDTH - QR_SIZE) // 2, qr_top))
    draw.text(
        (WIDTH // 2, qr_top + QR_SIZE + 45), scan, font=_font(42, True), fill=INK, anchor="mm"
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
