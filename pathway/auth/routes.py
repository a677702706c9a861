"""Routes of the auth blueprint: /auth/…"""

from __future__ import annotations

import datetime as dt
import time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import session as cookie_session
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from pathway import audit
from pathway.auth import accounts, twofactor
from pathway.auth.forms import (
    ChoosePasswordForm,
    ConfirmPasswordForm,
    EnrolTwoFactorForm,
    ForgotPasswordForm,
    SendEnrolmentCodeForm,
    SignInForm,
    TwoFactorForm,
)
from pathway.auth.sessions import (
    end_every_session,
    end_session,
    password_confirmed,
    role_required,
    start_session,
)
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
                # Enrolling needs a second proof too: a code mailed to the account's address.
                _mail_enrolment_code(result.user)
                session.commit()
                return redirect(url_for("auth.two_factor_setup"))
            start_session(result.user)
            return redirect(target or home_for(result.user))
        if result.locked_until is not None:
            # The right password: its owner is told why, and until when.
            flash(
                _(
                    "Your account is locked after too many wrong passwords, until %(time)s. "
                    "Try again then, or choose a new password (Forgotten password?).",
                    time=format_datetime(result.locked_until, "d MMMM, HH:mm"),
                ),
                "error",
            )
        else:
            # One message whether the email exists or not: no account enumeration.
            flash(_("Email address or password incorrect."), "error")
    form.password.data = ""
    status = 401 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout() -> Response:
    # The session's row goes: a copy of the cookie, anywhere, opens nothing any more.
    end_session()
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/logout-everywhere")
@login_required
def logout_everywhere() -> Response:
    """Sign out every session of the account: this browser, a lost phone, a shared computer."""
    end_every_session(current_user)
    end_session()
    flash(_("You are signed out on every device."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.route("/confirm", methods=["GET", "POST"])
@login_required
@accounts.password_again_limits
def confirm_password() -> Response | tuple[str, int]:
    """The password again, before a consent change or a data export (recent sign-in)."""
    form = ConfirmPasswordForm()
    target = safe_next(request.args.get("next")) or home_for(current_user)
    if form.validate_on_submit():
        result = accounts.check_password_again(current_user, form.password.data or "")
        session.commit()
        if result.user is not None:
            password_confirmed()
            return redirect(target, code=303)
        if result.locked:
            return accounts.end_session_after_lockout()
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
            start_session(user)
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
# When the enrolment code was last mailed, and to whom (no secret: the code is derived).
MAILED_KEY = "2fa_code_mailed"
PENDING_SECONDS = 300
# Enrolling takes longer than typing a code: read the mail, install an app, scan.
PENDING_ENROLMENT_SECONDS = 900


def _begin_second_step(user: User, target: str | None) -> None:
    cookie_session.pop(SETUP_KEY, None)
    cookie_session.pop(MAILED_KEY, None)
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
    age = int(time.time()) - int(pending.get("at", 0))
    if age > PENDING_ENROLMENT_SECONDS:
        cookie_session.pop(PENDING_KEY, None)
        return None
    user = session.get(User, int(pending.get("user", 0)))
    if user is None or not user.is_active or user.session_version != pending.get("version"):
        cookie_session.pop(PENDING_KEY, None)
        return None
    if age > PENDING_SECONDS and twofactor.is_enabled(user):
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
    cookie_session.pop(MAILED_KEY, None)
    start_session(user)
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


def _enrolment_key() -> str:
    """One budget per person enrolling, whichever address their requests come from."""
    if current_user.is_authenticated:
        return f"2fa-setup:user:{current_user.id}"
    return "2fa-setup:" + _pending_key()


def _mail_enrolment_code(user: User) -> None:
    """Queue the enrolment code's mail (the caller commits) and remember when it went."""
    twofactor.send_enrolment_code(user)
    cookie_session[MAILED_KEY] = {"user": user.id, "at": int(time.time())}


def _code_was_mailed(user: User) -> bool:
    mailed = cookie_session.get(MAILED_KEY)
    if not isinstance(mailed, dict) or mailed.get("user") != user.id:
        return False
    return int(time.time()) - int(mailed.get("at", 0)) <= 2 * twofactor.ENROLMENT_CODE_MINUTES * 60


def _locked_out_of_enrolment() -> Response:
    """Wrong codes again and again: the enrolment stops, as a sign-in would, until the
    lockout ends (a signed-in session ends too)."""
    if current_user.is_authenticated:
        end_session()
    else:
        for key in (PENDING_KEY, SETUP_KEY, MAILED_KEY):
            cookie_session.pop(key, None)
        session.commit()
    flash(_("Too many wrong codes. Wait a few minutes, then sign in again."), "error")
    return redirect(url_for("auth.login"), code=303)


def _is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > utcnow()


@bp.route("/two-factor/setup", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("5 per minute;20 per hour", methods=["POST"], key_func=_enrolment_key)
def two_factor_setup() -> Response | str | tuple[str, int]:
    """Enrol an authenticator app: the code mailed to the account's address (the password
    alone is not enough), then a first code from the app."""
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
    status = 400 if request.method == "POST" else 200
    if form.validate_on_submit():
        if _is_locked(user):
            return _locked_out_of_enrolment()
        if not twofactor.check_enrolment_code(user, form.email_code.data or ""):
            _count_code_failure(user)
            session.commit()
            if _is_locked(user):
                return _locked_out_of_enrolment()
            form.email_code.errors = [
                _(
                    "This code does not match the one we emailed you, or it has expired. "
                    "Check it, or ask for a new email."
                )
            ]
            form.email_code.data = ""
        else:
            codes = twofactor.confirm_enrolment(user, secret, form.code.data or "")
            if codes is not None:
                user.failed_logins = 0
                user.locked_until = None
            session.commit()
            if codes is not None:
                cookie_session.pop(SETUP_KEY, None)
                cookie_session.pop(MAILED_KEY, None)
                if not current_user.is_authenticated:
                    pending = cookie_session.pop(PENDING_KEY, {}) or {}
                    start_session(user)
                    target = safe_next(pending.get("next")) or home_for(user)
                else:
                    target = home_for(user)
                return render_template("auth/recovery_codes.html", codes=codes, target=target)
            form.code.errors = [
                _("This code is not valid. Check the time on your phone and try again.")
            ]
    else:
        form.email_code.data = ""
    form.code.data = ""
    return _setup_page(user, secret, form, status)


def _setup_page(
    user: User, secret: str, form: EnrolTwoFactorForm, status: int = 200
) -> tuple[str, int]:
    uri = twofactor.provisioning_uri(user, secret)
    return render_template(
        "auth/two_factor_setup.html",
        form=form,
        email=user.email,
        mailed=_code_was_mailed(user),
        minutes=twofactor.ENROLMENT_CODE_MINUTES,
        qr=twofactor.qr_data_uri(uri),
        secret=twofactor.grouped(secret),
        required=twofactor.is_required(user),
    ), status


@bp.post("/two-factor/setup/email")
@limiter.limit("5 per minute")
@limiter.limit("3 per 10 minutes;10 per day", key_func=_enrolment_key)
def two_factor_setup_email() -> Response:
    """Mail the enrolment code (again): a lost or late message, or a code that expired."""
    user = _enrolling_user()
    if user is None:
        if current_user.is_authenticated:
            abort(404)
        return _restart_sign_in()
    if not twofactor.is_enabled(user) and SendEnrolmentCodeForm().validate_on_submit():
        _mail_enrolment_code(user)
        session.commit()
        flash(_("We have emailed the code to %(email)s.", email=user.email), "info")
    return redirect(url_for("auth.two_factor_setup"), code=303)


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
