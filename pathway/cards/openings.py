"""A responder opens the emergency card: build the view, log the opening, tell the patient."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import bindparam, insert, select

from pathway import audit
from pathway.db import session, utcnow
from pathway.models import AccessEvent, Notification, Share
from pathway.sharing.access import MAX_VIEWER, record_access
from pathway.sharing.sections import parse_sections
from pathway.sharing.view import build_view

# A responder names themselves within this time after opening the card.
NAMING_WINDOW = dt.timedelta(hours=2)
# Openings within this time of an unread notice are told in that notice, not in a new one:
# a crew reloading the card ten times during an intervention is one event for the patient
# (each opening is still in the access log).
NOTICE_WINDOW = dt.timedelta(minutes=30)

_NOTICES = Notification.__table__
_NOTIFY = insert(_NOTICES).returning(_NOTICES.c.id)
_UNREAD_NOTICE = (
    select(_NOTICES.c.id)
    .where(
        _NOTICES.c.user_id == bindparam("user_id"),
        _NOTICES.c.kind == "emergency_opened",
        _NOTICES.c.read_at.is_(None),
        _NOTICES.c.created_at >= bindparam("since"),
    )
    .order_by(_NOTICES.c.id.desc())
    .limit(1)
)


def card_view(share: Share) -> dict[str, Any]:
    """What the card shows: its sections of the summary, read now."""
    return build_view(share.patient, parse_sections(share.sections))


def open_card(share: Share, view: dict[str, Any], user_agent: str) -> list[int | None]:
    """Record one opening of the card (showing `view`) and notify the patient, once per
    burst of openings (NOTICE_WINDOW).

    Returns the opening's reference [event id, notification id], which the responder's
    browser keeps so that naming themselves names this opening (and its notice).
    """
    event = record_access(
        share, view["shown"], summary_version=view["summary_version"], user_agent=user_agent
    )
    user_id = share.patient.user_id
    if user_id is None:
        return [event.id, None]
    connection = session.connection()
    unread = connection.execute(
        _UNREAD_NOTICE, {"user_id": user_id, "since": event.occurred_at - NOTICE_WINDOW}
    ).scalar()
    if unread is not None:
        return [event.id, unread]
    notification_id = connection.execute(
        _NOTIFY,
        {
            "user_id": user_id,
            "kind": "emergency_opened",
            "params": {"when": event.occurred_at.isoformat(), "viewer": ""},
            "link": "/card/",
            "created_at": event.occurred_at,
        },
    ).scalar_one()
    return [event.id, notification_id]


def refuse_opening(share: Share, reason: str, user_agent: str) -> None:
    """Record a scan of a card that no longer opens (replaced, withdrawn, expired)."""
    record_access(
        share,
        [],
        summary_version=share.patient.summary_version,
        user_agent=user_agent,
        outcome=f"denied_{reason}",
    )
    audit.record(
        "share:link:refused", patient_id=share.patient_id, share=share.public_id, reason=reason
    )


def _remembered_event(share: Share, opening: Any) -> AccessEvent | None:
    """The recent opening of this share the browser remembers, if it is genuine."""
    if not isinstance(opening, list) or len(opening) != 2 or not isinstance(opening[0], int):
        return None
    event = session.scalar(
        select(AccessEvent).where(
            AccessEvent.id == opening[0],
            AccessEvent.share_id == share.id,
            AccessEvent.outcome == "shown",
        )
    )
    if event is None or event.occurred_at < utcnow() - NAMING_WINDOW:
        return None
    return event


def reopen(share: Share, opening: Any, user_agent: str) -> tuple[dict[str, Any], list[int | None]]:
    """The view shown again after a form post: a remembered opening is not counted twice."""
    view = card_view(share)
    if _remembered_event(share, opening) is not None:
        return view, opening
    return view, open_card(share, view, user_agent)


def declare_viewer(
    share: Share, opening: Any, viewer: str, user_agent: str
) -> tuple[dict[str, Any], bool]:
    """Name who opened the card, on that opening and in the patient's notice.

    Without a remembered opening (cookies lost), the post is an opening of its own.
    """
    view, opening = reopen(share, opening, user_agent)
    viewer = " ".join(viewer.split())[:MAX_VIEWER]
    event = _remembered_event(share, opening)
    if event is None or not viewer:
        return view, False
    event.viewer = viewer
    if isinstance(opening[1], int):
        notification = session.scalar(
            select(Notification).where(
                Notification.id == opening[1],
                Notification.user_id == share.patient.user_id,
                Notification.kind == "emergency_opened",
            )
        )
        if notification is not None:
            notification.params = {**notification.params, "viewer": viewer}
    return view, True


def view_updated_at(view: dict[str, Any]) -> dt.datetime | None:
    """The latest change among the sections shown."""
    stamps = [section["updated_at"] for section in view["sections"] if section["updated_at"]]
    return max(stamps) if stamps else None
