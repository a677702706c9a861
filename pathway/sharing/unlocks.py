"""A passcode-protected share opened in this browser, remembered for an hour.

The recipient types the passcode once, to open the link; for the next hour the letters it
shares and its reply form trust this browser, through the signed session cookie. The
entry names the link's version, so a regenerated link asks again.
"""

from __future__ import annotations

from flask import session as cookie_session

from pathway.db import utcnow
from pathway.sharing.shares import LinkState

UNLOCK_SECONDS = 3600
UNLOCK_KEY = "unlocked_shares"
REMEMBERED = 10  # links remembered at most, the most recent ones


def remember_unlock(share: LinkState) -> None:
    """This browser gave the right passcode for the share's current version, now."""
    now = int(utcnow().timestamp())
    unlocked = {
        public_id: entry
        for public_id, entry in dict(cookie_session.get(UNLOCK_KEY, {})).items()
        if isinstance(entry, list) and len(entry) == 2 and entry[1] > now
    }
    unlocked[share.public_id] = [share.token_version, now + UNLOCK_SECONDS]
    cookie_session[UNLOCK_KEY] = dict(list(unlocked.items())[-REMEMBERED:])


def is_unlocked(share: LinkState) -> bool:
    """Whether this browser gave the passcode of the share's current version within the hour."""
    entry = cookie_session.get(UNLOCK_KEY, {}).get(share.public_id)
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and entry[0] == share.token_version
        and entry[1] > utcnow().timestamp()
    )
