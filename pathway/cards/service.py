"""The patient's emergency card: one share for responders, its documents, and its openings."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask_babel import gettext as _
from sqlalchemy import select

from pathway import audit
from pathway.cards import artifacts, pages
from pathway.cards.facts import card_facts
from pathway.db import session
from pathway.models import AccessEvent, Patient, Share, ShareKind, User
from pathway.sharing import shares
from pathway.sharing.sections import EMERGENCY_SECTIONS, Audience, Section

# One card for every responder: SAMU, firefighters, ambulance crews read the same facts.
CARD_AUDIENCE = Audience.PARAMEDIC
# What a responder can use; the emergency view shows these and nothing else, whatever a
# request asks for.
CARD_SECTIONS = tuple(s for s in Section if s in {*EMERGENCY_SECTIONS, Section.CARE_TEAM})


def _card_sections(sections: tuple[Section, ...]) -> tuple[Section, ...]:
    """The card's sections, or the rule they break (none, or one a responder has no use of)."""
    if not sections:
        raise shares.ShareError(
            field="sections", message=_("Choose at least one section to share.")
        )
    if any(section not in CARD_SECTIONS for section in sections):
        raise shares.ShareError(
            field="sections",
            message=_("Only emergency information can be on the card."),
        )
    return sections


def current_card(patient: Patient) -> Share | None:
    """The patient's emergency card in use (not withdrawn), if any."""
    return session.scalar(
        select(Share)
        .where(
            Share.patient_id == patient.id,
            Share.kind == ShareKind.EMERGENCY,
            Share.revoked_at.is_(None),
        )
        .order_by(Share.id.desc())
        .limit(1)
    )


def printed_facts(patient: Patient) -> dict[str, Any] | None:
    """What the patient's card prints from their summary now (None without a card): the
    same before and after an edit unless the printed card went out of date."""
    card = current_card(patient)
    return card_facts(card) if card is not None else None


def patient_card(patient: Patient, public_id: str) -> Share:
    """The access helper: the patient's own emergency card with this public id, else 404."""
    share = shares.patient_share(patient, public_id)
    if share.kind != ShareKind.EMERGENCY:
        abort(404)
    return share


def create_card(
    patient: Patient, sections: tuple[Section, ...], actor: User | None = None
) -> Share:
    """Create the card and its documents; no expiry, no passcode: an emergency cannot wait."""
    existing = current_card(patient)
    if existing is not None:
        return existing
    share = shares.create_share(
        patient,
        audience=CARD_AUDIENCE,
        label=_("Emergency card"),
        sections=_card_sections(sections or EMERGENCY_SECTIONS),
        expiry=shares.Expiry.NEVER,
        kind=ShareKind.EMERGENCY,
        actor=actor,
    )
    artifacts.ensure_artifacts(share)
    return share


def change_sections(share: Share, sections: tuple[Section, ...], actor: User | None = None) -> None:
    """Change what the card shows; the printed documents follow at once (same link)."""
    sections = _card_sections(sections)
    share.sections = [section.value for section in sections]
    audit.record(
        audit.Tag.SHARE_SECTIONS_CHANGED,
        actor=actor,
        patient_id=share.patient_id,
        share=share.public_id,
        count=len(sections),
    )
    artifacts.remake_printed(share)


def regenerate_card(share: Share, actor: User | None = None) -> None:
    """Give the card a new link and QR code: the previous ones answer 410 from now on."""
    shares.rotate_share(share, actor=actor)
    session.flush()
    artifacts.discard_old_versions(share)
    pages.discard_pages(share)
    artifacts.ensure_artifacts(share)


def update_card(share: Share) -> None:
    """Re-make the printed card and lock-screen image from the current summary (same link)."""
    artifacts.remake_printed(share)


def withdraw_card(share: Share, actor: User | None = None) -> None:
    """Withdraw the card: its link and every printed QR code answer 410, and the pages
    stored for its openings are gone."""
    shares.revoke_share(share, actor=actor)
    pages.discard_pages(share)


def card_openings(patient: Patient, limit: int = 50) -> list[AccessEvent]:
    """The latest openings of any of the patient's emergency cards, newest first."""
    return list(
        session.scalars(
            select(AccessEvent)
            .join(Share, AccessEvent.share_id == Share.id)
            .where(Share.patient_id == patient.id, Share.kind == ShareKind.EMERGENCY)
            .order_by(AccessEvent.occurred_at.desc(), AccessEvent.id.desc())
            .limit(limit)
        )
    )
