"""Issued letters to the GP: immutable PDFs with their hash and data snapshot."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pathway.db import Base, created_at, intpk, new_public_id

if TYPE_CHECKING:
    from pathway.models.programmes import Enrollment


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
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    snapshot: Mapped[dict[str, Any]]
    copy_given_to_patient: Mapped[bool] = mapped_column(default=False)
    issued_at: Mapped[created_at]
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    issued_by_name: Mapped[str] = mapped_column(String(120))

    enrollment: Mapped[Enrollment] = relationship(back_populates="letters")
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
