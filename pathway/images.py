"""Images a team uploads (a programme's logo): decoded and re-encoded before anything keeps them.

Only PNG and JPEG are taken, recognised from their content (never from the name or the type
the browser declares); SVG, PDF, GIF and anything else are refused. The picture is decoded
by Pillow within a pixel budget, reduced to what a letterhead needs, and encoded again: what
is stored is pixels Pillow wrote, with no metadata, no script, no second file hidden after
the image's end.
"""

from __future__ import annotations

import base64
import io
import warnings
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError

from pathway.rules import RuleBroken

LOGO_MAX_BYTES = 1024 * 1024
# A letterhead logo is printed about 40 × 16 mm: 600 × 240 pixels is above 300 dpi.
LOGO_MAX_SIZE = (600, 240)
# Decoding a small file can claim a huge canvas (a "decompression bomb"): refuse above this.
MAX_PIXELS = 25_000_000
FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


class ImageRefused(RuleBroken):
    """The file is not an image we take; the message says what to send instead."""


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    content_type: str

    def data_uri(self) -> str:
        return f"data:{self.content_type};base64," + base64.b64encode(self.data).decode("ascii")


def too_large_message() -> str:
    return _(
        "The logo is too large: send a PNG or JPEG image of %(max)d MB at most.",
        max=LOGO_MAX_BYTES // (1024 * 1024),
    )


def clean_logo(data: bytes) -> CleanImage:
    """The logo decoded, reduced and re-encoded (PNG stays PNG, JPEG stays JPEG), or refused."""
    if len(data) > LOGO_MAX_BYTES:
        raise ImageRefused(too_large_message(), field="logo")
    not_an_image = _(
        "This file is not a PNG or JPEG image. Send the logo as a PNG or JPEG file "
        "(SVG and other formats are not accepted)."
    )
    if not data:
        raise ImageRefused(_("Choose the logo's file (PNG or JPEG)."), field="logo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
                kind = image.format or ""
                if kind not in FORMATS:
                    raise ImageRefused(not_an_image, field="logo")
                width, height = image.size
                if width * height > MAX_PIXELS or width < 1 or height < 1:
                    raise ImageRefused(
                        _("This image is too large to be a logo: send a smaller one."),
                        field="logo",
                    )
                if not _complete(data, kind):
                    raise ImageRefused(not_an_image, field="logo")
                image.load()
                picture = _flattened(image) if kind == "JPEG" else image.convert("RGBA")
    except ImageRefused:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        ValueError,
        SyntaxError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise ImageRefused(not_an_image, field="logo") from None
    picture.thumbnail(LOGO_MAX_SIZE)
    out = io.BytesIO()
    if kind == "JPEG":
        picture.save(out, format="JPEG", quality=90, optimize=True)
    else:
        picture.save(out, format="PNG", optimize=True)
    return CleanImage(data=out.getvalue(), content_type=FORMATS[kind])


def _complete(data: bytes, kind: str) -> bool:
    """Whether the file holds the whole picture. Pillow's own check of a cut file depends
    on a process-wide setting that WeasyPrint turns off when it is imported (it then pads
    the missing part with grey), so it is checked here: a PNG's chunks and their CRCs up to
    IEND (Pillow's verify), a JPEG's end-of-image marker."""
    if kind == "JPEG":
        return data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9")
    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
            image.verify()
    except (OSError, ValueError, SyntaxError):
        return False
    return True


def _flattened(image: Image.Image) -> Image.Image:
    """A JPEG's pixels as RGB (CMYK and greyscale JPEGs included)."""
    return image.convert("RGB")


def stored_logo(data: bytes | None, content_type: str | None) -> CleanImage | None:
    """A logo as stored (already cleaned), or None."""
    if not data or content_type not in FORMATS.values():
        return None
    return CleanImage(data=data, content_type=content_type or "")
