"""Routes of the inbox blueprint: /inbox/… (notifications, replies, the team's answers)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.sansio.blueprints import BlueprintSetupState
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from pathway import exchanges
from pathway.auth.sessions import role_required
from pathway.db import session
from pathway.inbox.forms import ActionForm, AnswerForm, CommentForm, ForwardForm
from pathway.models import Contribution, Patient, Role, Share
from pathway.sharing import shares

bp = Blueprint("inbox", __name__, url_prefix="/inbox")
signed_in = role_required(Role.PATIENT, Role.EDUCATOR, Role.ADMIN)
patient_only = role_required(Role.PATIENT)
team_only = role_required(Role.EDUCATOR, Role.ADMIN)


@bp.record_once
def _register_template_global(state: BlueprintSetupState) -> None:
    # For the team's enrollment page: templates/inbox/_enrollment_contributions.html.
    state.app.jinja_env.globals["forwarded_contributions"] = exchanges.forwarded_for_enrollment


@bp.app_context_processor
def _unread_badge() -> dict[str, Any]:
    def unread_notifications() -> int:
        """The signed-in user's unread notifications (0 for visitors, without a query)."""
        if not current_user.is_authenticated:
            return 0
        return exchanges.unread_count(current_user)

    return {"unread_notifications": unread_notifications}


def _patient() -> Patient:
    patient = current_user.patient
    if patient is None:
        abort(404)
    return patient


@bp.get("/")
@signed_in
def index() -> str:
    notifications = exchanges.notifications_for(current_user)
    if current_user.role == Role.PATIENT:
        patient = _patient()
        page = render_template(
            "inbox/patient.html",
            notifications=notifications,
            contributions=exchanges.contributions_of(patient),
            conversations=exchanges.shares_with_conversation(patient),
        )
    else:
        page = render_template(
            "inbox/team.html",
            notifications=notifications,
            contributions=exchanges.forwarded_to(current_user),
        )
    # Showing the list is reading it: the badge clears once the page was rendered.
    exchanges.mark_notifications_read(current_user)
    session.commit()
    return page


# --- The patient decides ---------------------------------------------------------


def _contribution_page(
    contribution: Contribution, status: int = 200, **forms: Any
) -> tuple[str, int]:
    patient = _patient()
    forward_form = forms.get("forward_form") or ForwardForm(formdata=None)
    forward_form.enrollment.choices = [(e.id, e.programme.name) for e in patient.enrollments]
    comment_form = forms.get("comment_form") or CommentForm(
        formdata=None, comment=contribution.patient_comment
    )
    share = session.get(Share, contribution.share_id)
    return (
        render_template(
            "inbox/contribution.html",
            contribution=contribution,
            item=exchanges.contribution_values(contribution, for_team=True),
            share=share,
            enrollment=contribution.enrollment,
            forward_form=forward_form,
            comment_form=comment_form,
            action_form=ActionForm(formdata=None),
            can_forward=bool(patient.enrollments),
        ),
        status,
    )


@bp.get("/contributions/<int:contribution_id>")
@patient_only
def contribution(contribution_id: int) -> tuple[str, int]:
    item = exchanges.patient_contribution(_patient(), contribution_id)
    exchanges.mark_read(item)
    session.commit()
    return _contribution_page(item)


@bp.post("/contributions/<int:contribution_id>/forward")
@patient_only
def forward(contribution_id: int) -> Response | tuple[str, int]:
    item = exchanges.patient_contribution(_patient(), contribution_id)
    form = ForwardForm()
    form.enrollment.choices = [(e.id, e.programme.name) for e in _patient().enrollments]
    if not form.validate():
        return _contribution_page(item, 422, forward_form=form)
    try:
        enrollment = exchanges.forward(
            item, form.enrollment.data, form.comment.data or "", actor=current_user
        )
    except exchanges.ExchangeError as error:
        session.rollback()
        if error.field in ("enrollment", "comment"):
            field = getattr(form, error.field)
            field.errors = [*field.errors, str(error)]
        else:
            flash(str(error), "error")
        return _contribution_page(item, 422, forward_form=form)
    session.commit()
    flash(
        _("Passed on to the team of %(programme)s.", programme=enrollment.programme.name), "success"
    )
    return redirect(url_for("inbox.contribution", contribution_id=item.id))


@bp.post("/contributions/<int:contribution_id>/keep")
@patient_only
def keep(contribution_id: int) -> Response | tuple[str, int]:
    item = exchanges.patient_contribution(_patient(), contribution_id)
    if not ActionForm().validate():
        abort(400)
    try:
        exchanges.keep(item)
    except exchanges.ExchangeError as error:
        session.rollback()
        flash(str(error), "error")
        return _contribution_page(item, 422)
    session.commit()
    flash(_("Kept for you: your ETP team will not see it."), "success")
    return redirect(url_for("inbox.contribution", contribution_id=item.id))


@bp.post("/contributions/<int:contribution_id>/comment")
@patient_only
def comment(contribution_id: int) -> Response | tuple[str, int]:
    item = exchanges.patient_contribution(_patient(), contribution_id)
    form = CommentForm()
    if not form.validate():
        return _contribution_page(item, 422, comment_form=form)
    try:
        exchanges.comment(item, form.comment.data or "")
    except exchanges.ExchangeError as error:
        session.rollback()
        form.comment.errors = [*form.comment.errors, str(error)]
        return _contribution_page(item, 422, comment_form=form)
    session.commit()
    flash(_("Your comment is saved."), "success")
    return redirect(url_for("inbox.contribution", contribution_id=item.id))


@bp.post("/contributions/<int:contribution_id>/delete")
@patient_only
def delete(contribution_id: int) -> Response:
    item = exchanges.patient_contribution(_patient(), contribution_id)
    if not ActionForm().validate():
        abort(400)
    exchanges.delete(item, actor=current_user)
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
        entries=exchanges.patient_conversation(share),
    )


# --- The team ---------------------------------------------------------------------


def _team_page(
    item: Contribution, status: int = 200, answer_form: AnswerForm | None = None
) -> tuple[str, int]:
    enrollment = item.enrollment
    share = session.get(Share, item.share_id)
    return (
        render_template(
            "inbox/team_contribution.html",
            item=exchanges.contribution_values(item, for_team=True),
            enrollment=enrollment,
            patient=enrollment.patient if enrollment else None,
            share_label=share.label if share else "",
            share_active=share is not None and shares.is_active(share),
            entries=exchanges.team_conversation(item.share_id),
            answer_form=answer_form or AnswerForm(formdata=None),
            action_form=ActionForm(formdata=None),
            objectives_left=max(0, _max_objectives() - len(enrollment.objectives))
            if enrollment
            else 0,
        ),
        status,
    )


def _max_objectives() -> int:
    from pathway.enrollments import MAX_OBJECTIVES

    return MAX_OBJECTIVES


@bp.get("/team/contributions/<int:contribution_id>")
@team_only
def team_contribution(contribution_id: int) -> tuple[str, int]:
    return _team_page(exchanges.team_contribution(current_user, contribution_id))


@bp.post("/team/contributions/<int:contribution_id>/adopt")
@team_only
def adopt(contribution_id: int) -> Response | tuple[str, int]:
    item = exchanges.team_contribution(current_user, contribution_id)
    if not ActionForm().validate():
        abort(400)
    try:
        exchanges.adopt_objective(item, current_user)
    except exchanges.ExchangeError as error:
        session.rollback()
        flash(str(error), "error")
        return _team_page(item, 422)
    session.commit()
    flash(_("The objective was added to the patient's objectives."), "success")
    return redirect(url_for("inbox.team_contribution", contribution_id=item.id))


@bp.post("/team/contributions/<int:contribution_id>/answer")
@team_only
def answer(contribution_id: int) -> Response | tuple[str, int]:
    item = exchanges.team_contribution(current_user, contribution_id)
    form = AnswerForm()
    if not form.validate():
        return _team_page(item, 422, answer_form=form)
    try:
        exchanges.team_reply(item, current_user, form.body.data or "")
    except exchanges.ExchangeError as error:
        session.rollback()
        form.body.errors = [*form.body.errors, str(error)]
        return _team_page(item, 422, answer_form=form)
    session.commit()
    flash(_("Your answer was posted on the professional's link."), "success")
    return redirect(url_for("inbox.team_contribution", contribution_id=item.id))
