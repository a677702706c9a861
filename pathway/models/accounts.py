"""Accounts: users, their signed-in sessions, and the invitations that let a patient choose a
password."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from pathway.db import Base, created_at, intpk, new_public_id, patient_fk, utcnow

if TYPE_CHECKING:
    from pathway.models.patients import Patient
    from pathway.models.programmes import Programme


class Role(enum.StrEnum):
    PATIENT = "patient"
    EDUCATOR = "educator"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[intpk]
    # Random identifier used in signed links (password reset); never the integer key.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role]
    display_name: Mapped[str] = mapped_column(String(120), default="")
    # A team member's signature on the letters they issue: profession, RPPS number if any.
    profession: Mapped[str] = mapped_column(String(120), default="")
    rpps: Mapped[str | None] = mapped_column(String(11))
    locale: Mapped[str] = mapped_column(String(5), default="fr")
    # The e-mails this person chose to receive or not, by kind (pathway.notifications.
    # MAIL_KINDS); a kind not in it takes its default. Never health data, only choices.
    mail_choices: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumping it signs out every existing session (and a pending two-step sign-in).
    session_version: Mapped[int] = mapped_column(default=1)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    # Two-factor sign-in is on once the first code has been confirmed.
    totp_enabled_at: Mapped[dt.datetime | None]
    # The last accepted time step: a code seen once cannot be replayed.
    totp_last_step: Mapped[int | None]
    created_at: Mapped[created_at]

    patient: Mapped[Patient | None] = relationship(back_populates="user")
    programmes: Mapped[list[Programme]] = relationship(
        secondary="programme_members", back_populates="educators"
    )

    if TYPE_CHECKING:
        # Not a column: the random id of the sign-in this object was loaded for, set by
        # pathway.auth.sessions (start_session, load_user); only its hash is stored.
        sign_in_token: str | None
    else:
        sign_in_token = None

    # Flask-Login protocol. get_id carries the random id of the server-side session
    # (SignInSession), so a cookie copied before a sign-out, a sign-out everywhere, a
    # password change or a deactivation stops working.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        if self.sign_in_token is None:
            raise RuntimeError("sign users in with pathway.auth.sessions.start_session")
        return f"{self.id}:{self.sign_in_token}"

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.EDUCATOR, Role.ADMIN)


class SignInSession(Base):
    """One signed-in browser. Its cookie carries a random id (256 bits); the table keeps only
    the id's SHA-256, so a copy of the table opens no session.

    The database is the truth on every worker and host: deleting the row (sign-out, sign-out
    everywhere, password change, two-factor reset) ends the session on the next request.
    A session also ends once idle or old past the limits (SESSION_IDLE_MINUTES for staff,
    PATIENT_SESSION_IDLE_MINUTES for patients, SESSION_HOURS); the purge deletes those rows.
    """

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # The user's session_version at sign-in: a bump ends the session even if its row stays.
    session_version: Mapped[int]
    created_at: Mapped[created_at]
    # Written at most once a minute (pathway.auth.sessions.TOUCH_SECONDS), not on every request.
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Invitation(Base):
    """A single-use invitation for a patient to create their account."""

    __tablename__ = "invitations"

    id: Mapped[intpk]
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    email: Mapped[str] = mapped_column(String(254))
    patient_id: Mapped[patient_fk]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[created_at]
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None]

    patient: Mapped[Patient] = relationship(back_populates="invitations")


class RecoveryCode(Base):
    """A single-use two-factor recovery code, stored only as a hash."""

    __tablename__ = "recovery_codes"

    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]
    used_at: Mapped[dt.datetime | None]
