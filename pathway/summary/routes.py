"""Routes of the summary: /patient/… (the patient's own summary, section by section)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from pathway.auth.sessions import current_patient, patient_only
from pathway.cards.service import current_card, printed_facts
from pathway.db import session
from pathway.models import Patient
from pathway.rules import refuse
from pathway.sharing import shares
from pathway.sharing.sections import Audience, Section
from pathway.sharing.view import build_view
from pathway.summary import editing as summary
from pathway.summary import forms

# The flash category of the notice that the printed card is out of date (with its link).
CARD_OUT_OF_DATE = "card-out-of-date"

bp = Blueprint("summary", __name__, url_prefix="/patient")

# Sections the patient writes as one form rather than a list of items.
SINGLE_FORMS: dict[Section, type[FlaskForm]] = {
    Section.IDENTITY: forms.IdentityForm,
    Section.EMERGENCY_PROTOCOL: forms.ProtocolForm,
    Section.LIFE_CONTEXT: forms.LifeContextForm,
}
ITEM_FORMS: dict[Section, type[FlaskForm]] = {
    Section.CONDITIONS: forms.ConditionForm,
    Section.TREATMENTS: forms.TreatmentForm,
    Section.ALLERGIES: forms.AllergyForm,
    Section.EMERGENCY_CONTACTS: forms.ContactForm,
    Section.CARE_TEAM: forms.CareTeamForm,
}
EDITABLE = (*SINGLE_FORMS, *ITEM_FORMS)


def slug(section: Section) -> str:
    return section.value.replace("_", "-")


def _section(value: str, allowed: tuple[Section, ...]) -> Section:
    try:
        section = Section(value.replace("-", "_"))
    except ValueError:
        abort(404)
    if section not in allowed:
        abort(404)
    return section


def _author(patient: Patient) -> str:
    return current_user.display_name or patient.full_name


def _values(form: FlaskForm) -> dict[str, Any]:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


@bp.get("/")
@patient_only
def home() -> str:
    patient = current_patient()
    view = build_view(patient.id, tuple(Section))
    editable = {section.value: slug(section) for section in (*EDITABLE, Section.ETP_PROGRESS)}
    filled = [section for section in view["sections"] if _has_content(section["data"])]
    empty = [section for section in view["sections"] if not _has_content(section["data"])]
    return render_template(
        "summary/home.html",
        patient=patient,
        view=view,
        filled=filled,
        empty=empty,
        editable=editable,
        first_steps=_first_steps(patient, {section["key"] for section in filled}),
    )


def _has_content(data: Any) -> bool:
    if isinstance(data, dict):
        return any(_has_content(value) for value in data.values())
    if isinstance(data, list | tuple):
        return any(_has_content(value) for value in data)
    return bool(data) and data is not False


def _first_steps(patient: Patient, filled: set[str]) -> list[dict[str, Any]]:
    """Where a new patient starts: what a crew needs, the card that carries it, the GP.
    Empty once all three are done."""
    steps = [
        {
            "title": _("Fill in what a crew needs in an emergency"),
            "text": _("Your treatments, allergies, what to do in a crisis and whom to call."),
            "url": url_for("summary.section", section_slug=slug(Section.EMERGENCY_PROTOCOL)),
            "done": Section.EMERGENCY_PROTOCOL.value in filled
            and Section.EMERGENCY_CONTACTS.value in filled,
        },
        {
            "title": _("Make your emergency card"),
            "text": _("A QR code for your wallet and your phone's lock screen."),
            "url": url_for("card.index"),
            "done": current_card(patient) is not None,
        },
        {
            "title": _("Share your summary with your GP"),
            "text": _("A link you send, that you can withdraw at any time."),
            "url": url_for("shares.new", audience=Audience.GP.value),
            "done": shares.active_gp_share(patient) is not None,
        },
    ]
    return [] if all(step["done"] for step in steps) else steps


@bp.route("/<section_slug>", methods=["GET", "POST"])
@patient_only
def section(section_slug: str) -> str | Response | tuple[str, int]:
    patient = current_patient()
    section = _section(section_slug, (*EDITABLE, Section.ETP_PROGRESS))
    if section in ITEM_FORMS:
        view = build_view(patient.id, (section,))["sections"][0]
        items = getattr(patient, summary.ITEM_SECTIONS[section].relation)
        return render_template(
            "summary/items.html",
            section=section,
            view=view,
            items=items,
            delete_form=forms.DeleteForm(),
            role_labels={role.value: str(label) for role, label in forms.CARE_ROLE_LABELS.items()},
        )
    if section == Section.ETP_PROGRESS:
        if request.method == "POST":
            abort(405)  # written by the ETP team, read-only here
        view = build_view(patient.id, (section,))["sections"][0]
        return render_template("summary/etp.html", section=section, view=view)
    return _single(patient, section)


def _single(patient: Patient, section: Section) -> str | Response | tuple[str, int]:
    form_class = SINGLE_FORMS[section]
    if section == Section.IDENTITY:
        form = form_class(obj=patient)
    elif section == Section.EMERGENCY_PROTOCOL:
        form = form_class(obj=patient.emergency_protocol)
    else:
        form = form_class(data={"text": patient.life_context})
    if form.validate_on_submit():
        values = _values(form)
        printed = printed_facts(patient)
        try:
            if section == Section.IDENTITY:
                summary.update_identity(patient, values, _author(patient))
            elif section == Section.EMERGENCY_PROTOCOL:
                summary.update_protocol(patient, values, _author(patient))
            else:
                summary.update_life_context(patient, values["text"], _author(patient))
        except summary.SummaryError as error:
            refuse(error, form)
        else:
            session.commit()
            _saved(patient, printed, _("Saved."))
            return redirect(url_for("summary.home", _anchor=section.value))
    status = 422 if form.errors else 200
    stamp = summary.last_updates(patient).get(section.value)
    groups = forms.PROTOCOL_GROUPS if section == Section.EMERGENCY_PROTOCOL else None
    return (
        render_template(
            "summary/single.html", section=section, form=form, stamp=stamp, groups=groups
        ),
        status,
    )


@bp.route("/<section_slug>/new", methods=["GET", "POST"])
@patient_only
def add_item(section_slug: str) -> str | Response | tuple[str, int]:
    patient = current_patient()
    section = _section(section_slug, tuple(ITEM_FORMS))
    return _item_form(patient, section, None)


@bp.route("/<section_slug>/<int:item_id>", methods=["GET", "POST"])
@patient_only
def edit_item(section_slug: str, item_id: int) -> str | Response | tuple[str, int]:
    patient = current_patient()
    section = _section(section_slug, tuple(ITEM_FORMS))
    item = summary.get_item(patient, section, item_id)
    return _item_form(patient, section, item)


def _item_form(
    patient: Patient, section: Section, item: Any | None
) -> str | Response | tuple[str, int]:
    form = ITEM_FORMS[section](obj=item)
    if form.validate_on_submit():
        printed = printed_facts(patient)
        try:
            summary.save_item(patient, section, item, _values(form), _author(patient))
        except summary.SummaryError as error:
            refuse(error, form)
        else:
            session.commit()
            _saved(patient, printed, _("Saved."))
            return redirect(url_for("summary.section", section_slug=slug(section)))
    status = 422 if form.errors else 200
    return render_template("summary/item_form.html", section=section, form=form, item=item), status


@bp.get("/<section_slug>/<int:item_id>/delete")
@patient_only
def confirm_delete_item(section_slug: str, item_id: int) -> str:
    """Say what deleting does before it is done (a vital treatment above all)."""
    patient = current_patient()
    section = _section(section_slug, tuple(ITEM_FORMS))
    item = summary.get_item(patient, section, item_id)
    name = next(
        (getattr(item, attr) for attr in ("name", "label", "substance") if hasattr(item, attr)),
        "",
    )
    return render_template(
        "summary/delete.html",
        section=section,
        slug=slug(section),
        item=item,
        name=name,
        vital=bool(getattr(item, "is_critical", False)),
        delete_form=forms.DeleteForm(),
    )


@bp.post("/<section_slug>/<int:item_id>/delete")
@patient_only
def delete_item(section_slug: str, item_id: int) -> Response:
    patient = current_patient()
    section = _section(section_slug, tuple(ITEM_FORMS))
    item = summary.get_item(patient, section, item_id)
    form = forms.DeleteForm()
    if not form.validate_on_submit():
        abort(400)
    printed = printed_facts(patient)
    summary.delete_item(patient, section, item, _author(patient))
    session.commit()
    _saved(patient, printed, _("Deleted."))
    return redirect(url_for("summary.section", section_slug=slug(section)))


def _saved(patient: Patient, printed: dict[str, Any] | None, message: str) -> None:
    """Say it is saved, and that the printed card is out of date when this change shows on it
    (`printed`: what the card printed before the change)."""
    flash(message, "success")
    if printed is not None and printed_facts(patient) != printed:
        flash(_("Your printed emergency card no longer matches your summary."), CARD_OUT_OF_DATE)
