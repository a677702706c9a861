"""The access log: one AccessEvent per opening of a share, shown to the patient."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, insert, select

from pathway.db import session, utcnow
from pathway.models import AccessEvent, Share

MAX_VIEWER = 120


def coarse_client(user_agent: str) -> str:
    """Reduce a user agent to "phone · Chrome": enough for the patient, nothing identifying."""
    agent = user_agent.lower()
    device = (
        "phone" if any(word in agent for word in ("mobile", "android", "iphone")) else "computer"
    )
    if "tablet" in agent or "ipad" in agent:
        device = "tablet"
    for marker, name in (
        ("edg/", "Edge"),
        ("firefox/", "Firefox"),
        ("samsungbrowser/", "Samsung Internet"),
        ("chrome/", "Chrome"),
        ("chromium/", "Chrome"),
        ("safari/", "Safari"),
    ):
        if marker in agent:
            return f"{device} · {name}"
    return device if user_agent else ""


_EVENTS = AccessEvent.__table__
_RECORD = insert(_EVENTS).returning(_EVENTS.c.id, _EVENTS.c.occurred_at)


def record_access(
    share: Share | Row[Any],
    sections: list[str],
    *,
    summary_version: int,
    user_agent: str = "",
    viewer: str = "",
    outcome: str = "shown",
) -> Row[tuple[int, dt.datetime]]:
    """Record one opening (or refused opening) of a share in the current transaction.

    One INSERT built once, written at once (views are hot paths); returns the event's
    id and time.
    """
    return (
        session.connection()
        .execute(
            _RECORD,
            {
                "share_id": share.id,
                "occurred_at": utcnow(),
                "outcome": outcome,
                "audience": share.audience.value,
                "sections": list(sections),
                "summary_version": summary_version,
                "client": coarse_client(user_agent)[:80],
                "viewer": viewer.strip()[:MAX_VIEWER],
            },
        )
        .one()
    )


def access_log(patient_id: int, share: Share | None = None, limit: int = 200) -> list[AccessEvent]:
    """The patient's access events, newest first: all their shares, or one."""
    query = (
        select(AccessEvent)
        .join(Share, AccessEvent.share_id == Share.id)
        .where(Share.patient_id == patient_id)
        .order_by(AccessEvent.occurred_at.desc(), AccessEvent.id.desc())
        .limit(limit)
    )
    if share is not None:
        query = query.where(AccessEvent.share_id == share.id)
    return list(session.scalars(query))
