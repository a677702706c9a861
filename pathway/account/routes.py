"""Routes of the account: /account/… (what belongs to the person, not to a share): the data
export and the account's deletion."""

from __future__ import annotations

import json

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from werkzeug.wrappers import Response

from pathway.account import privacy
from pathway.account.forms import ActionForm, DeleteAccountForm
from pathway.auth import accounts
from pathway.auth.sessions import current_patient, patient_only, recent_sign_in_required
from pathway.db import session, utcnow
from pathway.rules import refuse

bp = Blueprint("account", __name__, url_prefix="/account")


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


@bp.route("/delete-account", methods=["GET", "POST"])
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
