"""Routes of the auth blueprint: /auth/…"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from pathway import accounts
from pathway.auth.forms import ChoosePasswordForm, ForgotPasswordForm, SignInForm
from pathway.auth.sessions import start_session
from pathway.db import session
from pathway.extensions import limiter
from pathway.site.navigation import home_for, safe_next

bp = Blueprint("auth", __name__, url_prefix="/auth")


def _email_key() -> str:
    return "signin:" + accounts.normalise_email(request.form.get("email", ""))[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
@limiter.limit("20 per hour", methods=["POST"], key_func=_email_key)
def login() -> Response | str:
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignInForm()
    if form.validate_on_submit():
        result = accounts.authenticate(form.email.data or "", form.password.data or "")
        session.commit()
        if result.user is not None:
            login_user(result.user)
            start_session()
            return redirect(safe_next(request.args.get("next")) or home_for(result.user))
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
            session.rollback()
            form.password.errors = [str(error)]
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
            session.rollback()
            form.password.errors = [str(error)]
        else:
            session.commit()
            flash(_("Your password has been changed. Sign in with it."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset.html", form=form)


