"""Forms of the patient blueprint: one per section; field names are the model's attribute names."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, EmailField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, Length, Optional, Regexp, ValidationError

from pathway.inputs import Form
from pathway.models import CareRole, CentreKind
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


def orphanet_urgences_url(form: Form, field: StringField) -> None:
    try:
        field.data = summary.check_orphanet_urgences_url(field.data or "")
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
        _l("Address of the Orphanet Urgences sheet"),
        filters=[strip],
        validators=[limit(300), orphanet_urgences_url],
        description=_l(
            "Only if the disease has an Orphanet Urgences sheet: its address on orpha.net, "
            "as your team gives it. The disease's Orphanet page is linked from the ORPHAcode."
        ),
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
        _l("Vital daily treatment (must never be stopped; shown first to emergency teams)")
    )
    is_emergency = BooleanField(
        _l("Emergency treatment (the injectable kit): to inject in an emergency, not every day")
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


def phone_field(label: Any, description: Any = None) -> StringField:
    return StringField(
        label, filters=[strip], validators=[limit(40), PHONE], description=description
    )


class OptionalSelectField(SelectField):  # type: ignore[misc]
    """A select whose first choice, "", stands for nothing chosen (None in the model)."""

    def process_data(self, value: Any) -> None:
        super().process_data("" if value is None else value)


CENTRE_KIND_CHOICES = [
    SelectChoice("", _l("Not specified")),
    SelectChoice(CentreKind.REFERENCE.value, _l("Rare disease reference centre")),
    SelectChoice(CentreKind.COMPETENCE.value, _l("Rare disease competence centre")),
]


class ProtocolForm(Form):
    """The emergency protocol, written with the team that follows the patient: every field is
    optional and printed only when entered; what is not known is left empty."""

    situations = TextAreaField(
        _l("Situations"),
        filters=[strip],
        validators=[limit(LONG_TEXT)],
        description=_l("When is it an emergency? The signs, in plain words."),
    )
    immediate_drug = StringField(
        _l("Drug"),
        filters=[strip],
        validators=[limit(200)],
        description=_l("For example: Hydrocortisone."),
    )
    immediate_dose = StringField(
        _l("Dose"),
        filters=[strip],
        validators=[limit(80)],
        description=_l("For example: 100 mg."),
    )
    immediate_routes = StringField(
        _l("Routes and when"),
        filters=[strip],
        validators=[limit(200)],
        description=_l("For example: IV, ou IM/SC si pas d'abord veineux, immédiatement."),
    )
    then_treatment = StringField(
        _l("Then"),
        filters=[strip],
        validators=[limit(300)],
        description=_l("The doses that follow, as your team wrote them (for example over 24 h)."),
    )
    fluids = StringField(_l("Fluids"), filters=[strip], validators=[limit(300)])
    checks = StringField(
        _l("Checks"),
        filters=[strip],
        validators=[limit(300)],
        description=_l("What to measure or watch, for example capillary glucose."),
    )
    what_to_do = TextAreaField(
        _l("Other instructions"), filters=[strip], validators=[limit(LONG_TEXT)]
    )
    what_to_avoid = TextAreaField(
        _l("What to avoid"),
        filters=[strip],
        validators=[limit(LONG_TEXT)],
        description=_l("Acts and situations to avoid."),
    )
    contraindicated_drugs = TextAreaField(
        _l("Contraindicated drugs"), filters=[strip], validators=[limit(LONG_TEXT)]
    )
    anaesthesia = TextAreaField(
        _l("Anaesthesia precautions"), filters=[strip], validators=[limit(LONG_TEXT)]
    )
    orientation = StringField(
        _l("Where to take the patient"),
        filters=[strip],
        validators=[limit(300)],
        description=_l("The service or hospital the team asks for."),
    )
    vital_treatment = StringField(
        _l("Daily treatment that must never stop"),
        filters=[strip],
        validators=[limit(200)],
        description=_l("Printed on the card with « Never stop »: the names and doses only."),
    )
    treating_physician = StringField(
        _l("Physician who follows you"),
        filters=[strip],
        validators=[limit(200)],
        description=_l("Name and speciality."),
    )
    treating_physician_phone = phone_field(_l("Physician's phone"))
    reference_centre = StringField(
        _l("Rare disease centre that follows you"),
        filters=[strip],
        validators=[limit(200)],
    )
    reference_centre_kind = OptionalSelectField(
        _l("Its label"),
        choices=CENTRE_KIND_CHOICES,
        description=_l(
            "As written on the centre's letters: reference centre or competence centre."
        ),
    )
    reference_centre_phone = phone_field(_l("Centre's phone"))
    reference_centre_24h = BooleanField(_l("This number answers 24 h/24"))


# The protocol form's fields, grouped as a responder reads them.
PROTOCOL_GROUPS = (
    (_l("When it is an emergency"), ("situations",)),
    (_l("Immediate action"), ("immediate_drug", "immediate_dose", "immediate_routes")),
    (_l("What follows"), ("then_treatment", "fluids", "checks", "what_to_do")),
    (_l("What to avoid"), ("what_to_avoid", "contraindicated_drugs", "anaesthesia")),
    (_l("Orientation"), ("orientation",)),
    (_l("Daily treatment"), ("vital_treatment",)),
    (
        _l("Who follows you"),
        (
            "treating_physician",
            "treating_physician_phone",
            "reference_centre",
            "reference_centre_kind",
            "reference_centre_phone",
            "reference_centre_24h",
        ),
    ),
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
