"""Text that must fit a printed box: measured with the card's own font, never guessed.

The wallet card prints the immediate action in the largest type that fits its box, and the
summary refuses an immediate action or a daily vital treatment that would not fit even in
the smallest type: on a card, a clipped dose is worse than none. Widths are measured with
DejaVu Sans (the font the card is rendered in) at a tenth of a point.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from PIL import ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
# Measured widths are kept this much below the box's: the PDF renderer's shaping differs a
# little from this measure.
SAFETY = 0.94


@cache
def font(size_tenths: int, bold: bool) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(FONT_DIR + name, size_tenths)


def text_width(text: str, size: float, bold: bool = True) -> float:
    """The width of one line of text, in points, at `size` points."""
    return font(round(size * 10), bold).getlength(text) / 10


def wrap(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Split text into lines that each fit (words longer than a line are cut)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        while not fits(word):  # a word longer than a line
            cut = len(word)
            while cut > 1 and not fits(word[:cut]):
                cut -= 1
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}".strip()
        if fits(candidate):
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def lines_at(text: str, size: float, width: float, bold: bool = True) -> list[str]:
    """The lines `text` takes at `size` points in a box `width` points wide."""
    usable = width * SAFETY
    return wrap(text, lambda candidate: text_width(candidate, size, bold) <= usable)


def largest_size(
    text: str,
    sizes: tuple[float, ...],
    width: float,
    height: float,
    line_height: float,
    bold: bool = True,
) -> float | None:
    """The largest of `sizes` at which `text` fits the box, or None if none does."""
    for size in sorted(sizes, reverse=True):
        if len(lines_at(text, size, width, bold)) * size * line_height <= height:
            return size
    return None


def _longest_prefix(word: str, size: float, bold: bool, usable: float) -> int:
    cut = len(word)
    while cut > 1 and text_width(word[:cut], size, bold) > usable:
        cut -= 1
    return cut


def line_count(text: str, size: float, width: float, bold: bool = True, reserve: float = 0) -> int:
    """How many lines `text` takes in a box `width` points wide whose first line already
    holds `reserve` points (a label), breaking as the renderer does: at spaces first, so a
    word that does not fit after the label starts the next line, and inside a word only
    when it is longer than a line."""
    usable = width * SAFETY
    words = text.split()
    if not words:
        return 0
    space = text_width(" ", size, bold)
    lines, used, has_word = 1, reserve, False
    for word in words:
        need = text_width(word, size, bold) + (space if has_word else 0)
        if used + need <= usable:
            used, has_word = used + need, True
            continue
        if used > 0:  # the line holds a label or words: this word starts the next one
            lines += 1
        while text_width(word, size, bold) > usable:  # longer than a line: cut it
            word = word[_longest_prefix(word, size, bold, usable) :]
            lines += 1
        used, has_word = text_width(word, size, bold), True
    return lines


def shorten(text: str, fits: Callable[[str], bool]) -> str:
    """The text, or its longest beginning that fits once marked with an ellipsis."""
    text = " ".join(text.split())
    if fits(text):
        return text
    low, high = 0, len(text)
    while low < high:  # the longest cut that fits
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + "…"):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + "…" if low else ""
