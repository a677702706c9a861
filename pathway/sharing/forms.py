"""Forms of sharing: the patient creates a share; the recipient types a passcode or replies
(the recipient has no account)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from pathway.inputs import Form
from pathway.sharing.replies import FIELD_LABELS, LIMITS
from pathway.sharing.sections import SECTION_LABELS, Audience, Section
from pathway.sharing.shares import DEFAULT_EXPIRY, EXPIRY_LABELS, LABEL_MAX, Expiry


def strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class ShareForm(Form):
    audience = HiddenField(validators=[DataRequired()])
    label = StringField(
        _l("Who is this link for?"),
        filters=[strip],
        validators=[
            DataRequired(message=_l("Say who this link is for.")),
            Length(max=LABEL_MAX, message=_l("Too long: %(max)d characters at most.")),
        ],
        description=_l('For example "Dr Martin, cabinet de Trélazé".'),
    )
    sections = SelectMultipleField(
        _l("What they will see"),
        # Lazy labels: rendered in the visitor's language, not the one of import time.
        choices=[SelectChoice(section.value, SECTION_LABELS[section]) for section in Section],
        validators=[InputRequired(message=_l("Choose at least one section to share."))],
        validate_choice=True,
    )
    expiry = RadioField(
        _l("For how long"),
        choices=[SelectChoice(expiry.value, EXPIRY_LABELS[expiry]) for expiry in Expiry],
        default=DEFAULT_EXPIRY.value,
        validators=[InputRequired(message=_l("Choose how long the link stays valid."))],
    )
    passcode = StringField(
        _l("Passcode (optional)"),
        filters=[strip],
        validators=[Length(max=64, message=_l("Too long: %(max)d characters at most."))],
        description=_l(
            "If you set one, give it to the person separately (by phone or by word of mouth), never with the link."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    allow_replies = BooleanField(_l("Allow them to reply to me and my ETP team through this link"))

    def audience_value(self) -> Audience | None:
        try:
            return Audience(self.audience.data)
        except ValueError:
            return None


class ActionForm(Form):
    """A CSRF-protected button (revoke, rotate, export)."""


class RenewForm(Form):
    """Renewing a link that no longer opens: a new passcode, needed for a locked one."""

    passcode = StringField(
        _l("New passcode"),
        filters=[strip],
        validators=[Length(max=64, message=_l("Too long: %(max)d characters at most."))],
        description=_l(
            "Give it to the person separately (by phone or by word of mouth), never with the link."
        ),
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


# --- The recipient -----------------------------------------------------------


class PasscodeForm(Form):
    passcode = PasswordField(
        _l("Passcode"),
        # Spaces typed around a passcode are typing, not guessing: they never spend an attempt.
        filters=[strip],
        validators=[DataRequired(message=_l("Enter the passcode.")), Length(max=64)],
        render_kw={"autocomplete": "off"},
    )
    viewer = StringField(
        _l("Your name and role (optional)"),
        validators=[Length(max=120, message=_l("Too long: %(max)d characters at most."))],
        description=_l("Shown to the patient in their access log, e.g. Dr Martin, GP."),
        render_kw={"autocomplete": "name"},
    )


TOO_LONG = _l("This text is too long (%(max)d characters at most).")
REQUIRED = _l("This field is required.")


def _length(name: str) -> Length:
    return Length(max=LIMITS[name], message=TOO_LONG)


class ReplyForm(Form):
    life_situation = TextAreaField(
        FIELD_LABELS["life_situation"], validators=[_length("life_situation")]
    )
    comorbidities = TextAreaField(
        FIELD_LABELS["comorbidities"], validators=[_length("comorbidities")]
    )
    recent_events = TextAreaField(
        FIELD_LABELS["recent_events"],
        validators=[_length("recent_events")],
        description=_l("For example a bereavement, a move, a new job, a hospital stay."),
    )
    proposed_objective = StringField(
        FIELD_LABELS["proposed_objective"],
        validators=[_length("proposed_objective")],
        description=_l(
            "One objective the ETP team could work on with the patient, if the patient agrees."
        ),
    )
    message = TextAreaField(FIELD_LABELS["message"], validators=[_length("message")])
    author_name = StringField(
        FIELD_LABELS["author_name"],
        validators=[DataRequired(message=REQUIRED), _length("author_name")],
    )
    author_role = StringField(
        FIELD_LABELS["author_role"],
        validators=[DataRequired(message=REQUIRED), _length("author_role")],
        description=_l("For example: médecin traitant, pharmacien, infirmier."),
    )
    author_contact = StringField(
        FIELD_LABELS["author_contact"],
        validators=[DataRequired(message=REQUIRED), _length("author_contact")],
        description=_l("A phone number or a secure messaging address (MSSanté)."),
    )
    wants_mail = BooleanField(
        _l("Tell me by e-mail, at the address above, when an answer is posted on this link"),
        description=_l("Only when and on which link: never its content."),
    )
    rpps = StringField(
        FIELD_LABELS["rpps"],
        validators=[
            Optional(),
            Regexp(r"^\s*(\d\s*){11}$", message=_l("The RPPS number has 11 digits.")),
        ],
        description=_l("Optional, 11 digits."),
    )
    passcode = PasswordField(
        _l("Passcode of this link"),
        filters=[strip],
        validators=[Length(max=64, message=TOO_LONG)],
        description=_l("The passcode the patient gave you, to confirm the reply comes from you."),
    )
