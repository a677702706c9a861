"""The card's documents, made once per token version and served from the database.

A QR code costs about 10 ms and a card PDF about 35 ms: they are made when the card
is created, regenerated or updated, stored in ShareArtifact, and every download serves
the stored bytes. A new token version (regeneration) gets new documents; the printed
facts are also stored, so the patient can be told when their summary has changed since.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from pathway.cards.card import render_card
from pathway.cards.facts import card_facts
from pathway.cards.lockscreen import render_lockscreen
from pathway.cards.qr import qr_png, qr_svg
from pathway.db import session
from pathway.models import Share, ShareArtifact
from pathway.sharing.shares import share_url

QR_PNG = "qr.png"
QR_SVG = "qr.svg"
CARD_PDF = "card.pdf"
LOCKSCREEN_PNG = "lockscreen.png"
FACTS = "facts.json"  # the printed facts, to tell when the printed card is out of date

# Documents that print the facts (re-made by "update my card"); QR codes depend on the link only.
PRINTED = (FACTS, CARD_PDF, LOCKSCREEN_PNG)
DOWNLOADS = (QR_PNG, QR_SVG, CARD_PDF, LOCKSCREEN_PNG)
CONTENT_TYPES = {
    QR_PNG: "image/png",
    QR_SVG: "image/svg+xml",
    CARD_PDF: "application/pdf",
    LOCKSCREEN_PNG: "image/png",
    FACTS: "application/json",
}


def _facts_json(facts: dict[str, Any]) -> bytes:
    return json.dumps(facts, sort_keys=True, ensure_ascii=False).encode("utf-8")


def _makers(share: Share) -> dict[str, Callable[[], bytes]]:
    url = share_url(share)
    facts = card_facts(share)
    return {
        QR_PNG: lambda: qr_png(url),
        QR_SVG: lambda: qr_svg(url).encode("utf-8"),
        CARD_PDF: lambda: render_card(facts, url),
        LOCKSCREEN_PNG: lambda: render_lockscreen(facts, url),
        FACTS: lambda: _facts_json(facts),
    }


def stored(share: Share) -> dict[str, ShareArtifact]:
    """The documents already made for the share's current token version."""
    rows = session.scalars(
        select(ShareArtifact).where(
            ShareArtifact.share_id == share.id, ShareArtifact.token_version == share.token_version
        )
    )
    return {row.name: row for row in rows}


def ensure_artifacts(share: Share) -> dict[str, ShareArtifact]:
    """Make whichever documents of the current token version are missing; return them all."""
    have = stored(share)
    missing = [name for name in CONTENT_TYPES if name not in have]
    if not missing:
        return have
    makers = _makers(share)
    try:
        # A savepoint: if another request made them at the same moment, theirs are kept.
        with session.begin_nested():
            for name in missing:
                artifact = ShareArtifact(
                    share_id=share.id,
                    token_version=share.token_version,
                    name=name,
                    content_type=CONTENT_TYPES[name],
                    data=makers[name](),
                )
                session.add(artifact)
                have[name] = artifact
            session.flush()
    except IntegrityError:
        return stored(share)
    return have


def artifact(share: Share, name: str) -> ShareArtifact:
    """One stored document of the current token version (made now only if missing)."""
    return ensure_artifacts(share)[name]


def remake_printed(share: Share) -> None:
    """Re-make the printed documents from the current summary (same link, same QR code)."""
    session.execute(
        delete(ShareArtifact).where(
            ShareArtifact.share_id == share.id,
            ShareArtifact.token_version == share.token_version,
            ShareArtifact.name.in_(PRINTED),
        )
    )
    session.flush()
    ensure_artifacts(share)


def discard_old_versions(share: Share) -> None:
    """Delete the documents of earlier token versions: their QR codes answer 410 anyway."""
    session.execute(
        delete(ShareArtifact).where(
            ShareArtifact.share_id == share.id, ShareArtifact.token_version != share.token_version
        )
    )


def is_stale(share: Share) -> bool:
    """Whether the printed facts differ from what the card would print today."""
    facts = stored(share).get(FACTS)
    return facts is None or facts.data != _facts_json(card_facts(share))
