"""Flask-Login wiring: server-side sessions, revocable at once; idle and old sessions end.

The session cookie carries "<user id>:<random id>"; the random id's SHA-256 names a row of
user_sessions. Each signed-in request loads the user and that row in one query; without the
row (signed out, signed out everywhere, password changed), or past its limits, the cookie
opens nothing, whichever worker or host the request reaches.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, flash, g, redirect, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import confirm_login, current_user, login_fresh, login_user, logout_user
from sqlalchemy import ColumnElement, delete, or_, select, update

from pathway.db import session, utcnow
from pathway.extensions import login_manager
from pathway.models import Patient, Role, SignInSession, User

F = TypeVar("F", bound=Callable[..., Any])

TOKEN_BYTES = 32  # the random id of a session: 256 bits from the OS's secure generator
# last_seen_at is written at most this often (the idle limits are counted in minutes).
TOUCH_SECONDS = 60
TOUCH = dt.timedelta(seconds=TOUCH_SECONDS)


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    app.before_request(enforce_session_timeouts)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _idle_limit(user: User) -> dt.timedelta:
    key = "SESSION_IDLE_MINUTES" if user.is_staff else "PATIENT_SESSION_IDLE_MINUTES"
    return dt.timedelta(minutes=current_app.config[key])


def _lifetime() -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config["PERMANENT_SESSION_LIFETIME"])


def _has_ended(user: User, sign_in: SignInSession, now: dt.datetime) -> bool:
    return now - sign_in.created_at > _lifetime() or now - sign_in.last_seen_at > _idle_limit(user)


def ended_sessions(now: dt.datetime) -> ColumnElement[bool]:
    """Which rows of user_sessions are past their limits (for the purge): older than the
    absolute limit, or idle longer than the longer of the staff and patient limits."""
    config = current_app.config
    longest_idle = max(config["SESSION_IDLE_MINUTES"], config["PATIENT_SESSION_IDLE_MINUTES"])
    return or_(
        SignInSession.created_at < now - _lifetime(),
        SignInSession.last_seen_at < now - dt.timedelta(minutes=longest_idle),
    )


def load_user(user_id: str) -> User | None:
    """Return the user only if the cookie's session is open: its row exists for this user,
    at the user's current session version, and is neither idle nor old past the limits."""
    raw_id, _, token = user_id.partition(":")
    if not raw_id.isdigit() or not token:
        return None
    row = session.execute(
        select(User, SignInSession)
        .join(SignInSession, SignInSession.user_id == User.id)
        .where(
            User.id == int(raw_id),
            User.is_active,
            SignInSession.token_hash == _digest(token),
            SignInSession.session_version == User.session_version,
        )
    ).one_or_none()
    if row is None:
        return None
    user, sign_in = row._tuple()
    if _has_ended(user, sign_in, utcnow()):
        g.ended_sign_in = sign_in.token_hash  # deleted by enforce_session_timeouts
        return None
    user.sign_in_token = token
    g.sign_in = sign_in
    return user


def start_session(user: User) -> None:
    """Sign the user in: a new server-side session, its random id in the cookie; the
    moment of the password is stamped too (recent sign-in).

    Commits the request's transaction (the session row with what the sign-in changed)."""
    _delete_cookie_session_row()  # a session already open in this browser ends
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.add(
        SignInSession(
            token_hash=_digest(token),
            user_id=user.id,
            session_version=user.session_version,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.commit()
    user.sign_in_token = token
    login_user(user)
    cookie_session["password_at"] = int(now.timestamp())
    cookie_session.permanent = True


def end_session() -> None:
    """Sign out this browser: its session row is deleted (committed) and its cookie emptied."""
    _delete_cookie_session_row()
    session.commit()
    logout_user()
    cookie_session.clear()


def end_every_session(user: User) -> None:
    """End every session of the user, on every device (in the current transaction): a
    password change, a two-factor reset, a sign-out everywhere. A pending two-step
    sign-in ends too (it carries the session version)."""
    user.session_version += 1
    if user.id is not None:
        session.execute(
            delete(SignInSession)
            .where(SignInSession.user_id == user.id)
            .execution_options(synchronize_session=False)
        )


def _delete_cookie_session_row() -> None:
    raw = cookie_session.get("_user_id")
    if not isinstance(raw, str):
        return
    _, _, token = raw.partition(":")
    if token:
        _delete_row(_digest(token))


def _delete_row(token_hash: str) -> None:
    session.execute(
        delete(SignInSession)
        .where(SignInSession.token_hash == token_hash)
        .execution_options(synchronize_session=False)
    )


def password_confirmed() -> None:
    """The user has just typed their password again: the sign-in is recent again. If a
    request was stopped for it, they are told plainly to do it again."""
    confirm_login()
    cookie_session["password_at"] = int(time.time())
    if cookie_session.pop("request_not_done", False):
        flash(
            _("Password confirmed. What you asked for has not been done yet: do it again now."),
            "info",
        )


def sign_in_is_recent() -> bool:
    """Was the password typed within RECENT_SIGN_IN_MINUTES (and the session fresh)?"""
    age = int(time.time()) - int(cookie_session.get("password_at", 0))
    fresh: bool = login_fresh()
    return fresh and age <= current_app.config["RECENT_SIGN_IN_MINUTES"] * 60


def recent_sign_in_required(back_to: Callable[..., str]) -> Callable[[F], F]:
    """Ask for the password again before a consent change or a data export when it was
    typed too long ago: a phone or a workstation left unlocked is not enough.

    Nothing of the request is done meanwhile; after the password the user is sent to the
    page `back_to(**view_args)` to do it again.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.is_authenticated and not sign_in_is_recent():
                if request.method == "POST":
                    # Said before and after the password: the request was not done.
                    cookie_session["request_not_done"] = True
                    flash(
                        _(
                            "For your security, confirm your password. What you asked for "
                            "has not been done: you will do it again just after."
                        ),
                        "info",
                    )
                else:
                    flash(_("For your security, confirm your password to continue."), "info")
                target = back_to(**kwargs) if request.method == "POST" else request.full_path
                target = target.rstrip("?")
                return redirect(url_for("auth.confirm_password", next=target), code=303)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def enforce_session_timeouts() -> None:
    """Keep an open session's last_seen_at (at most once a minute); empty the cookie of a
    session that has ended: signed out elsewhere, idle too long, or older than the limit."""
    if "_user_id" not in cookie_session:
        return  # a visitor: no query
    if current_user.is_authenticated:
        sign_in: SignInSession | None = g.get("sign_in")
        if sign_in is not None:
            _touch(sign_in)
        return
    ended = g.pop("ended_sign_in", None)
    if ended is not None:
        _delete_row(ended)
        session.commit()
    logout_user()
    # The CSRF token is no credential: kept, the form this request posts (sign out, sign
    # in) is still accepted, instead of answering "the form has expired".
    csrf_token = cookie_session.get("csrf_token")
    cookie_session.clear()
    if csrf_token is not None:
        cookie_session["csrf_token"] = csrf_token


def _touch(sign_in: SignInSession) -> None:
    """Move last_seen_at to now, if it is a minute old or more (no write on every request)."""
    now = utcnow()
    if now - sign_in.last_seen_at < TOUCH:
        return
    # A plain UPDATE: nothing to do if another device has just ended the session.
    session.execute(
        update(SignInSession)
        .where(SignInSession.token_hash == sign_in.token_hash)
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    session.commit()


def role_required(*roles: Role) -> Callable[[F], F]:
    """Allow only signed-in users with one of these roles; others get 404, not a hint."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


patient_only = role_required(Role.PATIENT)
team_only = role_required(Role.EDUCATOR, Role.ADMIN)


def current_patient() -> Patient:
    """The signed-in patient's own record (the only one they can ever reach)."""
    patient: Patient | None = current_user.patient
    if patient is None:
        abort(404)
    return patient
