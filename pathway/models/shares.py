"""Shares (one recipient's window on the summary), their stored artefacts, and access events."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pathway.db import Base, created_at, intpk, new_public_id, patient_fk
from pathway.sharing.sections import Audience

if TYPE_CHECKING:
    from pathway.models.patients import Patient


class ShareKind(enum.StrEnum):
    LINK = "link"  # /s/<token>, for professionals
    EMERGENCY = "emergency"  # /e/<token>, the QR wallet card


class Share(Base):
    __tablename__ = "shares"

    id: Mapped[intpk]
    # Random, at least 128 bits: the only identifier that ever appears in a URL.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    patient_id: Mapped[patient_fk]
    kind: Mapped[ShareKind] = mapped_column(default=ShareKind.LINK)
    audience: Mapped[Audience]
    label: Mapped[str] = mapped_column(String(120))
    sections: Mapped[list[str]]
    expires_at: Mapped[dt.datetime | None]
    passcode_hash: Mapped[str | None] = mapped_column(String(255))
    passcode_attempts_left: Mapped[int] = mapped_column(default=5)
    locked_at: Mapped[dt.datetime | None]
    # When the patient was e-mailed that the link expires soon, and that it expired: set by
    # the reminders' claim (one UPDATE), so a reminder goes once even from two hosts.
    expiry_reminded_at: Mapped[dt.datetime | None]
    expired_reminded_at: Mapped[dt.datetime | None]
    allow_replies: Mapped[bool] = mapped_column(default=False)
    # Part of the signed token: bumping it makes every older link answer 410.
    token_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[created_at]
    revoked_at: Mapped[dt.datetime | None]

    patient: Mapped[Patient] = relationship(back_populates="shares")
    access_events: Mapped[list[AccessEvent]] = relationship(
        back_populates="share",
        order_by="AccessEvent.id.desc()",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class ShareArtifact(Base):
    """A document made once per token version (QR code, wallet card, lock-screen image)."""

    __tablename__ = "share_artifacts"
    __table_args__ = (UniqueConstraint("share_id", "token_version", "name"),)

    id: Mapped[intpk]
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"))
    token_version: Mapped[int]
    name: Mapped[str] = mapped_column(String(40))
    content_type: Mapped[str] = mapped_column(String(60))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class CardPage(Base):
    """The emergency view's page as rendered for one state of a card (pathway.cards.pages).

    One per card, language and release (the key); it is shown only while the card's token
    version, its sections and the summary's version are still those it was made from.
    """

    __tablename__ = "card_pages"
    __table_args__ = (UniqueConstraint("share_id", "key"),)

    id: Mapped[intpk]
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    token_version: Mapped[int]
    summary_version: Mapped[int]
    sections: Mapped[list[str]]
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[created_at]


class AccessEvent(Base):
    """One opening (or refused opening) of a share. No full IP address, no token."""

    __tablename__ = "access_events"

    id: Mapped[intpk]
    share_id: Mapped[int] = mapped_column(ForeignKey("shares.id", ondelete="CASCADE"), index=True)
    occurred_at: Mapped[created_at] = mapped_column(index=True)
    outcome: Mapped[str] = mapped_column(String(30), default="shown")
    audience: Mapped[str] = mapped_column(String(20))
    sections: Mapped[list[str]]
    summary_version: Mapped[int]
    # Coarse client: "phone · Chrome", never the full user agent or IP address.
    client: Mapped[str] = mapped_column(String(80), default="")
    # Optional, declared by the viewer ("SAMU 49", "Dr Martin").
    viewer: Mapped[str] = mapped_column(String(120), default="")

    share: Mapped[Share] = relationship(back_populates="access_events")
