"""Forms of the patient blueprint: one per section; field names are the model's attribute names."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from pathway.inputs import Form
from pathway.models import CareRole
from pathway.summary import editing as summary

LONG_TEXT = 2000
LIFE_CONTEXT_MAX = 4000
PHONE = Regexp(r"^[0-9+().\s-]*$", message=_l("A phone number holds digits, spaces and + only."))


def strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def limit(maximum: int) -> Length:
    return Length(max=maximum, message=_l("Too long: %(max)d characters at most."))


def required(message: str) -> DataRequired:
    return DataRequired(message=message)


def https_url(form: Form, field: StringField) -> None:
    try:
        field.data = summary.check_https_url(field.data or "")
    except summary.SummaryError as error:
        raise ValidationError(str(error)) from None


def orphacode(form: Form, field: StringField) -> None:
    try:
        field.data = summary.check_orphacode(field.data or "")
    except summary.SummaryError as error:
        raise ValidationError(str(error)) from None


CARE_ROLE_LABELS = {
    CareRole.GP: _l("General practitioner (médecin traitant)"),
    CareRole.PHARMACIST: _l("Pharmacist"),
    CareRole.NURSE: _l("Nurse"),
    CareRole.SPECIALIST: _l("Specialist"),
    CareRole.OTHER: _l("Other professional"),
}


class IdentityForm(Form):
    first_name = StringField(
        _l("First name"),
        filters=[strip],
        validators=[required(_l("Enter your first name.")), limit(80)],
    )
    last_name = StringField(
        _l("Last name"),
        filters=[strip],
        validators=[required(_l("Enter your last name.")), limit(80)],
    )
    birth_date = DateField(
        _l("Date of birth"), validators=[Optional()], render_kw={"autocomplete": "bday"}
    )
    phone = StringField(_l("Phone"), filters=[strip], validators=[limit(40), PHONE])


class ConditionForm(Form):
    label = StringField(
        _l("Condition"),
        filters=[strip],
        validators=[required(_l("Name the condition.")), limit(200)],
    )
    is_rare = BooleanField(_l("Rare disease"))
    orphacode = StringField(
        _l("ORPHAcode"),
        filters=[strip],
        validators=[limit(12), orphacode],
        description=_l("Digits only, as written on your rare disease card, e.g. 85138."),
        render_kw={"inputmode": "numeric"},
    )
    emergency_guideline_url = StringField(
        _l("Link to the Orphanet emergency guideline"),
        filters=[strip],
        validators=[limit(300), https_url],
        description=_l("Optional. A secure address starting with https://."),
        render_kw={"inputmode": "url"},
    )
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[limit(LONG_TEXT)])


class TreatmentForm(Form):
    name = StringField(
        _l("Treatment"),
        filters=[strip],
        validators=[required(_l("Name the treatment.")), limit(200)],
    )
    dosage = StringField(_l("Dosage"), filters=[strip], validators=[limit(200)])
    instructions = TextAreaField(_l("Instructions"), filters=[strip], validators=[limit(500)])
    is_critical = BooleanField(
        _l("Critical treatment (must never be stopped; printed on the emergency card)")
    )


class AllergyForm(Form):
    substance = StringField(
        _l("Substance"),
        filters=[strip],
        validators=[required(_l("Name the substance.")), limit(200)],
    )
    reaction = StringField(_l("Reaction"), filters=[strip], validators=[limit(300)])
    is_intolerance = BooleanField(_l("Intolerance rather than allergy"))
    is_severe = BooleanField(_l("Severe reaction"))


class ProtocolForm(Form):
    situations = TextAreaField(
        _l("Situations"),
        filters=[strip],
        validators=[limit(LONG_TEXT)],
        description=_l("When is it an emergency? The signs, in plain words."),
    )
    what_to_do = TextAreaField(_l("What to do"), filters=[strip], validators=[limit(LONG_TEXT)])
    critical_action = StringField(
        _l("The critical action, in one line"),
        filters=[strip],
        validators=[limit(200)],
        description=_l('For example "Hydrocortisone 100 mg IM".'),
    )
    what_to_avoid = TextAreaField(
        _l("What to avoid"),
        filters=[strip],
        validators=[limit(LONG_TEXT)],
        description=_l("Contraindicated drugs and acts."),
    )
    reference_centre = StringField(_l("Reference centre"), filters=[strip], validators=[limit(200)])
    reference_centre_phone = StringField(
        _l("Reference centre's 24/7 number"), filters=[strip], validators=[limit(40), PHONE]
    )


class ContactForm(Form):
    name = StringField(
        _l("Name"),
        filters=[strip],
        validators=[required(_l("Enter the person's name.")), limit(120)],
    )
    relationship_label = StringField(
        _l("Relationship"),
        filters=[strip],
        validators=[limit(80)],
        description=_l("For example: spouse, mother, neighbour."),
    )
    phone = StringField(
        _l("Phone"),
        filters=[strip],
        validators=[required(_l("Enter a phone number.")), limit(40), PHONE],
    )


class CareTeamForm(Form):
    role = SelectField(
        _l("Role"),
        choices=[SelectChoice(role.value, label) for role, label in CARE_ROLE_LABELS.items()],
        validators=[required(_l("Choose a role."))],
    )
    name = StringField(
        _l("Name"), filters=[strip], validators=[required(_l("Enter the name.")), limit(120)]
    )
    organisation = StringField(
        _l("Practice or organisation"), filters=[strip], validators=[limit(200)]
    )
    phone = StringField(_l("Phone"), filters=[strip], validators=[limit(40), PHONE])
    email = EmailField(
        _l("Email"),
        filters=[strip],
        validators=[Optional(), limit(254), Email(message=_l("Enter a valid email address."))],
    )
    secure_email = EmailField(
        _l("Secure health messaging (MSSanté)"),
        filters=[strip],
        validators=[Optional(), limit(254), Email(message=_l("Enter a valid email address."))],
    )


class LifeContextForm(Form):
    text = TextAreaField(
        _l("What I want my professionals to know"),
        filters=[strip],
        validators=[limit(LIFE_CONTEXT_MAX)],
        description=_l("In your own words: your daily life, what worries you, what helps you."),
    )


class DeleteForm(Form):
    """A CSRF-protected button."""


ITEM_FORMS = {
    "conditions": ConditionForm,
    "treatments": TreatmentForm,
    "allergies": AllergyForm,
    "emergency_contacts": ContactForm,
    "care_team": CareTeamForm,
}
