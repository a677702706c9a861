"""A responder opens the emergency card: build the view, log the opening, tell the patient."""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, select

from pathway import mail_notices, notifications, tokens
from pathway.db import session, utcnow
from pathway.models import AccessEvent, Notification, Patient, ShareKind
from pathway.sharing import shares
from pathway.sharing.access import MAX_VIEWER, record_access, record_refusal
from pathway.sharing.sections import parse_sections
from pathway.sharing.view import build_view

# A responder names themselves within this time after opening the card.
NAMING_WINDOW = dt.timedelta(hours=2)
# Openings within this time of an unread notice are told in that notice, not in a new one:
# a crew reloading the card ten times during an intervention is one event for the patient
# (each opening is still in the access log).
NOTICE_WINDOW = dt.timedelta(minutes=30)

_NOTICES = Notification.__table__
# The patient's unread notice of the current burst of openings, if any.
_UNREAD_NOTICE = (
    select(_NOTICES.c.id)
    .where(
        _NOTICES.c.user_id == Patient.user_id,
        _NOTICES.c.kind == "emergency_opened",
        _NOTICES.c.read_at.is_(None),
        _NOTICES.c.created_at >= bindparam("since"),
    )
    .order_by(_NOTICES.c.id.desc())
    .limit(1)
    .scalar_subquery()
)
# What an opening reads, in one query: the card's link (sharing.shares.LINK_ROW) and the
# unread notice that an opening now would be told in (`since`: opening_values()).
CARD = shares.LINK_ROW.add_columns(_UNREAD_NOTICE.label("unread_notice"))


class Card(NamedTuple):
    """An emergency card as an opening reads it (CARD): its link's state, and the
    patient's unread notice of the current burst of openings."""

    link: shares.LinkState
    unread_notice: int | None


def read_card(
    token: str, statement: Select[Any] = CARD, **values: Any
) -> tuple[Card, tuple[Any, ...]]:
    """The emergency card a token opens, read with CARD or a statement built on it (with
    its extra values), and the columns such a statement adds after CARD's. Raises
    shares.LinkInvalid (404) or shares.LinkGone (410), as every link does."""
    link, extra = shares.read_link(
        token, ShareKind.EMERGENCY, statement, **{**opening_values(), **values}
    )
    return Card(link, extra[0]), extra[1:]


def opening_values() -> dict[str, Any]:
    """The values CARD needs, for an opening now."""
    return {"since": utcnow() - NOTICE_WINDOW}


def card_view(card: Card) -> dict[str, Any]:
    """What the card shows: its sections of the summary, read now."""
    return build_view(card.link.patient_id, parse_sections(card.link.sections))


def open_card(card: Card, user_agent: str) -> list[int | None]:
    """Record one opening of the card (showing its sections of the summary's current
    version) and notify the patient, once per burst of openings (NOTICE_WINDOW): the
    notice the card was read with is reused (two openings at the same instant may each
    make one).

    Returns the opening: [event id, notification id], so that the responder naming
    themselves names this opening and its notice (opening_reference).
    """
    shown = [section.value for section in parse_sections(card.link.sections)]
    event = record_access(
        card.link, shown, summary_version=card.link.summary_version, user_agent=user_agent
    )
    if card.link.user_id is None:
        return [event.id, None]
    if card.unread_notice is not None:
        return [event.id, card.unread_notice]
    notification_id = notifications.notify_now(
        session.connection(),
        card.link.user_id,
        "emergency_opened",
        {"when": event.occurred_at.isoformat(), "viewer": ""},
        link="/card/",
        at=event.occurred_at,
    )
    # The e-mails go with the notice: once per burst (the patient's, the GP's if asked).
    mail_notices.card_opened(card.link.user_id, card.link.patient_id, event.occurred_at)
    return [event.id, notification_id]


def refuse_opening(link: shares.LinkState, reason: str, user_agent: str) -> None:
    """Record a scan of a card that no longer opens (replaced, withdrawn, expired)."""
    record_refusal(link, reason, user_agent)


def opening_reference(opening: list[int | None]) -> str:
    """The signed reference of an opening, put in the link by which the responder names
    themselves: only whoever was shown the card can name that opening."""
    return tokens.sign_ids(tokens.Purpose.OPENING, *opening)


def remembered_opening(card: Card, reference: str) -> tuple[AccessEvent, int | None] | None:
    """The opening (its access event and notice id) a naming link refers to, if it is of
    this card and recent enough to be named (NAMING_WINDOW); a forged or garbled
    reference raises tokens.TokenInvalid."""
    event_id, notice_id = tokens.unsign_ids(tokens.Purpose.OPENING, reference, 2)
    event = session.scalar(
        select(AccessEvent).where(
            AccessEvent.id == event_id,
            AccessEvent.share_id == card.link.id,
            AccessEvent.outcome == "shown",
        )
    )
    if event is None or event.occurred_at < utcnow() - NAMING_WINDOW:
        return None
    return event, notice_id


def declare_viewer(card: Card, event: AccessEvent, notice_id: int | None, viewer: str) -> None:
    """Name who opened the card, on that opening and in the patient's notice."""
    viewer = " ".join(viewer.split())[:MAX_VIEWER]
    event.viewer = viewer
    if notice_id is not None and card.link.user_id is not None:
        told = session.scalar(
            select(_NOTICES.c.params).where(
                _NOTICES.c.id == notice_id,
                _NOTICES.c.user_id == card.link.user_id,
                _NOTICES.c.kind == "emergency_opened",
            )
        )
        notifications.add_params(
            notice_id, card.link.user_id, "emergency_opened", {"viewer": viewer}
        )
        if told is not None and not told.get("viewer"):
            # The burst's first naming is told by e-mail too (later ones only in the app).
            mail_notices.card_named(card.link.user_id, event.occurred_at, viewer)


def view_updated_at(view: dict[str, Any]) -> dt.datetime | None:
    """The latest change among the sections shown."""
    stamps = [section["updated_at"] for section in view["sections"] if section["updated_at"]]
    return max(stamps) if stamps else None
