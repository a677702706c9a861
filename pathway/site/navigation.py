"""Where each kind of user lands, and which redirect targets are safe."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for

from pathway.models import Role, User


def home_for(user: User) -> str:
    if user.role == Role.PATIENT:
        return url_for("summary.home")
    return url_for("team.index")


def safe_next(target: str | None) -> str | None:
    """Accept only a local path, never another site (open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target
