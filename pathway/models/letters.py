"""Issued letters to the GP: immutable PDFs with their hash and data snapshot."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pathway.db import Base, created_at, intpk, new_public_id

if TYPE_CHECKING:
    from pathway.models.programmes import Enrollment
    from pathway.models.shares import Share


class LetterKind(enum.StrEnum):
    START = "start"  # Synthèse du Bilan Éducatif Partagé et du programme personnalisé
    END = "end"  # Synthèse de l'évaluation individuelle


class Letter(Base):
    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("enrollment_id", "kind", "version"),)

    id: Mapped[intpk]
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"))
    kind: Mapped[LetterKind]
    version: Mapped[int]
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    # The letter as sent to its addressee, with the link made for them alone (`link`).
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    # The same page with no link at all: what every other reader gets (the team, a
    # professional opening the letters through another link). None only for letters issued
    # before letters had their own link: those printed the patient's GP link itself, so
    # they are shown to nobody but the patient and the GP.
    reader_pdf: Mapped[bytes | None] = mapped_column(LargeBinary)
    reader_sha256: Mapped[str | None] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]]
    copy_given_to_patient: Mapped[bool] = mapped_column(default=False)
    issued_at: Mapped[created_at]
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_by_name: Mapped[str] = mapped_column(String(120))

    enrollment: Mapped[Enrollment] = relationship(back_populates="letters")
    link: Mapped[LetterLink | None] = relationship(back_populates="letter")
    dispatches: Mapped[list[LetterDispatch]] = relationship(
        back_populates="letter", cascade="all, delete-orphan", passive_deletes=True
    )


class LetterDispatch(Base):
    """One sending of an issued letter by email (secure messaging)."""

    __tablename__ = "letter_dispatches"

    id: Mapped[intpk]
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    sent_at: Mapped[created_at]
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    letter: Mapped[Letter] = relationship(back_populates="dispatches")


class LetterLink(Base):
    """The link printed on one letter, made at issue for its addressee alone.

    It is a share of its own, made from the GP link the patient gave (`derived_from`) and
    never broader than it: the same sections, no later expiry, replies only if that link
    takes them, the same passcode. The patient sees it among their links and withdraws it
    like any other; withdrawing the GP link it came from withdraws it too.
    """

    __tablename__ = "letter_links"

    share_id: Mapped[int] = mapped_column(
        ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True
    )
    # Kept when the letter goes (SET NULL): the share stays marked as a letter's link, so it
    # never passes for the GP link the patient gave.
    letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="SET NULL"), unique=True
    )
    derived_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("shares.id", ondelete="SET NULL"), index=True
    )

    share: Mapped[Share] = relationship(foreign_keys=[share_id])
    letter: Mapped[Letter | None] = relationship(back_populates="link")
    derived_from: Mapped[Share | None] = relationship(foreign_keys=[derived_from_id])
