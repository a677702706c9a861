"""The phone lock-screen image: the QR code and the critical facts, readable without unlocking.

Portrait at a common phone resolution; the top is left empty for the lock-screen clock
and the bottom for the torch and camera buttons.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from PIL import Image, ImageDraw, ImageFont

from pathway.cards.card import birth_date_text
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
    lines: list[str] = []
    line = ""
    for word in text.split():
        while draw.textlength(word, font=font) > width:  # a word longer than a line
            cut = len(word)
            while cut > 1 and draw.textlength(word[:cut], font=font) > width:
                cut -= 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _lines(facts: dict[str, Any]) -> list[tuple[str, bool, int, tuple[int, int, int]]]:
    """The texts to print, each with (bold, size, colour), in the patient's language."""
    out: list[tuple[str, bool, int, tuple[int, int, int]]] = []
    born = birth_date_text(facts)
    out.append((facts["full_name"], True, 64, INK))
    if born:
        out.append((_("born %(date)s", date=born), False, 40, INK))
    for condition in facts["conditions"]:
        code = f" · ORPHA:{condition['orphacode']}" if condition["orphacode"] else ""
        out.append((condition["label"] + code, False, 44, INK))
    if facts["allergies"] is not None:
        allergies = ", ".join(a["substance"] for a in facts["allergies"]) or _("none known")
        out.append((_("Allergies: %(list)s", list=allergies), True, 44, INK))
    if facts["critical_action"]:
        out.append(
            (_("In an emergency: %(action)s", action=facts["critical_action"]), True, 50, RED)
        )
    for contact in facts["contacts"]:
        out.append(
            (
                _("Contact: %(name)s %(phone)s", name=contact["name"], phone=contact["phone"]),
                False,
                42,
                INK,
            )
        )
    return out


def render_lockscreen(facts: dict[str, Any], url: str) -> bytes:
    """The lock-screen PNG (1170 × 2532)."""
    image = Image.new("RGB", (WIDTH, HEIGHT), INK)
    draw = ImageDraw.Draw(image)
    with force_locale(facts["locale"]):
        title = _("MEDICAL EMERGENCY")
        scan = _("Scan for up-to-date information")
        lines = _lines(facts)
    # A red band under the clock says at a glance what this is.
    y = CLOCK_SPACE
    draw.rectangle((0, y, WIDTH, y + 130), fill=RED)
    title_font = _font(72, bold=True)
    draw.text((WIDTH // 2, y + 65), title, font=title_font, fill=PAPER, anchor="mm")
    y += 130
    # White panel for the facts and the QR code: dark text on white reads in sunlight.
    panel_bottom = HEIGHT - BUTTON_SPACE
    draw.rectangle((0, y, WIDTH, panel_bottom), fill=PAPER)
    y += 40
    qr_space = QR_SIZE + 110
    text_bottom = panel_bottom - qr_space
    for text, bold, size, colour in lines:
        font = _font(size, bold)
        for line in _wrap(draw, text, font, WIDTH - 2 * MARGIN):
            if y + size > text_bottom:
                break  # never draw over the QR code: the link has the rest
            draw.text((MARGIN, y), line, font=font, fill=colour)
            y += int(size * 1.25)
        y += 14
    qr = Image.open(io.BytesIO(qr_png(url, box_size=12))).convert("RGB")
    qr = qr.resize((QR_SIZE, QR_SIZE), Image.Resampling.NEAREST)
    qr_top = panel_bottom - qr_space
    image.paste(qr, ((WIDTH - QR_SIZE) // 2, qr_top))
    draw.text(
        (WIDTH // 2, qr_top + QR_SIZE + 45), scan, font=_font(42, True), fill=INK, anchor="mm"
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
