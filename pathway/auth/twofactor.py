"""TOTP two-factor sign-in for staff: enrolment, codes, single-use recovery codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import secrets
from typing import Any, cast

import pyotp
import qrcode
from flask import current_app
from qrcode.image.pil import PilImage
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from pathway import audit
from pathway.db import session, utcnow
from pathway.models import RecoveryCode, User

ISSUER = "Pathway"
RECOVERY_CODE_COUNT = 10
# Accept the previous and next 30-second step too: phone clocks drift.
VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def is_enabled(user: User) -> bool:
    return user.totp_secret is not None and user.totp_enabled_at is not None


def is_required(user: User) -> bool:
    """Staff must use a second factor when the deployment says so."""
    return user.is_staff and bool(current_app.config.get("STAFF_2FA_REQUIRED"))


def needs_second_step(user: User) -> bool:
    """After the password: must this user give a code (or enrol) before being signed in?"""
    return is_enabled(user) or is_required(user)


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_data_uri(text: str) -> str:
    """A PNG QR code as a data: URI (the CSP allows data: images; nothing external)."""
    qr = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=6,
        border=4,
        image_factory=PilImage,
    )
    qr.add_data(text)
    qr.make(fit=True)
    buffer = io.BytesIO()
    qr.make_image().save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _clean_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _matching_step(secret: str, code: str) -> int | None:
    """The time step a 6-digit code belongs to (within the window), or None."""
    code = _clean_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    step = totp.timecode(now)
    for offset in range(-VALID_WINDOW, VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step + offset), code):
            return step + offset
    return None


def confirm_enrolment(user: User, secret: str, code: str) -> list[str] | None:
    """Turn two-factor on if the code matches the new secret; return fresh recovery codes."""
    step = _matching_step(secret, code)
    if step is None:
        audit.record(audit.Tag.AUTH_2FA_ENROLMENT_FAILED, actor=user)
        return None
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    codes = replace_recovery_codes(user)
    audit.record(audit.Tag.AUTH_2FA_ENABLED, actor=user)
    return codes


def verify(user: User, code: str) -> bool:
    """Check a TOTP code or a recovery code; each is accepted once."""
    if not is_enabled(user) or user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code)
    if step is not None:
        # A conditional UPDATE so two concurrent requests cannot both use one code.
        result = cast(
            CursorResult[Any],
            session.execute(
                update(User)
                .where(User.id == user.id)
                .where((User.totp_last_step.is_(None)) | (User.totp_last_step < step))
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            ),
        )
        if result.rowcount == 1:
            user.totp_last_step = step
            audit.record(audit.Tag.AUTH_2FA_SUCCEEDED, actor=user, method="totp")
            return True
        audit.record(audit.Tag.AUTH_2FA_FAILED, actor=user, reason="replayed")
        return False
    if _use_recovery_code(user, code):
        remaining = remaining_recovery_codes(user)
        audit.record(audit.Tag.AUTH_2FA_SUCCEEDED, actor=user, method="recovery", count=remaining)
        return True
    audit.record(audit.Tag.AUTH_2FA_FAILED, actor=user)
    return False


def _hash_recovery_code(code: str) -> str:
    # Codes carry 80 random bits, so a plain SHA-256 cannot be reversed by guessing.
    return hashlib.sha256(_clean_code(code).encode("utf-8")).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def replace_recovery_codes(user: User) -> list[str]:
    """Make a new set of recovery codes (shown once), invalidating the previous set."""
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_recovery_code(c)) for c in codes)
    session.flush()
    return codes


def _use_recovery_code(user: User, code: str) -> bool:
    cleaned = _clean_code(code)
    if len(cleaned) != 16:
        return False
    result = cast(
        CursorResult[Any],
        session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user.id,
                RecoveryCode.code_hash == _hash_recovery_code(cleaned),
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount == 1


def remaining_recovery_codes(user: User) -> int:
    codes = session.scalars(
        select(RecoveryCode.id).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )
    return len(list(codes))


def reset(user: User) -> None:
    """Turn two-factor off (lost phone and codes): the user enrols again at the next sign-in."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    # Sessions opened with the old factor end now.
    user.session_version += 1
    audit.record(audit.Tag.AUTH_2FA_RESET, actor=user)
