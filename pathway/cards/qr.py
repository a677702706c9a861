"""QR codes for share links: error correction M, the smallest version that fits."""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.pil import PilImage


def _qr(url: str) -> qrcode.QRCode[PilImage]:
    code = qrcode.QRCode(
        error_correction=ERROR_CORRECT_M, box_size=10, border=4, image_factory=PilImage
    )
    code.add_data(url)
    code.make(fit=True)
    return code


def qr_png(url: str, box_size: int = 10) -> bytes:
    """The QR code as PNG bytes."""
    code = _qr(url)
    code.box_size = box_size
    buffer = io.BytesIO()
    code.make_image().save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(url: str) -> str:
    """The QR code as a standalone SVG document (scales without blur)."""
    image = _qr(url).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    return image.to_string(encoding="unicode")


def qr_data_uri(url: str) -> str:
    """The QR code as a PNG data: URI, for documents rendered without any fetching."""
    return "data:image/png;base64," + base64.b64encode(qr_png(url)).decode("ascii")


def qr_version(url: str) -> int:
    return _qr(url).version
