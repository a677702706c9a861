"""Where each kind of user lands, and which redirect targets are safe."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import url_for

from pathway.inputs import has_control_characters
from pathway.models import Role, User

# A local path is a few hundred characters at most; a longer one is no page of the site.
MAX_TARGET_LENGTH = 2000


def home_for(user: User) -> str:
    if user.role == Role.PATIENT:
        return url_for("summary.home")
    return url_for("team.index")


def safe_next(target: object) -> str | None:
    """Accept only a local path, never another site (open redirect) nor a broken header.

    Whatever the request holds (`?next=`, a form field, the session): anything but a plain
    local path gives None, and the caller sends the user to its default page instead. A
    control character (CR/LF would end the Location header, others are refused by servers
    and proxies) or a backslash (read as "/" by browsers: "/\\evil.example") refuses the
    target.
    """
    if not isinstance(target, str) or not target or len(target) > MAX_TARGET_LENGTH:
        return None
    if has_control_characters(target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
