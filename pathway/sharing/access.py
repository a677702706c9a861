"""The access log: one AccessEvent per opening of a share, shown to the patient."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Row, insert, select

from pathway import audit
from pathway.db import session, utcnow
from pathway.models import AccessEvent, Patient, SectionUpdate, Share
from pathway.sharing.shares import LinkState

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
    link: LinkState,
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
                "share_id": link.id,
                "occurred_at": utcnow(),
                "outcome": outcome,
                "audience": link.audience.value,
                "sections": list(sections),
                "summary_version": summary_version,
                "client": coarse_client(user_agent)[:80],
                "viewer": viewer.strip()[:MAX_VIEWER],
            },
        )
        .one()
    )


def record_refusal(link: LinkState, reason: str, user_agent: str = "", viewer: str = "") -> None:
    """Record an opening refused because the link no longer opens (revoked, expired,
    replaced, locked): one access event the patient sees, and one security event. Every
    opening path (/s, its replies, /e) refuses through here."""
    record_access(
        link,
        [],
        summary_version=link.summary_version,
        user_agent=user_agent,
        viewer=viewer,
        outcome=f"denied_{reason}",
    )
    audit.record(
        audit.Tag.SHARE_LINK_REFUSED,
        patient_id=link.patient_id,
        share=link.public_id,
        reason=reason,
    )


# Openings of one link from one device within this time are one visit to the patient: a
# reload, a language switch. Each is still recorded; the log folds them.
VISIT_MINUTES = 30


@dataclass(frozen=True)
class LogEntry:
    """One line of the patient's access log: an opening, or several folded into one visit."""

    event: AccessEvent  # the latest of the visit
    times: int  # how many openings the visit holds
    first_at: dt.datetime  # when the visit began
    # The sections shown then that were changed since, or None if the summary is the same.
    changed_since: tuple[str, ...] | None


def access_log(patient_id: int, share: Share | None = None, limit: int = 200) -> list[LogEntry]:
    """The patient's access log, newest first: all their shares, or one."""
    query = (
        select(AccessEvent)
        .join(Share, AccessEvent.share_id == Share.id)
        .where(Share.patient_id == patient_id)
        .order_by(AccessEvent.occurred_at.desc(), AccessEvent.id.desc())
        .limit(limit)
    )
    if share is not None:
        query = query.where(AccessEvent.share_id == share.id)
    events = list(session.scalars(query))
    updates = session.execute(
        select(SectionUpdate.section, SectionUpdate.updated_at).where(
            SectionUpdate.patient_id == patient_id
        )
    ).tuples()
    changed_at = {section: at for section, at in updates}
    current = session.scalar(select(Patient.summary_version).where(Patient.id == patient_id))
    entries: list[LogEntry] = []
    for event in events:
        last = entries[-1] if entries else None
        if last is not None and _same_visit(last, event):
            entries[-1] = LogEntry(
                last.event, last.times + 1, event.occurred_at, last.changed_since
            )
            continue
        changed: tuple[str, ...] | None = None
        if event.summary_version != current:
            changed = tuple(
                section
                for section in event.sections or []
                if section in changed_at and changed_at[section] > event.occurred_at
            )
        entries.append(LogEntry(event, 1, event.occurred_at, changed))
    return entries


def _same_visit(visit: LogEntry, earlier: AccessEvent) -> bool:
    later = visit.event
    return (
        later.outcome == earlier.outcome == "shown"
        and later.share_id == earlier.share_id
        and later.client == earlier.client
        and later.viewer == earlier.viewer
        and later.summary_version == earlier.summary_version
        and visit.first_at - earlier.occurred_at <= dt.timedelta(minutes=VISIT_MINUTES)
    )
