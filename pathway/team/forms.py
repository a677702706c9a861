"""Forms of the team blueprint."""

import datetime as dt

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from pathway.identifiers import INS_OID_NIA, INS_OID_NIR
from pathway.inputs import Form
from pathway.letters.rules import BEP_MAX_CHARS, GP_TOPICS_MAX_CHARS
from pathway.models import AttendanceStatus, CompetencyStatus, ObjectiveStatus
from pathway.models.patients import IdentityStatus
from pathway.sharing.replies import ANSWER_MAX

REQUIRED = _l("This field is required.")


def sex_choices() -> list[SelectChoice]:
    """The sex as the identity rules record it; letters agree with it."""
    return [
        SelectChoice("", _l("Not entered")),
        SelectChoice("F", _l("Female (Mrs)")),
        SelectChoice("M", _l("Male (Mr)")),
    ]


def _sex_field(label: object, description: object = None) -> SelectField:
    return SelectField(label, choices=sex_choices(), default="", description=description)


class InvitePatientForm(Form):
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[DataRequired()])
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=80)])
    sex = _sex_field(_l("Sex"), _l("Letters to the GP agree with it (« Mme … née le … »)."))
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    email = EmailField(
        _l("Patient's email address"),
        validators=[
            DataRequired(),
            Email(message=_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )


class EnrolExistingForm(Form):
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[DataRequired()])
    email = EmailField(
        _l("Email address of the patient's Pathway account"),
        validators=[
            DataRequired(),
            Email(message=_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )


# The statuses the French identity rules (RNIV) give an identity, in their own words.
IDENTITY_STATUSES = [
    SelectChoice(
        IdentityStatus.PROVISIONAL.value,
        _l("Provisional identity (neither checked on an identity document nor retrieved)"),
    ),
    SelectChoice(
        IdentityStatus.RETRIEVED.value,
        _l("Retrieved identity (INS from the INSi teleservice, no identity document checked)"),
    ),
    SelectChoice(
        IdentityStatus.VALIDATED.value,
        _l("Validated identity (checked on an identity document, INS not retrieved)"),
    ),
    SelectChoice(
        IdentityStatus.QUALIFIED.value,
        _l("Qualified identity (identity document checked and INS verified through INSi)"),
    ),
]


IDENTITY_VALUES = [choice.value for choice in IDENTITY_STATUSES]
IDENTITY_STATUS_MESSAGE = _l("Choose one of the four statuses of the identity.")


class IdentityForm(Form):
    """The identity the team checked, printed on the letters as the identity rules expect."""

    sex = _sex_field(_l("Sex"))
    birth_name = StringField(
        _l("Birth name"),
        description=_l("Leave empty when it is the name the patient uses."),
        validators=[Length(max=80)],
    )
    birth_first_names = StringField(
        _l("First names at birth"),
        description=_l("All of them, in the order of the civil registry, separated by spaces."),
        validators=[Length(max=200)],
    )
    ins = StringField(
        _l("INS (matricule INS)"),
        description=_l(
            "15 characters, from the INSi teleservice; printed on the letters once its key checks."
        ),
        validators=[Length(max=40)],
    )
    ins_oid = SelectField(
        _l("The INS is"),
        choices=[
            SelectChoice("", _l("Not entered")),
            SelectChoice(INS_OID_NIR, _l("The patient's NIR (OID 1.2.250.1.213.1.4.8)")),
            SelectChoice(
                INS_OID_NIA, _l("A NIA, number awaiting a NIR (OID 1.2.250.1.213.1.4.10)")
            ),
        ],
        default="",
    )
    identity_status = SelectField(
        _l("Identity status"),
        description=_l("The INS is printed on the letters only once the identity is qualified."),
        choices=IDENTITY_STATUSES,
        default=IdentityStatus.PROVISIONAL.value,
        validate_choice=False,
        # Posted by every identity form: without it, nothing is saved (never a default).
        validators=[
            InputRequired(IDENTITY_STATUS_MESSAGE),
            AnyOf(IDENTITY_VALUES, IDENTITY_STATUS_MESSAGE),
        ],
    )


class ProgrammeForm(Form):
    hospital = StringField(_l("Hospital"), validators=[DataRequired(REQUIRED), Length(max=200)])
    service = StringField(_l("Hospital service"), validators=[Length(max=200)])
    address = StringField(_l("Address"), validators=[Length(max=300)])
    city = StringField(
        _l("Place of writing"),
        description=_l("The town letters are dated from: « Angers, le 2 décembre 2026 »."),
        validators=[Length(max=80)],
    )
    finess = StringField(
        _l("FINESS number"),
        description=_l("9 digits, the establishment's (geographical FINESS)."),
        validators=[Length(max=20)],
    )
    ars_reference = StringField(
        _l("ARS declaration reference"),
        description=_l("As the ARS wrote it, e.g. « ETP-2024-049-012 »."),
        validators=[Length(max=80)],
    )
    sender_email = EmailField(
        _l("Service's secure mailbox (MSSanté)"),
        description=_l("Letters to GPs are sent from this address."),
        validators=[
            Optional(),
            Email(message=_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )
    coordinator_name = StringField(
        _l("Coordinator's name"), validators=[DataRequired(REQUIRED), Length(max=120)]
    )
    coordinator_sex = _sex_field(
        _l("Coordinator's sex"),
        _l("Their function agrees with it: « Coordinatrice du programme »."),
    )
    coordinator_profession = StringField(
        _l("Coordinator's profession"),
        description=_l("E.g. « Médecin endocrinologue », « Infirmière »."),
        validators=[Length(max=120)],
    )
    coordinator_phone = StringField(
        _l("Coordinator's direct phone"), validators=[DataRequired(REQUIRED), Length(max=40)]
    )
    coordinator_email = EmailField(
        _l("Coordinator's direct email"),
        validators=[
            DataRequired(REQUIRED),
            Email(message=_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )


class LogoForm(Form):
    logo = FileField(
        _l("Logo (PNG or JPEG, 1 MB at most)"),
        description=_l("Printed at the top left of every letter."),
    )
    remove = SubmitField(_l("Remove the logo"))


class WorkshopForm(Form):
    title = StringField(_l("Workshop title"), validators=[DataRequired(REQUIRED), Length(max=200)])
    description = TextAreaField(_l("Short description"), validators=[Length(max=1000)])
    is_collective = BooleanField(_l("Collective workshop"), default=True)
    duration_minutes = IntegerField(
        _l("Duration of a session (minutes)"),
        description=_l("Printed on the letters: « atelier collectif, 2 h »."),
        validators=[
            Optional(),
            NumberRange(min=5, max=600, message=_l("Between 5 and 600 minutes.")),
        ],
    )


class SignatureForm(Form):
    display_name = StringField(
        _l("Name, as printed under the letters you issue"),
        validators=[DataRequired(REQUIRED), Length(max=120)],
    )
    profession = StringField(
        _l("Profession"),
        description=_l("E.g. « Infirmière d'éducation thérapeutique », « Diététicien »."),
        validators=[Length(max=120)],
    )
    rpps = StringField(
        _l("RPPS number"),
        description=_l("11 digits, if you have one; printed under your name."),
        validators=[Length(max=20)],
    )


class VersionedForm(Form):
    """Carries the enrollment version the form was filled from (optimistic locking)."""

    version = HiddenField()


class PathForm(VersionedForm):
    bep_synthesis = TextAreaField(
        _l("Summary of the Shared Educational Assessment (BEP)"),
        description=_l(
            "About ten lines at most (%(n)d characters): it is printed in the start letter.",
            n=BEP_MAX_CHARS,
        ),
        validators=[Length(max=4000)],
    )
    gp_topics = TextAreaField(
        _l("What the patient wants to discuss with their GP"),
        description=_l(
            'Printed in the end letter: "We have advised the patient to discuss … with you".'
        ),
        validators=[Length(max=GP_TOPICS_MAX_CHARS)],
    )


class ObjectiveForm(VersionedForm):
    text = StringField(
        _l("Personalised objective"), validators=[DataRequired(REQUIRED), Length(max=300)]
    )
    is_treatment_related = BooleanField(_l("Related to the treatment"))


OBJECTIVE_STATUSES = [
    SelectChoice(ObjectiveStatus.IN_PROGRESS.value, _l("In progress")),
    SelectChoice(ObjectiveStatus.ACHIEVED.value, _l("Achieved")),
    SelectChoice(ObjectiveStatus.TO_CONTINUE.value, _l("Still to work on")),
]
ATTENDANCE_STATUSES = [
    SelectChoice(AttendanceStatus.PLANNED.value, _l("Planned")),
    SelectChoice(AttendanceStatus.ATTENDED.value, _l("Attended")),
    SelectChoice(AttendanceStatus.MISSED.value, _l("Missed")),
]


class ObjectiveStatusForm(VersionedForm):
    status = SelectField(_l("Status"), choices=OBJECTIVE_STATUSES)


class PlanWorkshopForm(VersionedForm):
    workshop_id = SelectField(_l("Workshop"), coerce=int, validators=[DataRequired(REQUIRED)])
    scheduled_on = DateField(_l("Date"), validators=[Optional()])


class AttendanceForm(VersionedForm):
    status = SelectField(_l("Attendance"), choices=ATTENDANCE_STATUSES)


COMPETENCY_STATUSES = [
    SelectChoice(CompetencyStatus.ACQUIRED.value, _l("Acquired")),
    SelectChoice(CompetencyStatus.IN_PROGRESS.value, _l("Being developed")),
    SelectChoice(CompetencyStatus.NOT_ACQUIRED.value, _l("Not acquired")),
]

COMPETENCY_VALUES = [choice.value for choice in COMPETENCY_STATUSES]


def _competency_status_field(label: object) -> SelectField:
    """A competency's status: one of the three, else a message (never a guess)."""
    message = _l("Choose the competency's status: acquired, being developed or not acquired.")
    return SelectField(
        label,
        choices=COMPETENCY_STATUSES,
        default=CompetencyStatus.ACQUIRED.value,
        validate_choice=False,
        validators=[InputRequired(message), AnyOf(COMPETENCY_VALUES, message)],
    )


class CompetencyForm(VersionedForm):
    text = StringField(
        _l("Competency, in one personalised line"),
        validators=[DataRequired(REQUIRED), Length(max=300)],
    )
    level = _competency_status_field(_l("Status"))


class CompetencyStatusForm(VersionedForm):
    """The status of one competency already recorded (one small form per competency)."""

    status = _competency_status_field(_l("Status"))


class OralConsentForm(Form):
    given_on = DateField(
        _l("Agreement collected orally on"),
        validators=[DataRequired(_l("Enter the date the patient gave their agreement."))],
        default=lambda: dt.date.today(),
    )


class LetterForm(Form):
    copy_given_to_patient = BooleanField(
        _l("A copy was handed to the patient"),
        description=_l(
            "The letter tells the GP so, and the patient is invited to book "
            "an appointment with them."
        ),
    )


# Replies passed on by patients ---------------------------------------------------------

TOO_LONG = _l("This text is too long (%(max)d characters at most).")


class ReplyActionForm(Form):
    """A one-button action on a reply (adopt its objective): only the CSRF token."""


class AnswerForm(Form):
    body = TextAreaField(
        _l("Your answer"),
        validators=[
            DataRequired(message=_l("Write your answer.")),
            Length(max=ANSWER_MAX, message=TOO_LONG),
        ],
        description=_l("The professional reads it on the same link; the patient reads it too."),
    )
