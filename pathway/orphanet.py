"""Links to Orphanet: a disease's page by its ORPHAcode, and its « Orphanet Urgences » sheet.

The disease page is made from the ORPHAcode alone. An Orphanet Urgences sheet (the emergency
recommendations written with the rare-disease reference centres and the SFMU) exists for some
diseases only and has no address that can be derived from the code: it is shown only when the
team has entered its address, which must be an https address on orpha.net. The disease page
is never shown under the sheet's name.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

DISEASE_PAGE = "https://www.orpha.net/fr/disease/detail/{code}"
HOSTS = frozenset({"orpha.net", "www.orpha.net"})
# The disease page, at its current address (/fr/disease/detail/85138) and its former one
# (/consor/cgi-bin/OC_Exp.php?Expert=85138).
_DISEASE_PATH = re.compile(r"/[a-z]{2}/disease/detail/\d+/?", re.IGNORECASE)
_OLD_DISEASE_PATH = re.compile(r"/consor/cgi-bin/OC_Exp\.php", re.IGNORECASE)
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


def disease_url(orphacode: str | None) -> str:
    """The disease's Orphanet page, or "" without an ORPHAcode."""
    return DISEASE_PAGE.format(code=orphacode) if orphacode else ""


def is_disease_page(url: str) -> bool:
    parts = urlsplit(url)
    if (parts.hostname or "").lower() not in HOSTS:
        return False
    return bool(
        _DISEASE_PATH.fullmatch(parts.path)
        or (_OLD_DISEASE_PATH.fullmatch(parts.path) and "expert=" in parts.query.lower())
    )


def is_on_orphanet(url: str) -> bool:
    """Whether the address is a plain https address on orpha.net (no user, no other port)."""
    if not url or _UNSAFE.search(url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme.lower() == "https"
        and (parts.hostname or "").lower() in HOSTS
        and parts.username is None
        and parts.password is None
        and port in (None, 443)
    )


def urgences_url(url: str | None) -> str:
    """The Orphanet Urgences sheet's address if it may be linked under that name, else ""."""
    url = (url or "").strip()
    if not is_on_orphanet(url) or is_disease_page(url):
        return ""
    return url
