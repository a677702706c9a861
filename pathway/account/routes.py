"""Routes of the account: /account/… (what belongs to the person, not to a share): the
account page (name and language, e-mail address, password, e-mails received, sign-out
everywhere), and for a patient the data export and the account's deletion."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from pathway.account import privacy
from pathway.account.forms import (
    ActionForm,
    ConfirmEmailForm,
    DeleteAccountForm,
    EmailChangeForm,
    MailChoicesForm,
    PasswordChangeForm,
    ProfileForm,
    mail_field,
)
from pathway.auth import accounts
from pathway.auth.sessions import (
    current_patient,
    patient_only,
    recent_sign_in_required,
    role_required,
    start_session,
)
from pathway.db import session, utcnow
from pathway.documents import pdf_response
from pathway.i18n import LANGUAGE_COOKIE
from pathway.mail_notices import MailKind, set_mail_choices, wants_mail
from pathway.models import Role, User
from pathway.rules import refuse

bp = Blueprint("account", __name__, url_prefix="/account")

# Every signed-in person: patients and staff (Flask-Login's login_required is untyped).
signed_in_only = role_required(*Role)

Page = str | Response | tuple[str, int]


# The account page ------------------------------------------------------------------------


def _is_patient(user: User) -> bool:
    return user.role == Role.PATIENT and user.patient is not None


def _profile_form(user: User) -> ProfileForm:
    form = ProfileForm(data={"display_name": user.display_name, "locale": user.locale})
    if _is_patient(user):
        # A patient's name is the one of their summary, edited there (the identity section).
        del form.display_name
    return form


def _mail_choices_form(user: User) -> MailChoicesForm:
    data: dict[str, Any] = {mail_field(kind): wants_mail(user, kind) for kind in MailKind}
    if user.patient is not None:
        data["tell_gp_of_card_openings"] = user.patient.tell_gp_of_card_openings
    form = MailChoicesForm(data=data)
    if not _is_patient(user):
        del form.tell_gp_of_card_openings
    return form


def _page(**forms: Any) -> Page:
    """The account page, with the form that was just posted (its errors) among fresh ones."""
    user: User = current_user
    shown = {
        "profile_form": _profile_form(user),
        "email_form": EmailChangeForm(formdata=None),
        "password_form": PasswordChangeForm(formdata=None),
        "mails_form": _mail_choices_form(user),
    }
    shown.update(forms)
    for form in (shown["email_form"], shown["password_form"]):
        for name in ("email_password", "current_password", "new_password", "confirm_password"):
            if name in form:
                form[name].data = ""  # a password is never sent back in the page
    failed = any(form.errors for form in forms.values())
    page = render_template(
        "account/index.html",
        patient=user.patient if _is_patient(user) else None,
        mail_kinds=[(kind, mail_field(kind)) for kind in MailKind],
        **shown,
    )
    return (page, 422) if failed else page


@bp.get("/")
@signed_in_only
def index() -> Page:
    return _page()


@bp.post("/profile")
@signed_in_only
def profile() -> Page:
    user: User = current_user
    form = _profile_form(user)
    if not form.validate_on_submit():
        return _page(profile_form=form)
    if "display_name" in form:
        user.display_name = form.display_name.data or ""
    user.locale = form.locale.data or user.locale
    session.commit()
    flash(_("Saved."), "success")
    response = redirect(url_for("account.index"), code=303)
    response.set_cookie(
        LANGUAGE_COOKIE, user.locale, max_age=365 * 86400, samesite="Lax", httponly=True
    )
    return response


@bp.post("/email")
@signed_in_only
@accounts.password_again_limits
def change_email() -> Page:
    user: User = current_user
    form = EmailChangeForm()
    if not form.validate_on_submit():
        return _page(email_form=form)
    asked: list[str] = []

    def request_change(checked: accounts.SignInResult) -> None:
        asked.append(accounts.request_email_change(user, checked, form.new_email.data or ""))

    stopped = _with_password(form.email_password.data, request_change, form, "new_email")
    if stopped is not None:
        return stopped
    new_email = asked[0]
    flash(
        _(
            "We have sent a link to %(email)s: open it within %(hours)d hours to confirm the "
            "new address. Until then, your e-mail address stays the same.",
            email=new_email,
            hours=accounts.EMAIL_CHANGE_HOURS,
        ),
        "info",
    )
    return redirect(url_for("account.index"), code=303)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> Page:
    """The link mailed to the new address. GET only shows a button: mail scanners open
    links, and must not change the address."""
    try:
        user, new_email = accounts.load_email_change(token)
    except accounts.AccountError as error:
        return render_template("auth/link_problem.html", message=str(error)), 410
    form = ConfirmEmailForm()
    if form.validate_on_submit():
        try:
            accounts.confirm_email_change(token)
            session.commit()
        except accounts.AccountError as error:
            session.rollback()
            return render_template("auth/link_problem.html", message=str(error)), 410
        except IntegrityError:
            session.rollback()
            message = _("Another account already uses this e-mail address. Choose another one.")
            return render_template("auth/link_problem.html", message=message), 410
        flash(_("Your e-mail address is now %(email)s.", email=new_email), "success")
        target = "account.index" if current_user.is_authenticated else "auth.login"
        return redirect(url_for(target), code=303)
    del user  # the page names only the new address
    return render_template("account/confirm_email.html", form=form, email=new_email)


@bp.post("/password")
@signed_in_only
@accounts.password_again_limits
def change_password() -> Page:
    user: User = current_user
    form = PasswordChangeForm()
    if not form.validate_on_submit():
        return _page(password_form=form)

    def change(checked: accounts.SignInResult) -> None:
        accounts.change_password(user, checked, form.new_password.data or "")

    stopped = _with_password(form.current_password.data, change, form, "new_password")
    if stopped is not None:
        return stopped
    # Every session ended with the change; this browser gets a new one and stays signed in
    # (signed in as the user object itself, not the proxy to the signed-in user).
    start_session(current_user._get_current_object())
    flash(_("Your password has been changed. Every other device has been signed out."), "success")
    return redirect(url_for("account.index"), code=303)


def _with_password(
    password: str | None,
    act: Callable[[accounts.SignInResult], None],
    form: EmailChangeForm | PasswordChangeForm,
    field: str,
) -> Page | None:
    """Check the current password, then `act` and commit; the page to answer instead when
    the password locked the account or `act` refused (shown on `field`), else None."""
    checked = accounts.check_password_again(current_user, password or "")
    # A wrong password counts towards the lockout whatever happens next.
    session.commit()
    if checked.locked:
        return accounts.end_session_after_lockout()
    try:
        act(checked)
    except accounts.AccountError as error:
        refuse(error, form, field)
        key = "email_form" if isinstance(form, EmailChangeForm) else "password_form"
        return _page(**{key: form})
    session.commit()
    return None


@bp.post("/mails")
@patient_only
def mail_choices() -> Page:
    """The e-mail notices a patient receives (every kind is about their own links, card
    and letters), and whether their GP is told of each opening of their card."""
    user: User = current_user
    form = _mail_choices_form(user)
    if not form.validate_on_submit():
        return _page(mails_form=form)
    set_mail_choices(user, {kind: bool(form[mail_field(kind)].data) for kind in MailKind})
    patient = current_patient()
    patient.tell_gp_of_card_openings = bool(form.tell_gp_of_card_openings.data)
    session.commit()
    flash(_("Your e-mail choices are saved."), "success")
    return redirect(url_for("account.index", _anchor="mails"), code=303)


# The patient's rights: export and deletion -----------------------------------------------


@bp.route("/my-data", methods=["GET", "POST"])
@patient_only
@recent_sign_in_required(back_to=lambda: url_for("account.my_data"))
def my_data() -> str | Response:
    patient = current_patient()
    form = ActionForm()
    if form.validate_on_submit():
        data = privacy.export_patient_data(patient)
        body = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
        response = make_response(body)
        response.headers["Content-Type"] = "application/json; charset=utf-8"
        stamp = utcnow().strftime("%Y-%m-%d")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="pathway-mes-donnees-{stamp}.json"'
        )
        return response
    return render_template("account/my_data.html", form=form, delete_form=DeleteAccountForm())


@bp.post("/my-data.pdf")
@patient_only
@recent_sign_in_required(back_to=lambda: url_for("account.my_data"))
def summary_pdf() -> Response:
    """My whole summary and its access log as a PDF, in my language."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        data = privacy.summary_pdf(current_patient())
    except privacy.PrivacyError as error:
        flash(str(error), "error")
        return redirect(url_for("account.my_data"), code=303)
    stamp = utcnow().strftime("%Y-%m-%d")
    return pdf_response(data, f"pathway-ma-synthese-{stamp}.pdf")


@patient_only
@accounts.password_again_limits
def delete_account() -> str | Response | tuple[str, int]:
    form = DeleteAccountForm()
    if form.validate_on_submit():
        checked = accounts.check_password_again(current_user, form.password.data or "")
        # A wrong password counts towards the lockout whatever happens next (a refusal
        # below rolls back only the deletion).
        session.commit()
        if checked.locked:
            return accounts.end_session_after_lockout()
        try:
            privacy.delete_account(current_user, checked)
        except privacy.PrivacyError as error:
            refuse(error, form)
        else:
            session.commit()
            logout_user()
            flash(
                _("Your account and all your data have been deleted. Your links no longer open."),
                "success",
            )
            return redirect(url_for("site.index"), code=303)
    status = 422 if form.errors else 200
    return render_template("account/delete_account.html", form=form), status


bp.add_url_rule("/delete", view_func=delete_account, methods=["GET", "POST"])
# The former address: a bookmark is sent on (308 keeps the method); a form posted there
# from a page opened before the move is still served, by the same view.
bp.add_url_rule("/delete-account", view_func=delete_account, methods=["POST"])


@bp.get("/delete-account", endpoint="delete_account_moved")
def delete_account_moved() -> Response:
    return redirect(url_for("account.delete_account"), code=308)
