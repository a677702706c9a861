"""Routes of the team blueprint: /team/…"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from pathway import identifiers, images, letters
from pathway.auth import accounts
from pathway.auth.sessions import recent_sign_in_required, role_required
from pathway.db import session
from pathway.documents import pdf_response
from pathway.errors import render_error
from pathway.models import (
    AttendanceStatus,
    CompetencyStatus,
    Contribution,
    Enrollment,
    LetterKind,
    ObjectiveStatus,
    Programme,
    Role,
    Sex,
    Share,
)
from pathway.models.patients import IdentityStatus
from pathway.programme import consent, enrollments, invitations
from pathway.programme.enrollments import EditConflict, EnrollmentError
from pathway.rules import refuse
from pathway.sharing import replies, shares
from pathway.team import forms
from pathway.team import replies as team_replies
from pathway.team import signature as team_signature

bp = Blueprint("team", __name__, url_prefix="/team")
staff_only = role_required(Role.EDUCATOR, Role.ADMIN)


@bp.get("/")
@staff_only
def index() -> str:
    return render_template(
        "team/index.html",
        enrollments=enrollments.enrollments_of(current_user),
        programmes=enrollments.programmes_of(current_user),
        invitations=invitations.invitations_of(current_user),
    )


# Programmes and their workshop catalogue ---------------------------------------------


@bp.route("/programmes/<int:programme_id>", methods=["GET", "POST"])
@staff_only
def programme(programme_id: int) -> Response | tuple[str, int] | str:
    programme = enrollments.get_programme(current_user, programme_id)
    form = forms.ProgrammeForm(
        prefix="programme", obj=None if request.method == "POST" else programme
    )
    if request.method != "POST":
        form.coordinator_sex.data = programme.coordinator_sex or ""
    if form.validate_on_submit():
        try:
            enrollments.update_programme(
                programme,
                hospital=form.hospital.data or "",
                service=form.service.data or "",
                address=form.address.data or "",
                coordinator_name=form.coordinator_name.data or "",
                coordinator_phone=form.coordinator_phone.data or "",
                coordinator_email=form.coordinator_email.data or "",
                coordinator_sex=_sex(form.coordinator_sex.data),
                coordinator_profession=form.coordinator_profession.data or "",
                finess=form.finess.data or "",
                ars_reference=form.ars_reference.data or "",
                city=form.city.data or "",
                sender_email=form.sender_email.data or "",
            )
        except EnrollmentError as error:
            refuse(error, form)
        else:
            session.commit()
            flash(_("The programme's details are saved."), "success")
            return redirect(url_for("team.programme", programme_id=programme.id))
    status = 400 if form.errors else 200
    return _programme_page(programme, form=form, status=status)


def _sex(value: str | None) -> Sex | None:
    return Sex(value) if value in ("F", "M") else None


def _programme_page(
    programme: Programme,
    *,
    form: forms.ProgrammeForm | None = None,
    workshop_form: forms.WorkshopForm | None = None,
    logo_form: forms.LogoForm | None = None,
    status: int = 200,
) -> tuple[str, int]:
    if form is None:
        form = forms.ProgrammeForm(prefix="programme", formdata=None, obj=programme)
        form.coordinator_sex.data = programme.coordinator_sex or ""
    return render_template(
        "team/programme.html",
        programme=programme,
        form=form,
        workshop_form=workshop_form or forms.WorkshopForm(prefix="workshop", formdata=None),
        logo_form=logo_form or forms.LogoForm(prefix="logo", formdata=None),
        has_logo=programme.logo_type is not None,
        catalogue_format=letters.workshop_format,
    ), status


@bp.post("/programmes/<int:programme_id>/logo")
@staff_only
def programme_logo(programme_id: int) -> Response | tuple[str, int]:
    programme = enrollments.get_programme(current_user, programme_id)
    logo_form = forms.LogoForm(prefix="logo")
    if logo_form.validate_on_submit():
        if logo_form.remove.data:
            enrollments.remove_logo(programme)
            session.commit()
            flash(_("The logo is removed: letters are printed without one."), "success")
            return redirect(url_for("team.programme", programme_id=programme.id))
        upload = logo_form.logo.data
        data = upload.read(images.LOGO_MAX_BYTES + 1) if upload else b""
        try:
            enrollments.set_logo(programme, data)
        except images.ImageRefused as error:
            refuse(error, logo_form, "logo")
        else:
            session.commit()
            flash(_("The logo is saved: it is printed on the next letters."), "success")
            return redirect(url_for("team.programme", programme_id=programme.id))
    return _programme_page(programme, logo_form=logo_form, status=400)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    """A logo over the request limit: the programme's page with the logo's message."""
    programme_id = (request.view_args or {}).get("programme_id")
    if (
        request.endpoint != "team.programme_logo"
        or not isinstance(programme_id, int)
        or not current_user.is_authenticated
        or not current_user.is_staff
    ):
        return render_error(413)
    session.rollback()
    programme = enrollments.get_programme(current_user, programme_id)
    logo_form = forms.LogoForm(prefix="logo", formdata=None)
    logo_form.logo.errors = [images.too_large_message()]
    return _programme_page(programme, logo_form=logo_form, status=413)


@bp.post("/programmes/<int:programme_id>/workshops")
@staff_only
def add_workshop(programme_id: int) -> Response | tuple[str, int]:
    programme = enrollments.get_programme(current_user, programme_id)
    workshop_form = forms.WorkshopForm(prefix="workshop")
    if workshop_form.validate_on_submit():
        try:
            enrollments.add_workshop(
                programme,
                workshop_form.title.data or "",
                workshop_form.description.data or "",
                collective=bool(workshop_form.is_collective.data),
                duration_minutes=workshop_form.duration_minutes.data,
            )
        except EnrollmentError as error:
            refuse(error, workshop_form, "title")
        else:
            session.commit()
            flash(_("The workshop is added to the catalogue."), "success")
            return redirect(url_for("team.programme", programme_id=programme.id) + "#workshops")
    return _programme_page(programme, workshop_form=workshop_form, status=400)


# The educator's signature ------------------------------------------------------------


@bp.route("/signature", methods=["GET", "POST"])
@staff_only
def signature() -> Response | tuple[str, int]:
    form = forms.SignatureForm(obj=None if request.method == "POST" else current_user)
    if form.validate_on_submit():
        try:
            team_signature.update_signature(
                current_user,
                display_name=form.display_name.data or "",
                profession=form.profession.data or "",
                rpps=form.rpps.data or "",
            )
        except team_signature.SignatureError as error:
            refuse(error, form)
        else:
            session.commit()
            flash(_("Your signature is saved."), "success")
            return redirect(url_for("team.signature"))
    return render_template("team/signature.html", form=form), 400 if form.errors else 200


# Enrolling -------------------------------------------------------------------------


@bp.route("/patients/new", methods=["GET", "POST"])
@staff_only
def invite_patient() -> Response | str:
    form = forms.InvitePatientForm()
    existing_form = forms.EnrolExistingForm(prefix="existing", formdata=None)
    programmes = enrollments.programmes_of(current_user)
    form.programme_id.choices = existing_form.programme_id.choices = [
        SelectChoice(p.id, p.name) for p in programmes
    ]
    if form.validate_on_submit():
        programme = enrollments.get_programme(current_user, form.programme_id.data)
        try:
            enrollment, _link = enrollments.enroll_new_patient(
                current_user,
                programme,
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                birth_date=form.birth_date.data,
                email=form.email.data or "",
                sex=_sex(form.sex.data),
            )
        except accounts.AccountError as error:
            refuse(error, form, "email")
        else:
            session.commit()
            flash(_("The patient is enrolled and has been sent an invitation."), "success")
            return redirect(url_for("team.enrollment", enrollment_id=enrollment.id))
    return render_template("team/invite.html", form=form, existing_form=existing_form)


@bp.post("/patients/existing")
@staff_only
def enrol_existing() -> Response | tuple[str, int]:
    form = forms.InvitePatientForm(formdata=None)
    existing_form = forms.EnrolExistingForm(prefix="existing")
    programmes = enrollments.programmes_of(current_user)
    form.programme_id.choices = existing_form.programme_id.choices = [
        SelectChoice(p.id, p.name) for p in programmes
    ]
    if existing_form.validate_on_submit():
        programme = enrollments.get_programme(current_user, existing_form.programme_id.data)
        try:
            invitations.invite_existing_patient(
                current_user, programme, existing_form.email.data or ""
            )
        except EnrollmentError as error:
            refuse(error, existing_form, "email")
        else:
            session.commit()
            flash(
                _(
                    "The invitation is sent. The patient answers it in their space; you will "
                    "see their path once they accept."
                ),
                "success",
            )
            return redirect(url_for("team.index", _anchor="invitations"))
    return render_template("team/invite.html", form=form, existing_form=existing_form), 400


# One patient's path ------------------------------------------------------------------


def _forms(enrollment: Enrollment, failed: FlaskForm | None = None) -> dict[str, Any]:
    """Every form of the enrollment page, filled from the record; the failed one keeps its input."""
    version = str(enrollment.version)
    built: dict[str, Any] = {
        "path_form": forms.PathForm(prefix="path", formdata=None, obj=enrollment),
        "objective_form": forms.ObjectiveForm(prefix="objective", formdata=None),
        "plan_form": forms.PlanWorkshopForm(prefix="plan", formdata=None),
        "competency_form": forms.CompetencyForm(prefix="competency", formdata=None),
        "competency_status_form": forms.CompetencyStatusForm(
            prefix="competency_status", formdata=None
        ),
        "consent_form": forms.OralConsentForm(prefix="consent", formdata=None),
        "identity_form": _identity_form(enrollment),
        "action_form": FlaskForm(formdata=None),
    }
    for form in built.values():
        if hasattr(form, "version"):
            form.version.data = version
    planned = {a.workshop_id for a in enrollment.attendances}
    built["plan_form"].workshop_id.choices = [
        SelectChoice(w.id, w.title) for w in enrollment.programme.workshops if w.id not in planned
    ]
    if failed is not None:
        name = {
            "path": "path_form",
            "objective": "objective_form",
            "plan": "plan_form",
            "competency": "competency_form",
            "competency_status": "competency_status_form",
            "consent": "consent_form",
            "identity": "identity_form",
        }.get(failed._prefix.rstrip("-"))
        if name:
            if hasattr(failed, "version"):
                # The page now shows the saved record: a new submission starts from it.
                failed.version.data = version
            if name == "plan_form":
                failed.workshop_id.choices = built["plan_form"].workshop_id.choices
            built[name] = failed
    return built


def _identity_form(enrollment: Enrollment) -> forms.IdentityForm:
    patient = enrollment.patient
    form = forms.IdentityForm(prefix="identity", formdata=None, obj=patient)
    form.sex.data = patient.sex or ""
    form.ins.data = identifiers.format_ins(patient.ins) if patient.ins else ""
    form.ins_oid.data = patient.ins_oid or ""
    form.identity_status.data = (patient.identity_status or IdentityStatus.PROVISIONAL).value
    return form


def _enrollment_page(
    enrollment: Enrollment, failed: FlaskForm | None = None, status: int = 200, **extra: Any
) -> tuple[str, int]:
    return render_template(
        "team/enrollment.html",
        enrollment=enrollment,
        consent=consent.active_consent(enrollment),
        consents=enrollment.consents,
        letters=letters.latest_letters(enrollment),
        all_letters=sorted(enrollment.letters, key=lambda letter: (letter.kind, -letter.version)),
        objective_statuses=forms.OBJECTIVE_STATUSES,
        attendance_statuses=forms.ATTENDANCE_STATUSES,
        competency_statuses=forms.COMPETENCY_STATUSES,
        max_objectives=enrollments.MAX_OBJECTIVES,
        replies=team_replies.forwarded_for_enrollment(enrollment),
        **_forms(enrollment, failed),
        **extra,
    ), status


@bp.get("/enrollments/<int:enrollment_id>")
@staff_only
def enrollment(enrollment_id: int) -> tuple[str, int]:
    return _enrollment_page(enrollments.get_enrollment(current_user, enrollment_id))


def _change(
    enrollment_id: int,
    form: FlaskForm,
    action: Callable[[Enrollment, Any], object],
    done: str,
    anchor: str,
    **extra: Any,
) -> Response | tuple[str, int]:
    """Load → check access → validate → act → one commit; a stale form is refused with a message.

    `extra` goes to the page shown again on a refusal (which item's form failed)."""
    enrollment = enrollments.get_enrollment(current_user, enrollment_id)
    if not form.validate_on_submit():
        return _enrollment_page(enrollment, form, 400, **extra)
    try:
        action(enrollment, form)
        session.flush()
    except (EditConflict, StaleDataError):
        session.rollback()
        flash(enrollments.conflict_message(), "error")
        enrollment = enrollments.get_enrollment(current_user, enrollment_id)
        return _enrollment_page(enrollment, form, 409, conflict=True, **extra)
    except (EnrollmentError, consent.ConsentError) as error:
        # Under the field at fault when the error names one of this form's, else on top.
        refuse(error, form)
        enrollment = enrollments.get_enrollment(current_user, enrollment_id)
        return _enrollment_page(enrollment, form, 400, **extra)
    session.commit()
    flash(done, "success")
    return redirect(url_for("team.enrollment", enrollment_id=enrollment_id) + "#" + anchor)


@bp.post("/enrollments/<int:enrollment_id>/identity")
@staff_only
def save_identity(enrollment_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.IdentityForm) -> None:
        enrollments.update_identity(
            enrollment.patient,
            sex=_sex(form.sex.data),
            birth_name=form.birth_name.data or "",
            birth_first_names=form.birth_first_names.data or "",
            ins=form.ins.data or "",
            ins_oid=form.ins_oid.data or None,
            identity_status=IdentityStatus(form.identity_status.data),
        )

    return _change(
        enrollment_id,
        forms.IdentityForm(prefix="identity"),
        act,
        _("The patient's identity is saved."),
        "identity",
    )


@bp.post("/enrollments/<int:enrollment_id>/path")
@staff_only
def save_path(enrollment_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.PathForm) -> None:
        enrollments.save_path(
            enrollment,
            form.version.data,
            bep_synthesis=form.bep_synthesis.data or "",
            gp_topics=form.gp_topics.data or "",
        )

    return _change(enrollment_id, forms.PathForm(prefix="path"), act, _("Saved."), "bep")


@bp.post("/enrollments/<int:enrollment_id>/objectives")
@staff_only
def add_objective(enrollment_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.ObjectiveForm) -> None:
        enrollments.add_objective(
            enrollment,
            form.version.data,
            form.text.data or "",
            treatment_related=bool(form.is_treatment_related.data),
            proposed_by=current_user.display_name or current_user.email,
        )

    return _change(
        enrollment_id,
        forms.ObjectiveForm(prefix="objective"),
        act,
        _("The objective is added."),
        "objectives",
    )


@bp.post("/enrollments/<int:enrollment_id>/objectives/<int:objective_id>/status")
@staff_only
def objective_status(enrollment_id: int, objective_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.ObjectiveStatusForm) -> None:
        enrollments.set_objective_status(
            enrollment, form.version.data, objective_id, ObjectiveStatus(form.status.data)
        )

    return _change(enrollment_id, forms.ObjectiveStatusForm(), act, _("Saved."), "objectives")


@bp.post("/enrollments/<int:enrollment_id>/objectives/<int:objective_id>/delete")
@staff_only
def remove_objective(enrollment_id: int, objective_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.VersionedForm) -> None:
        enrollments.remove_objective(enrollment, form.version.data, objective_id)

    return _change(
        enrollment_id, forms.VersionedForm(), act, _("The objective is removed."), "objectives"
    )


@bp.post("/enrollments/<int:enrollment_id>/workshops")
@staff_only
def plan_workshop(enrollment_id: int) -> Response | tuple[str, int]:
    enrollment = enrollments.get_enrollment(current_user, enrollment_id)
    form = forms.PlanWorkshopForm(prefix="plan")
    form.workshop_id.choices = [SelectChoice(w.id, w.title) for w in enrollment.programme.workshops]

    def act(enrollment: Enrollment, form: forms.PlanWorkshopForm) -> None:
        enrollments.plan_workshop(
            enrollment, form.version.data, form.workshop_id.data, form.scheduled_on.data
        )

    return _change(enrollment_id, form, act, _("The workshop is planned."), "workshops")


@bp.post("/enrollments/<int:enrollment_id>/attendances/<int:attendance_id>/status")
@staff_only
def attendance_status(enrollment_id: int, attendance_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.AttendanceForm) -> None:
        enrollments.set_attendance(
            enrollment, form.version.data, attendance_id, AttendanceStatus(form.status.data)
        )

    return _change(enrollment_id, forms.AttendanceForm(), act, _("Saved."), "workshops")


@bp.post("/enrollments/<int:enrollment_id>/attendances/<int:attendance_id>/delete")
@staff_only
def remove_attendance(enrollment_id: int, attendance_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.VersionedForm) -> None:
        enrollments.remove_attendance(enrollment, form.version.data, attendance_id)

    return _change(
        enrollment_id,
        forms.VersionedForm(),
        act,
        _("The workshop is removed from the plan."),
        "workshops",
    )


@bp.post("/enrollments/<int:enrollment_id>/competencies")
@staff_only
def add_competency(enrollment_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.CompetencyForm) -> None:
        enrollments.add_competency(
            enrollment,
            form.version.data,
            form.text.data or "",
            status=CompetencyStatus(form.level.data),
        )

    return _change(
        enrollment_id,
        forms.CompetencyForm(prefix="competency"),
        act,
        _("The competency is added."),
        "evaluation",
    )


@bp.post("/enrollments/<int:enrollment_id>/competencies/<int:competency_id>/status")
@staff_only
def competency_status(enrollment_id: int, competency_id: int) -> Response | tuple[str, int]:
    enrollment = enrollments.get_enrollment(current_user, enrollment_id)
    if all(c.id != competency_id for c in enrollment.competencies):
        abort(404)  # another enrollment's competency, or none: before any message about it

    def act(enrollment: Enrollment, form: forms.CompetencyStatusForm) -> None:
        enrollments.set_competency_status(
            enrollment, form.version.data, competency_id, CompetencyStatus(form.status.data)
        )

    return _change(
        enrollment_id,
        forms.CompetencyStatusForm(prefix="competency_status"),
        act,
        _("The competency's status is saved."),
        "evaluation",
        failed_competency_id=competency_id,
    )


@bp.post("/enrollments/<int:enrollment_id>/competencies/<int:competency_id>/delete")
@staff_only
def remove_competency(enrollment_id: int, competency_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.VersionedForm) -> None:
        enrollments.remove_competency(enrollment, form.version.data, competency_id)

    return _change(
        enrollment_id, forms.VersionedForm(), act, _("The competency is removed."), "evaluation"
    )


def _consent_panel(enrollment_id: int) -> str:
    return url_for("team.enrollment", enrollment_id=enrollment_id, _anchor="consent")


@bp.post("/enrollments/<int:enrollment_id>/consent")
@staff_only
@recent_sign_in_required(back_to=_consent_panel)
def record_consent(enrollment_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: forms.OralConsentForm) -> None:
        consent.record_oral_consent(enrollment, current_user, form.given_on.data)

    return _change(
        enrollment_id,
        forms.OralConsentForm(prefix="consent"),
        act,
        _("The patient's agreement is recorded."),
        "consent",
    )


@bp.post("/enrollments/<int:enrollment_id>/consent/withdraw")
@staff_only
@recent_sign_in_required(back_to=_consent_panel)
def withdraw_consent(enrollment_id: int) -> Response | tuple[str, int]:
    def act(enrollment: Enrollment, form: FlaskForm) -> None:
        if not consent.withdraw_consent(enrollment, current_user):
            raise consent.ConsentError(_("There is no agreement in force to withdraw."))

    return _change(
        enrollment_id, FlaskForm(), act, _("The patient's agreement is withdrawn."), "consent"
    )


# Letters ---------------------------------------------------------------------------


@bp.route("/enrollments/<int:enrollment_id>/letters/<any(start,end):kind>", methods=["GET", "POST"])
@staff_only
def letter(enrollment_id: int, kind: str) -> Response | tuple[str, int]:
    enrollment = enrollments.get_enrollment(current_user, enrollment_id)
    letter_kind = LetterKind(kind)
    form = forms.LetterForm()
    copy = (
        bool(form.copy_given_to_patient.data)
        if request.method == "POST"
        else request.args.get("copy") == "1"
    )
    if request.method == "GET":
        form.copy_given_to_patient.data = copy
    status = 200
    refused: list[str] = []
    if form.validate_on_submit():
        try:
            issued = letters.issue_letter(
                enrollment, letter_kind, current_user, copy_given_to_patient=copy
            )
        except letters.ConsentRequired as error:
            # Keep the refusal's audit event; nothing else was changed.
            session.commit()
            refused, status = error.problems, 403
        except letters.LetterError as error:
            session.rollback()
            refused, status = error.problems, 400
        else:
            session.commit()
            flash(
                _(
                    "The letter is issued (version %(version)d). You can now send it to the GP.",
                    version=issued.version,
                ),
                "success",
            )
            return redirect(url_for("team.enrollment", enrollment_id=enrollment.id) + "#letters")
    preview = letters.preview_letter(
        enrollment, letter_kind, current_user, copy_given_to_patient=copy
    )
    # The preview lists what stops the letter: a refusal is said once, there, and only
    # what it does not list (a rendering failure) comes as a message on top.
    for problem in refused:
        if problem not in preview.problems:
            flash(problem, "error")
    return render_template(
        "team/letter.html",
        enrollment=enrollment,
        kind=letter_kind,
        preview=preview,
        form=form,
        title=letters.kind_title(letter_kind),
        refused=bool(refused),
    ), status


@bp.get("/letters/<public_id>.pdf")
@staff_only
def download_letter(public_id: str) -> Response:
    found = letters.get_letter(current_user, public_id)
    return pdf_response(letters.load_letter_pdf(found), letters.letter_filename(found))


@bp.post("/letters/<public_id>/send")
@staff_only
def send_letter(public_id: str) -> Response | tuple[str, int]:
    found = letters.get_letter(current_user, public_id)
    enrollment_id = found.enrollment_id
    try:
        dispatch = letters.send_letter(found, current_user)
    except letters.ConsentRequired as error:
        session.commit()  # keep the refusal's audit event; nothing else was changed
        flash(error.problems[0], "error")
        return _enrollment_page(enrollments.get_enrollment(current_user, enrollment_id), status=403)
    except letters.LetterError as error:
        refuse(error)
        status = 503 if isinstance(error, letters.SendFailed) else 400
        return _enrollment_page(
            enrollments.get_enrollment(current_user, enrollment_id), status=status
        )
    session.commit()
    flash(_("The letter was sent to %(recipient)s.", recipient=dispatch.recipient), "success")
    return redirect(url_for("team.enrollment", enrollment_id=enrollment_id) + "#letters")


# Replies passed on by patients ---------------------------------------------------------


def _reply_page(
    item: Contribution, status: int = 200, answer_form: forms.AnswerForm | None = None
) -> tuple[str, int]:
    enrollment = item.enrollment
    share = session.get(Share, item.share_id)
    return (
        render_template(
            "team/reply.html",
            item=replies.contribution_values(item, for_team=True),
            enrollment=enrollment,
            patient=enrollment.patient if enrollment else None,
            share_label=share.label if share else "",
            share_active=share is not None and shares.is_active(share),
            entries=team_replies.team_conversation(item.share_id),
            answer_form=answer_form or forms.AnswerForm(formdata=None),
            action_form=forms.ReplyActionForm(formdata=None),
            objectives_left=max(0, enrollments.MAX_OBJECTIVES - len(enrollment.objectives))
            if enrollment
            else 0,
        ),
        status,
    )


@bp.get("/replies/<int:contribution_id>")
@staff_only
def reply(contribution_id: int) -> tuple[str, int]:
    return _reply_page(team_replies.team_contribution(current_user, contribution_id))


@bp.post("/replies/<int:contribution_id>/adopt")
@staff_only
def adopt_reply_objective(contribution_id: int) -> Response | tuple[str, int]:
    item = team_replies.team_contribution(current_user, contribution_id)
    if not forms.ReplyActionForm().validate():
        abort(400)
    try:
        team_replies.adopt_objective(item, current_user)
    except replies.ExchangeError as error:
        refuse(error)
        return _reply_page(item, 422)
    session.commit()
    flash(_("The objective was added to the patient's objectives."), "success")
    return redirect(url_for("team.reply", contribution_id=item.id))


@bp.post("/replies/<int:contribution_id>/answer")
@staff_only
def answer_reply(contribution_id: int) -> Response | tuple[str, int]:
    item = team_replies.team_contribution(current_user, contribution_id)
    form = forms.AnswerForm()
    if not form.validate():
        return _reply_page(item, 422, answer_form=form)
    try:
        team_replies.team_reply(item, current_user, form.body.data or "")
    except replies.ExchangeError as error:
        refuse(error, form, "body")
        return _reply_page(item, 422, answer_form=form)
    session.commit()
    flash(_("Your answer was posted on the professional's link."), "success")
    return redirect(url_for("team.reply", contribution_id=item.id))
