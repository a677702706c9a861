"""A team member's signature on the letters they issue: name, profession, RPPS number."""

from __future__ import annotations

from flask_babel import gettext as _

from pathway import identifiers
from pathway.models import User
from pathway.rules import RuleBroken


class SignatureError(RuleBroken):
    """The signature typed breaks a rule; nothing was changed."""


def update_signature(user: User, *, display_name: str, profession: str, rpps: str) -> None:
    """Save how the member signs; an RPPS number, when given, has 11 digits."""
    checked: str | None = None
    if rpps.strip():
        checked = identifiers.rpps(rpps)
        if checked is None:
            raise SignatureError(_("The RPPS number has 11 digits."), field="rpps")
    name = display_name.strip()
    if not name:
        raise SignatureError(_("Write your name as it is to be printed."), field="display_name")
    user.display_name = name
    user.profession = profession.strip()
    user.rpps = checked
