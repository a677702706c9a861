"""Routes of the auth blueprint: /auth/…"""

from __future__ import annotations

import datetime as dt
import time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from pathway import audit
from pathway.auth import accounts, twofactor
from pathway.auth.forms import (
    ChoosePasswordForm,
    ConfirmPasswordForm,
    EnrolTwoFactorForm,
    ForgotPasswordForm,
    SignInForm,
    TwoFactorForm,
)
from pathway.auth.sessions import password_confirmed, role_required, start_session
from pathway.db import session, utcnow
from pathway.extensions import limiter
from pathway.models import Role, User
from pathway.rules import refuse
from pathway.site.navigation import home_for, safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _email_key() -> str:
    return "signin:" + accounts.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("20 per hour", methods=["POST"], key_func=_email_key)
def login() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignInForm()
    if form.validate_on_submit():
        result = accounts.authenticate(form.email.data or "", form.password.data or "")
        session.commit()
        if result.user is not None:
            target = safe_next(request.args.get("next"))
            if twofactor.needs_second_step(result.user):
                # The password alone does not sign staff in: the code step comes first.
                _begin_second_step(result.user, target)
                if twofactor.is_enabled(result.user):
                    return redirect(url_for("auth.two_factor"))
                return redirect(url_for("auth.two_factor_setup"))
            login_user(result.user)
            start_session()
            return redirect(target or home_for(result.user))
        # One message whether the email exists or not: no account enumeration.
        flash(_("Email address or password incorrect."), "error")
    form.password.data = ""
    status = 401 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    logout_user()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def confirm_password() -> Response | tuple[str, int]:
    """The password again, before a consent change or a data export (recent sign-in)."""
    form = ConfirmPasswordForm()
    target = safe_next(request.args.get("next")) or home_for(current_user)
    if form.validate_on_submit():
        result = accounts.authenticate(current_user.email, form.password.data or "")
        session.commit()
        if result.user is not None and result.user.id == current_user.id:
            password_confirmed()
            return redirect(target, code=303)
        locked_until = current_user.locked_until
        if result.locked or (locked_until is not None and locked_until > utcnow()):
            # Guessing at an open session: it ends, and the account waits like a sign-in.
            logout_user()
            cookie_session.clear()
            flash(_("Too many wrong passwords: you are signed out. Try again later."), "error")
            return redirect(url_for("auth.login"), code=303)
        form.password.errors = [_("Password incorrect.")]
    form.password.data = ""
    status = 401 if form.errors else 200
    return render_template("auth/confirm.html", form=form), status


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def accept_invitation(token: str) -> Response | str | tuple[str, int]:
    # GET only shows the form: mail scanners open links, and must not consume them.
    try:
        invitation = accounts.load_invitation(token)
    except accounts.AccountError as error:
        return render_template("auth/link_problem.html", message=str(error)), 410
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            user = accounts.accept_invitation(token, form.password.data or "")
        except accounts.AccountError as error:
            refuse(error, form, "password")
        else:
            session.commit()
            login_user(user)
            start_session()
            flash(_("Welcome! Your account is ready."), "success")
            return redirect(home_for(user))
    return render_template("auth/invitation.html", form=form, email=invitation.email)


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"])
def forgot_password() -> Response | str:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data or "")
        session.commit()
        flash(
            _(
                "If an account exists for this address, we have sent it a link to choose "
                "a new password."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    try:
        accounts.load_reset_user(token)
    except accounts.AccountError as error:
        return render_template("auth/link_problem.html", message=str(error)), 410
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data or "")
        except accounts.AccountError as error:
            refuse(error, form, "password")
        else:
            session.commit()
            flash(_("Your password has been changed. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


# Two-factor sign-in ------------------------------------------------------------------

PENDING_KEY = "pending_2fa"
SETUP_KEY = "totp_setup_secret"
PENDING_SECONDS = 300


def _begin_second_step(user: User, target: str | None) -> None:
    cookie_session.pop(SETUP_KEY, None)
    cookie_session[PENDING_KEY] = {
        "user": user.id,
        "version": user.session_version,
        "at": int(time.time()),
        "next": target or "",
    }


def _pending_user() -> User | None:
    """The user who gave the right password but no code yet (for a few minutes only)."""
    pending = cookie_session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
        cookie_session.pop(PENDING_KEY, None)
        return None
    user = session.get(User, int(pending.get("user", 0)))
    if user is None or not user.is_active or user.session_version != pending.get("version"):
        cookie_session.pop(PENDING_KEY, None)
        return None
    return user


def _pending_key() -> str:
    pending = cookie_session.get(PENDING_KEY)
    user = pending.get("user") if isinstance(pending, dict) else None
    return f"2fa:{user}"


def _finish_sign_in(user: User) -> Response:
    pending = cookie_session.pop(PENDING_KEY, {}) or {}
    cookie_session.pop(SETUP_KEY, None)
    login_user(user)
    start_session()
    return redirect(safe_next(pending.get("next")) or home_for(user))


def _count_code_failure(user: User) -> None:
    """A wrong code counts like a wrong password towards the progressive lockout."""
    user.failed_logins += 1
    if user.failed_logins >= accounts.LOCKOUT_THRESHOLD:
        minutes = min(2 ** (user.failed_logins - accounts.LOCKOUT_THRESHOLD), 24 * 60)
        user.locked_until = utcnow() + dt.timedelta(minutes=minutes)


def _restart_sign_in() -> Response:
    flash(_("Your sign-in has expired. Enter your email address and password again."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/two-factor", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("5 per minute", methods=["POST"], key_func=_pending_key)
def two_factor() -> Response | str | tuple[str, int]:
    user = _pending_user()
    if user is None or not twofactor.is_enabled(user):
        return _restart_sign_in()
    form = TwoFactorForm()
    if form.validate_on_submit():
        if user.locked_until is not None and user.locked_until > utcnow():
            cookie_session.pop(PENDING_KEY, None)
            session.commit()
            flash(_("Too many wrong codes. Wait a few minutes, then sign in again."), "error")
            return redirect(url_for("auth.login"))
        if twofactor.verify(user, form.code.data or ""):
            user.failed_logins = 0
            user.locked_until = None
            session.commit()
            return _finish_sign_in(user)
        _count_code_failure(user)
        session.commit()
        form.code.errors = [
            _("This code is not valid. Check the time on your phone and try again.")
        ]
        form.code.data = ""
        return render_template("auth/two_factor.html", form=form), 401
    return render_template("auth/two_factor.html", form=form)


def _enrolling_user() -> User | None:
    """Signed-in staff turning two-factor on, or staff who must enrol before signing in."""
    if current_user.is_authenticated:
        return current_user if current_user.role in (Role.EDUCATOR, Role.ADMIN) else None
    user = _pending_user()
    if user is not None and not twofactor.is_enabled(user):
        return user
    return None


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def two_factor_setup() -> Response | str | tuple[str, int]:
    user = _enrolling_user()
    if user is None:
        if current_user.is_authenticated:
            abort(404)
        return _restart_sign_in()
    if twofactor.is_enabled(user):
        return render_template(
            "auth/two_factor_status.html",
            remaining=twofactor.remaining_recovery_codes(user),
            form=TwoFactorForm(),
        )
    # The new secret waits in the signed session cookie until a first code confirms it.
    secret = cookie_session.get(SETUP_KEY)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = twofactor.new_secret()
        cookie_session[SETUP_KEY] = secret
    form = EnrolTwoFactorForm()
    status = 200
    if form.validate_on_submit():
        codes = twofactor.confirm_enrolment(user, secret, form.code.data or "")
        session.commit()
        if codes is not None:
            cookie_session.pop(SETUP_KEY, None)
            if not current_user.is_authenticated:
                pending = cookie_session.pop(PENDING_KEY, {}) or {}
                login_user(user)
                start_session()
                target = safe_next(pending.get("next")) or home_for(user)
            else:
                target = home_for(user)
            return render_template("auth/recovery_codes.html", codes=codes, target=target)
        form.code.errors = [
            _("This code is not valid. Check the time on your phone and try again.")
        ]
        status = 400
    form.code.data = ""
    uri = twofactor.provisioning_uri(user, secret)
    return render_template(
        "auth/two_factor_setup.html",
        form=form,
        qr=twofactor.qr_data_uri(uri),
        secret=twofactor.grouped(secret),
        required=twofactor.is_required(user),
    ), status


@bp.post("/two-factor/recovery-codes")
@role_required(Role.EDUCATOR, Role.ADMIN)
@limiter.limit("5 per minute")
def new_recovery_codes() -> Response | str | tuple[str, int]:
    """Replace the recovery codes, after a valid code proves the phone is at hand."""
    user: User = current_user
    form = TwoFactorForm()
    if form.validate_on_submit() and twofactor.verify(user, form.code.data or ""):
        codes = twofactor.replace_recovery_codes(user)
        audit.record(audit.Tag.AUTH_2FA_RECOVERY_CODES_REPLACED, actor=user)
        session.commit()
        return render_template("auth/recovery_codes.html", codes=codes, target=home_for(user))
    session.commit()
    if not form.code.errors:
        form.code.errors = [
            _("This code is not valid. Check the time on your phone and try again.")
        ]
    form.code.data = ""
    return render_template(
        "auth/two_factor_status.html",
        remaining=twofactor.remaining_recovery_codes(user),
        form=form,
    ), 400
