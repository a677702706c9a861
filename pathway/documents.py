"""PDF rendering with WeasyPrint, locked down: it fetches nothing from outside the app.

Documents are built from fixed templates that receive plain, escaped values. Stylesheets
are passed as strings, images as data: URIs (QR codes), fonts come from the system.
The URL fetcher therefore allows data: URIs of bounded size and refuses everything else
(http, https, file, ftp…), so no text typed by a user can make the server fetch or embed
anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

logger = logging.getLogger("pathway.documents")

MAX_DATA_URI = 2 * 1024 * 1024


class DocumentError(Exception):
    """The document could not be rendered."""


@dataclass(frozen=True)
class RenderedPdf:
    data: bytes
    pages: int


@cache
def _weasyprint() -> Any:
    import weasyprint  # slow import (about 0.7 s): only where PDFs are made

    return weasyprint


@cache
def _font_config() -> Any:
    # One FontConfiguration per process: faster renders and far less memory growth.
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def safe_fetcher() -> Any:
    """A URL fetcher that serves only bounded data: URIs and refuses everything else."""
    from weasyprint.urls import URLFetcher

    class SafeFetcher(URLFetcher):  # type: ignore[misc]
        refused: list[str]

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"data"}, allow_redirects=False, timeout=1)
            self.refused = []

        def fetch(self, url: str, headers: Any = None) -> Any:
            if not url.startswith("data:") or len(url) > MAX_DATA_URI:
                self.refused.append(url[:80])
                logger.warning("document fetch refused: %s", url[:40])
                raise ValueError("fetch refused")
            return super().fetch(url, headers)

    return SafeFetcher()


def render_pdf(html: str, css: str = "") -> RenderedPdf:
    """Render HTML (from a fixed template) and CSS (a string) to PDF bytes."""
    weasyprint = _weasyprint()
    fetcher = safe_fetcher()
    font_config = _font_config()
    try:
        stylesheets = [weasyprint.CSS(string=css, font_config=font_config, url_fetcher=fetcher)]
        document = weasyprint.HTML(string=html, url_fetcher=fetcher, base_url=None).render(
            stylesheets=stylesheets, font_config=font_config
        )
        data = document.write_pdf()
    except Exception as error:
        logger.exception("PDF rendering failed")
        raise DocumentError(str(error)) from error
    return RenderedPdf(data=data, pages=len(document.pages))
