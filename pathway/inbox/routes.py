"""Routes of the inbox: /inbox/… (notifications; the patient decides on the replies received)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from pathway import notifications
from pathway.auth.sessions import patient_only, role_required
from pathway.db import session
from pathway.inbox.forms import ActionForm, DecisionForm
from pathway.models import Contribution, Patient, Role, Share
from pathway.rules import refuse
from pathway.sharing import replies, shares
from pathway.team import replies as team_replies

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
signed_in = role_required(Role.PATIENT, Role.EDUCATOR, Role.ADMIN)


def _patient() -> Patient:
    patient: Patient | None = current_user.patient
    if patient is None:
        abort(404)
    return patient


@bp.get("/")
@signed_in
def index() -> str:
    notices = notifications.notifications_for(current_user)
    if current_user.role == Role.PATIENT:
        patient = _patient()
        page = render_template(
            "inbox/patient.html",
            notifications=notices,
            contributions=replies.contributions_of(patient),
            conversations=replies.shares_with_conversation(patient),
        )
    else:
        page = render_template(
            "inbox/team.html",
            notifications=notices,
            contributions=team_replies.forwarded_to(current_user),
        )
    # Showing the list is reading it: the badge clears once the page was rendered.
    notifications.mark_notifications_read(current_user)
    session.commit()
    return page


# --- The patient decides ---------------------------------------------------------


def _contribution_page(
    contribution: Contribution, status: int = 200, form: DecisionForm | None = None
) -> tuple[str, int]:
    patient = _patient()
    if form is None:
        form = DecisionForm(formdata=None, comment=contribution.patient_comment)
    form.enrollment.choices = [(e.id, e.programme.name) for e in patient.enrollments]
    share = session.get(Share, contribution.share_id)
    return (
        render_template(
            "inbox/contribution.html",
            contribution=contribution,
            item=replies.contribution_values(contribution, for_team=True),
            share=share,
            enrollment=contribution.enrollment,
            form=form,
            can_forward=bool(patient.enrollments),
        ),
        status,
    )


def _decision() -> DecisionForm:
    form = DecisionForm()
    form.enrollment.choices = [(e.id, e.programme.name) for e in _patient().enrollments]
    return form


@bp.get("/contributions/<int:contribution_id>")
@patient_only
def contribution(contribution_id: int) -> tuple[str, int]:
    item = replies.patient_contribution(_patient(), contribution_id)
    replies.mark_read(item)
    session.commit()
    return _contribution_page(item)


# The page has one form, with one comment box: each button of it posts the same fields to
# one of these three, so what was typed is never left behind by the button tapped.


@bp.post("/contributions/<int:contribution_id>/forward")
@patient_only
def forward(contribution_id: int) -> Response | tuple[str, int]:
    item = replies.patient_contribution(_patient(), contribution_id)
    form = _decision()
    if not form.validate():
        return _contribution_page(item, 422, form)
    try:
        enrollment = replies.forward(
            item, form.enrollment.data, form.comment.data or "", actor=current_user
        )
    except replies.ExchangeError as error:
        refuse(error, form)
        return _contribution_page(item, 422, form)
    session.commit()
    flash(
        _("Passed on to the team of %(programme)s.", programme=enrollment.programme.name), "success"
    )
    return redirect(url_for("inbox.contribution", contribution_id=item.id))


@bp.post("/contributions/<int:contribution_id>/keep")
@patient_only
def keep(contribution_id: int) -> Response | tuple[str, int]:
    item = replies.patient_contribution(_patient(), contribution_id)
    form = _decision()
    if not form.validate():
        return _contribution_page(item, 422, form)
    try:
        replies.keep(item)
        replies.comment(item, form.comment.data or "")
    except replies.ExchangeError as error:
        refuse(error, form, "comment")
        return _contribution_page(item, 422, form)
    session.commit()
    flash(_("Kept for you: your ETP team will not see it."), "success")
    return redirect(url_for("inbox.contribution", contribution_id=item.id))


@bp.post("/contributions/<int:contribution_id>/comment")
@patient_only
def comment(contribution_id: int) -> Response | tuple[str, int]:
    item = replies.patient_contribution(_patient(), contribution_id)
    form = _decision()
    if not form.validate():
        return _contribution_page(item, 422, form)
    text = (form.comment.data or "").strip()
    if text == item.patient_comment:
        flash(_("Your comment is unchanged: there was nothing to save."), "info")
        return redirect(url_for("inbox.contribution", contribution_id=item.id))
    try:
        replies.comment(item, text)
    except replies.ExchangeError as error:
        refuse(error, form, "comment")
        return _contribution_page(item, 422, form)
    session.commit()
    flash(
        _("Your comment is saved.") if text else _("Your comment is deleted."),
        "success",
    )
    return redirect(url_for("inbox.contribution", contribution_id=item.id))


@bp.get("/contributions/<int:contribution_id>/delete")
@patient_only
def confirm_delete(contribution_id: int) -> str:
    """Say what deleting does before it is done: nothing is lost by one tap."""
    item = replies.patient_contribution(_patient(), contribution_id)
    return render_template(
        "inbox/delete.html",
        contribution=item,
        item=replies.contribution_values(item),
        action_form=ActionForm(formdata=None),
    )


@bp.post("/contributions/<int:contribution_id>/delete")
@patient_only
def delete(contribution_id: int) -> Response:
    item = replies.patient_contribution(_patient(), contribution_id)
    if not ActionForm().validate():
        abort(400)
    replies.delete(item, actor=current_user)
    session.commit()
    flash(_("The reply was deleted."), "success")
    return redirect(url_for("inbox.index"))


@bp.get("/shares/<public_id>")
@patient_only
def conversation(public_id: str) -> str:
    share = shares.patient_share(_patient(), public_id)
    return render_template(
        "inbox/conversation.html",
        share=share,
        is_active=shares.is_active(share),
        entries=replies.patient_conversation(share),
    )
