"""Flask-Login wiring: the session carries the user's session version; staff sessions time out."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import confirm_login, current_user, login_fresh, logout_user
from sqlalchemy import select

from pathway.db import session
from pathway.extensions import login_manager
from pathway.models import Patient, Role, User

F = TypeVar("F", bound=Callable[..., Any])


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    app.before_request(enforce_session_timeouts)


def load_user(user_id: str) -> User | None:
    """Return the user only if the cookie's session version is still current."""
    raw_id, _, raw_version = user_id.partition(":")
    if not (raw_id.isdigit() and raw_version.isdigit()):
        return None
    user = session.scalar(select(User).where(User.id == int(raw_id)))
    if user is None or not user.is_active or user.session_version != int(raw_version):
        return None
    return user


def start_session() -> None:
    """Stamp the moment of sign-in (absolute limit), of the last request (idle limit) and
    of the password (recent sign-in)."""
    now = int(time.time())
    cookie_session["signed_in_at"] = now
    cookie_session["seen_at"] = now
    cookie_session["password_at"] = now
    cookie_session.permanent = True


def password_confirmed() -> None:
    """The user has just typed their password again: the sign-in is recent again."""
    confirm_login()
    cookie_session["password_at"] = int(time.time())


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
                flash(_("For your security, confirm your password to continue."), "info")
                target = back_to(**kwargs) if request.method == "POST" else request.full_path
                target = target.rstrip("?")
                return redirect(url_for("auth.confirm_password", next=target), code=303)
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def enforce_session_timeouts() -> None:
    """Sign out sessions idle too long, or older than the absolute limit."""
    from flask import current_app

    if not current_user.is_authenticated:
        return
    now = int(time.time())
    config = current_app.config
    signed_in_at = int(cookie_session.get("signed_in_at", 0))
    seen_at = int(cookie_session.get("seen_at", 0))
    idle_limit = config["SESSION_IDLE_MINUTES"] * 60
    too_old = now - signed_in_at > config["PERMANENT_SESSION_LIFETIME"]
    too_idle = current_user.is_staff and now - seen_at > idle_limit
    if too_old or too_idle:
        logout_user()
        cookie_session.clear()
        return
    cookie_session["seen_at"] = now


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
