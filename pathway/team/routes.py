"""Routes of the team blueprint: /team/…"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from pathway import accounts, enrollments
from pathway.auth.sessions import role_required
from pathway.db import session
from pathway.models import Role
from pathway.team.forms import InvitePatientForm

bp = Blueprint("team", __name__, url_prefix="/team")
staff_only = role_required(Role.EDUCATOR, Role.ADMIN)


@bp.get("/")
@staff_only
def index() -> str:
    return render_template(
        "team/index.html",
        enrollments=enrollments.enrollments_of(current_user),
        programmes=enrollments.programmes_of(current_user),
    )


@bp.route("/patients/new", methods=["GET", "POST"])
@staff_only
def invite_patient() -> Response | str:
    form = InvitePatientForm()
    programmes = enrollments.programmes_of(current_user)
    form.programme_id.choices = [(p.id, p.name) for p in programmes]
    if form.validate_on_submit():
        programme = enrollments.get_programme(current_user, form.programme_id.data)
        try:
            enrollments.enroll_new_patient(
                current_user,
                programme,
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                birth_date=form.birth_date.data,
                email=form.email.data or "",
            )
        except accounts.AccountError as error:
            session.rollback()
            form.email.errors = [str(error)]
        else:
            session.commit()
            flash(_("The patient is enrolled and has been sent an invitation."), "success")
            return redirect(url_for("team.index"))
    return render_template("team/invite.html", form=form)
