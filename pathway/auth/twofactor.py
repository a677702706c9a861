"""TOTP two-factor sign-in for staff: enrolment, codes, single-use recovery codes.

Enrolling an authenticator needs more than the password: a code mailed to the staff
member's address (enrolment_code), so a stolen password cannot enrol the thief's phone.
The staff member is mailed when two-step sign-in is turned on, and when it is reset.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import io
import secrets
from typing import Any, cast

import pyotp
import qrcode
from flask import current_app
from flask_babel import force_locale, format_datetime
from flask_babel import gettext as _
from qrcode.image.pil import PilImage
from sqlalchemy import select, update
from sqlalchemy.engine import CursorResult

from pathway import audit
from pathway.auth.accounts import external_url
from pathway.auth.sessions import end_every_session
from pathway.db import session, utcnow
from pathway.mail import queue_mail
from pathway.models import OutboxMessage, RecoveryCode, User

ISSUER = "Pathway"
RECOVERY_CODE_COUNT = 10
# Accept the previous and next 30-second step too: phone clocks drift.
VALID_WINDOW = 1
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
# The code mailed before an enrolment: 8 digits, valid for the current and the previous
# 10-minute window (so 10 to 20 minutes).
ENROLMENT_CODE_DIGITS = 8
ENROLMENT_CODE_MINUTES = 10


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


# The e-mailed enrolment code ----------------------------------------------------------
#
# Derived, not stored: an HMAC of the app's SECRET_KEY over the user's public id, their
# session version (a password change, a sign-out everywhere or a reset bumps it) and
# whether two-step sign-in is on (an enrolment ends the code's use), and the 10-minute
# window. Nothing secret goes into the (readable) session cookie, and no column is needed.


def _enrolment_window() -> int:
    return int(utcnow().timestamp()) // (ENROLMENT_CODE_MINUTES * 60)


def enrolment_code(user: User, window: int | None = None) -> str:
    """The code mailed to the user before an enrolment, for this window (or another)."""
    if window is None:
        window = _enrolment_window()
    secret_key = current_app.config["SECRET_KEY"]
    key = hmac.new(
        secret_key.encode() if isinstance(secret_key, str) else secret_key,
        b"pathway:2fa-enrolment-code",
        hashlib.sha256,
    ).digest()
    state = "on" if is_enabled(user) else "off"
    message = f"{user.public_id}:{user.session_version}:{state}:{window}".encode()
    number = int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:8], "big")
    return f"{number % 10**ENROLMENT_CODE_DIGITS:0{ENROLMENT_CODE_DIGITS}d}"


def check_enrolment_code(user: User, code: str) -> bool:
    """Is this the code mailed to the user (this window's or the previous one's)?"""
    cleaned = _clean_code(code)
    window = _enrolment_window()
    matches = len(cleaned) == ENROLMENT_CODE_DIGITS and cleaned.isdigit()
    # Both windows compared every time, in constant time: no timing tells which matched.
    current = hmac.compare_digest(enrolment_code(user, window), cleaned)
    previous = hmac.compare_digest(enrolment_code(user, window - 1), cleaned)
    if matches and (current or previous):
        return True
    audit.record(audit.Tag.AUTH_2FA_ENROLMENT_FAILED, actor=user, reason="email-code")
    return False


def send_enrolment_code(user: User) -> OutboxMessage:
    """Mail the user the code that lets them enrol an authenticator (in the current
    transaction: it goes out once the request commits)."""
    with force_locale(user.locale):
        return queue_mail(
            user.email,
            _("Your code to set up two-step sign-in"),
            _(
                "Hello,\n\nSomeone has signed in to Pathway with the password of this account "
                "and is setting up two-step sign-in. If it is you, type this code on the "
                "set-up page:\n\n%(code)s\n\nIt is valid for %(minutes)d minutes.\n\n"
                "If it is not you, give this code to nobody: someone knows your password. "
                "Change it at once (%(link)s) and tell your IT department.\n",
                code=enrolment_code(user),
                minutes=ENROLMENT_CODE_MINUTES,
                link=external_url("auth.forgot_password"),
            ),
        )


def _when(moment: dt.datetime) -> str:
    # Babel's default time zone is Europe/Paris: the time as the staff member reads it.
    text: str = format_datetime(moment, "d MMMM y, HH:mm")
    return text


def confirm_enrolment(user: User, secret: str, code: str) -> list[str] | None:
    """Turn two-factor on if the code matches the new secret; return fresh recovery codes.

    The caller has checked the mailed enrolment code first (check_enrolment_code). The user
    is mailed that two-step sign-in is now on (nothing secret in the message)."""
    step = _matching_step(secret, code)
    if step is None:
        audit.record(audit.Tag.AUTH_2FA_ENROLMENT_FAILED, actor=user)
        return None
    now = utcnow()
    user.totp_secret = secret
    user.totp_enabled_at = now
    user.totp_last_step = step
    codes = replace_recovery_codes(user)
    audit.record(audit.Tag.AUTH_2FA_ENABLED, actor=user)
    with force_locale(user.locale):
        queue_mail(
            user.email,
            _("Two-step sign-in is on for your Pathway account"),
            _(
                "Hello,\n\nTwo-step sign-in was turned on for your Pathway account on "
                "%(when)s (Paris time). From now on, signing in asks for your password and "
                "for a code from the authenticator app set up then.\n\n"
                "If it was not you, someone knows your password and may have set up their "
                "own phone: contact your Pathway administrator or your IT department at "
                "once so that they reset your two-step sign-in, and change your password "
                "(%(link)s).\n",
                when=_when(now),
                link=external_url("auth.forgot_password"),
            ),
        )
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


def reset(user: User) -> OutboxMessage:
    """Turn two-factor off (lost phone and codes): the user enrols again at the next sign-in.

    The user is mailed what happened; the message is returned (queued in the current
    transaction), for a caller outside a request to send it at once."""
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
    end_every_session(user)
    audit.record(audit.Tag.AUTH_2FA_RESET, actor=user)
    with force_locale(user.locale):
        return queue_mail(
            user.email,
            _("Two-step sign-in reset on your Pathway account"),
            _(
                "Hello,\n\nThe two-step sign-in of your Pathway account was reset by an "
                "administrator on %(when)s (Paris time). Your authenticator app and your "
                "recovery codes no longer work, and your account has been signed out on every "
                "device. At your next sign-in you will set up two-step sign-in again, with a "
                "code sent to this address.\n\n"
                "If you did not ask for this, contact your Pathway administrator or your IT "
                "department at once.\n",
                when=_when(utcnow()),
            ),
        )
