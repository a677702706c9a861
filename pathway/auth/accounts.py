"""Accounts: passwords, sign-in checks, patient invitations and password resets."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, flash, redirect, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from pathway import audit, tokens
from pathway.auth.sessions import end_every_session, end_session
from pathway.db import session, utcnow
from pathway.extensions import client_address, limiter
from pathway.mail import queue_mail
from pathway.models import Invitation, Patient, Role, User
from pathway.rules import RuleBroken

F = TypeVar("F", bound=Callable[..., Any])

INVITATION_DAYS = 7
RESET_HOURS = 2
MIN_PASSWORD_LENGTH = 12
LOCKOUT_THRESHOLD = 5

_hasher = PasswordHasher()
# Verifying against this keeps the time of "unknown email" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("pathway-timing-equaliser")

COMMON_PASSWORDS = frozenset(
    [
        "123456789012",
        "1234567890123",
        "azertyuiopqs",
        "qwertyuiopas",
        "motdepasse123",
        "password1234",
        "passwordpassword",
        "111111111111",
        "000000000000",
        "123123123123",
        "azerty123456",
        "qwerty123456",
        "iloveyou1234",
        "motdepasse12",
        "bonjour12345",
        "soleil123456",
        "doudou123456",
        "marseille123",
        "azertyazerty",
        "qwertyqwerty",
        "abcdefghijkl",
        "abc123abc123",
        "administrator",
        "welcome12345",
        "letmein12345",
        "changeme1234",
        "pathway-demo",
        "motdepassemotdepasse",
    ]
)


class AccountError(RuleBroken):
    """A rule on accounts was broken; the message is translated and shown to the user."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str) -> None:
    """Refuse short and common passwords (raises AccountError)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            _("Choose a password of at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise AccountError(_("This password is too common. Choose another one."))


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user(email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))


@dataclass(frozen=True)
class SignInResult:
    user: User | None
    locked: bool = False
    # Until when the account is locked: only for whoever typed its right password, who may
    # be told (a stranger typing a wrong one learns nothing, not even that it exists).
    locked_until: dt.datetime | None = None


# The audit detail of a password typed again by a signed-in person.
RECHECK = "password-again"
# Every form that asks a signed-in person for their password again: per address and form
# as at sign-in, and one budget per user across all those forms together.
RECHECK_LIMIT_PER_ADDRESS = "10 per minute"
RECHECK_LIMIT_PER_USER = "10 per minute;30 per hour"


def authenticate(email: str, password: str) -> SignInResult:
    """Check credentials; count failures; lock the account for a while after repeated ones."""
    user = find_user(email)
    if user is None or not user.is_active or user.password_hash is None:
        _verify(_DUMMY_HASH, password)
        audit.record(audit.Tag.AUTH_SIGNIN_FAILED, email_domain=email.rpartition("@")[2][:60])
        return SignInResult(None)
    return _check_password(user, user.password_hash, password)


def check_password_again(user: User, password: str) -> SignInResult:
    """The signed-in user's password once more, before something only they may do (a
    consent change, a data export, deleting the account…).

    The very check of the sign-in: the same failure count and progressive lockout (a wrong
    password here counts as one at sign-in, and the other way round), the same audit events
    (marked method="password-again"). `locked` is true when the account is locked, this
    failure included: the caller then ends the session with end_session_after_lockout().
    """
    if not user.is_active or user.password_hash is None:
        _verify(_DUMMY_HASH, password)
        audit.record(audit.Tag.AUTH_SIGNIN_FAILED, actor=user, method=RECHECK)
        return SignInResult(None)
    return _check_password(user, user.password_hash, password, method=RECHECK)


def _password_again_key() -> str:
    # Checked before the view's own sign-in check: a request without a session counts
    # against its address.
    if current_user.is_authenticated:
        return f"password-again:user:{current_user.id}"
    return f"password-again:address:{client_address()}"


def password_again_limits(view: F) -> F:
    """The rate limits of a form asking for the password again (POST only; 429 beyond)."""
    per_user = limiter.shared_limit(
        RECHECK_LIMIT_PER_USER,
        scope="password-again",
        key_func=_password_again_key,
        methods=["POST"],
    )
    per_address = limiter.limit(RECHECK_LIMIT_PER_ADDRESS, methods=["POST"])
    return cast(F, per_address(per_user(view)))


def end_session_after_lockout() -> Response:
    """Guessing at an open session: it ends, and the account waits as after wrong
    passwords at sign-in. The same message wherever the password was typed again."""
    end_session()
    flash(_("Too many wrong passwords: you are signed out. Try again later."), "error")
    return redirect(url_for("auth.login"), code=303)


def _check_password(user: User, password_hash: str, password: str, **details: Any) -> SignInResult:
    now = utcnow()
    if user.locked_until is not None and user.locked_until > now:
        # One hash either way, as for an unknown address: the time says nothing.
        right = _verify(password_hash, password)
        audit.record(audit.Tag.AUTH_SIGNIN_LOCKED, actor=user, **details)
        return SignInResult(None, locked=True, locked_until=user.locked_until if right else None)
    if not _verify(password_hash, password):
        user.failed_logins += 1
        locked = user.failed_logins >= LOCKOUT_THRESHOLD
        if locked:
            # Progressive: each further failure doubles the wait, up to a day.
            minutes = min(2 ** (user.failed_logins - LOCKOUT_THRESHOLD), 24 * 60)
            user.locked_until = now + dt.timedelta(minutes=minutes)
        audit.record(audit.Tag.AUTH_SIGNIN_FAILED, actor=user, **details)
        return SignInResult(None, locked=locked)
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(password_hash):
        user.password_hash = hash_password(password)
    audit.record(audit.Tag.AUTH_SIGNIN_SUCCEEDED, actor=user, **details)
    return SignInResult(user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(email: str, password: str, role: Role, display_name: str = "") -> User:
    """Create an account (staff from the CLI, or the demo)."""
    email = normalise_email(email)
    if find_user(email) is not None:
        raise AccountError(_("An account already exists with this email address."))
    check_password_policy(password)
    user = User(
        email=email, password_hash=hash_password(password), role=role, display_name=display_name
    )
    session.add(user)
    session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Change the password and sign out every existing session of this user."""
    check_password_policy(password)
    user.password_hash = hash_password(password)
    end_every_session(user)
    user.failed_logins = 0
    user.locked_until = None


# Invitations -------------------------------------------------------------------------


def invite_patient(patient: Patient, email: str, invited_by: User) -> str:
    """Create a single-use invitation, email its link, and return the link."""
    email = normalise_email(email)
    existing = find_user(email)
    if existing is not None and existing.patient is not patient:
        raise AccountError(_("An account already exists with this email address."))
    invitation = Invitation(
        email=email,
        patient=patient,
        created_by_id=invited_by.id,
        expires_at=utcnow() + dt.timedelta(days=INVITATION_DAYS),
    )
    session.add(invitation)
    session.flush()
    link = external_url(
        "auth.accept_invitation", token=tokens.sign(tokens.Purpose.INVITATION, invitation.public_id)
    )
    queue_mail(
        email,
        _("Your Pathway account"),
        _(
            "Hello %(name)s,\n\nYour therapeutic education team invites you to Pathway, "
            "where you keep your health summary and choose who can see it.\n\n"
            "Choose your password here (the link is valid for %(days)d days and works once):\n"
            "%(link)s\n",
            name=patient.first_name,
            days=INVITATION_DAYS,
            link=link,
        ),
    )
    audit.record(audit.Tag.AUTH_INVITATION_CREATED, actor=invited_by, patient_id=patient.id)
    return link


def _unsigned(
    purpose: tokens.Purpose, token: str, max_age: int, *, expired: str, invalid: str
) -> tuple[str, int | None]:
    """What a signed link carries, or an AccountError saying why it cannot be used."""
    try:
        return tokens.unsign(purpose, token, max_age=max_age)
    except tokens.TokenExpired:
        raise AccountError(expired) from None
    except tokens.TokenInvalid:
        raise AccountError(invalid) from None


def load_invitation(token: str) -> Invitation:
    """Return the invitation a token points at if it can still be used, else raise."""
    public_id, _version = _unsigned(
        tokens.Purpose.INVITATION,
        token,
        INVITATION_DAYS * 86400,
        expired=_("This invitation has expired. Ask your team for a new one."),
        invalid=_("This invitation link is not valid."),
    )
    invitation = session.scalar(select(Invitation).where(Invitation.public_id == public_id))
    if invitation is None:
        raise AccountError(_("This invitation link is not valid."))
    if invitation.used_at is not None:
        raise AccountError(
            _("This invitation has already been used. Sign in, or ask your team for a new one.")
        )
    if invitation.expires_at <= utcnow():
        raise AccountError(_("This invitation has expired. Ask your team for a new one."))
    return invitation


def accept_invitation(token: str, password: str) -> User:
    """Create (or complete) the patient's account from an invitation; usable once."""
    invitation = load_invitation(token)
    check_password_policy(password)
    patient = invitation.patient
    user = patient.user
    if user is None:
        if find_user(invitation.email) is not None:
            raise AccountError(_("An account already exists with this email address."))
        user = User(
            email=invitation.email,
            role=Role.PATIENT,
            display_name=patient.full_name,
            session_version=1,
        )
        patient.user = user
        session.add(user)
    set_password(user, password)
    invitation.used_at = utcnow()
    session.flush()
    audit.record(audit.Tag.AUTH_INVITATION_ACCEPTED, actor=user, patient_id=patient.id)
    return user


# Password reset ----------------------------------------------------------------------


def _password_fingerprint(user: User) -> int:
    # Changes when the password changes, which makes a used reset link stale.
    digest = hashlib.sha256((user.password_hash or "").encode()).digest()
    return int.from_bytes(digest[:4], "big")


def request_password_reset(email: str) -> None:
    """Email a reset link if the account exists; behave the same either way."""
    user = find_user(email)
    if user is None or not user.is_active:
        audit.record(audit.Tag.AUTH_RESET_REQUESTED, outcome="unknown")
        return
    token = tokens.sign(tokens.Purpose.PASSWORD_RESET, user.public_id, _password_fingerprint(user))
    link = external_url("auth.reset_password", token=token)
    queue_mail(
        user.email,
        _("Reset your Pathway password"),
        _(
            "Hello,\n\nSomeone asked to reset the password of this Pathway account. "
            "If it was you, choose a new password here (valid %(hours)d hours, once):\n%(link)s\n\n"
            "If it was not you, ignore this message: your password has not changed.\n",
            hours=RESET_HOURS,
            link=link,
        ),
    )
    audit.record(audit.Tag.AUTH_RESET_REQUESTED, actor=user, outcome="sent")


def load_reset_user(token: str) -> User:
    public_id, fingerprint = _unsigned(
        tokens.Purpose.PASSWORD_RESET,
        token,
        RESET_HOURS * 3600,
        expired=_("This reset link has expired. Ask for a new one."),
        invalid=_("This reset link is not valid."),
    )
    user = session.scalar(select(User).where(User.public_id == public_id))
    if user is None or not user.is_active or fingerprint != _password_fingerprint(user):
        raise AccountError(_("This reset link has already been used or is no longer valid."))
    return user


def reset_password(token: str, password: str) -> User:
    user = load_reset_user(token)
    set_password(user, password)
    audit.record(audit.Tag.AUTH_PASSWORD_RESET, actor=user)
    return user


# Password and e-mail changes from the account page ----------------------------------

EMAIL_CHANGE_HOURS = 24


def _same_user(user: User, checked: SignInResult) -> bool:
    return checked.user is not None and checked.user.id == user.id


def change_password(user: User, checked: SignInResult, password: str) -> None:
    """Change the password of a signed-in user who typed the current one again (`checked`:
    what check_password_again() said of it). Every session of the user ends (the caller
    opens a new one for this browser); the account's address is told, always."""
    if not _same_user(user, checked):
        raise AccountError(
            _("Wrong current password: your password has not changed."), field="current_password"
        )
    try:
        check_password_policy(password)
    except AccountError as error:
        raise AccountError(error.message, field="new_password") from None
    set_password(user, password)
    with force_locale(user.locale):
        queue_mail(
            user.email,
            _("Your Pathway password has changed"),
            _(
                "Hello,\n\nThe password of your Pathway account has just been changed, and "
                "every other device where your account was open has been signed out.\n\n"
                "If it was not you, choose a new password at once (Forgotten password? on the "
                "sign-in page) and tell your ETP team.\n"
            ),
        )
    audit.record(audit.Tag.AUTH_PASSWORD_CHANGED, actor=user)


def _email_fingerprint(email: str) -> int:
    # Changes when the address changes, which makes a used or stale confirmation link fail.
    digest = hashlib.sha256(normalise_email(email).encode()).digest()
    return int.from_bytes(digest[:4], "big")


def _check_new_email(user: User, new_email: str) -> str:
    new_email = normalise_email(new_email)
    if new_email == normalise_email(user.email):
        raise AccountError(_("This is already your e-mail address."), field="new_email")
    other = find_user(new_email)
    if other is not None and other.id != user.id:
        raise AccountError(
            _("Another account already uses this e-mail address. Choose another one."),
            field="new_email",
        )
    return new_email


def request_email_change(user: User, checked: SignInResult, new_email: str) -> str:
    """Mail a confirmation link to the new address (signed, valid EMAIL_CHANGE_HOURS, once)
    and tell the current one that a change was asked. Nothing changes until the link is
    opened. Returns the normalised new address."""
    if not _same_user(user, checked):
        raise AccountError(
            _("Wrong current password: your e-mail address has not changed."),
            field="email_password",
        )
    new_email = _check_new_email(user, new_email)
    token = tokens.sign(
        tokens.Purpose.EMAIL_CHANGE,
        f"{user.public_id}:{new_email}",
        _email_fingerprint(user.email),
    )
    link = external_url("account.confirm_email", token=token)
    with force_locale(user.locale):
        queue_mail(
            new_email,
            _("Confirm your new Pathway e-mail address"),
            _(
                "Hello,\n\nYou asked for this address to become the e-mail address of your "
                "Pathway account. Confirm it here (the link is valid %(hours)d hours and "
                "works once):\n%(link)s\n\n"
                "If it was not you, ignore this message: nothing has changed.\n",
                hours=EMAIL_CHANGE_HOURS,
                link=link,
            ),
        )
        queue_mail(
            user.email,
            _("A change of your Pathway e-mail address was asked"),
            _(
                "Hello,\n\nSomeone signed in to your Pathway account asked to replace its "
                "e-mail address by %(email)s. Nothing changes until the link sent to that "
                "address is opened.\n\n"
                "If it was not you, change your password at once and sign out everywhere "
                "(My account page), then tell your ETP team.\n",
                email=new_email,
            ),
        )
    return new_email


def load_email_change(token: str) -> tuple[User, str]:
    """The user and the new address a confirmation link carries, if it can still be used."""
    payload, fingerprint = _unsigned(
        tokens.Purpose.EMAIL_CHANGE,
        token,
        EMAIL_CHANGE_HOURS * 3600,
        expired=_("This confirmation link has expired. Ask for the change again."),
        invalid=_("This confirmation link is not valid."),
    )
    public_id, _sep, new_email = payload.partition(":")
    user = session.scalar(select(User).where(User.public_id == public_id))
    if (
        user is None
        or not user.is_active
        or not new_email
        or fingerprint != _email_fingerprint(user.email)
    ):
        raise AccountError(_("This confirmation link has already been used or is no longer valid."))
    return user, new_email


def confirm_email_change(token: str) -> User:
    """Give the account the address its confirmation link carries; both addresses are told."""
    user, new_email = load_email_change(token)
    old_email = user.email
    _check_new_email(user, new_email)
    user.email = new_email
    session.flush()
    audit.record(
        audit.Tag.AUTH_EMAIL_CHANGED,
        actor=user,
        patient_id=user.patient.id if user.patient is not None else None,
        email_domain=new_email.rpartition("@")[2][:60],
    )
    with force_locale(user.locale):
        body = _(
            "Hello,\n\nThe e-mail address of your Pathway account is now %(email)s. "
            "Sign in with it from now on.\n\n"
            "If it was not you, tell your ETP team at once.\n",
            email=new_email,
        )
        subject = _("Your Pathway e-mail address has changed")
        queue_mail(old_email, subject, body)
        queue_mail(new_email, subject, body)
    return user


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL on PUBLIC_BASE_URL (never the request's Host header)."""
    base: str = current_app.config["PUBLIC_BASE_URL"]
    return base + url_for(endpoint, **values)
