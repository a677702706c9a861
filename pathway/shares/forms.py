"""Forms of the shares blueprint: create a share, confirm account deletion."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from pathway.sharing.sections import SECTION_LABELS, Audience, Section
from pathway.sharing.shares import DEFAULT_EXPIRY, EXPIRY_LABELS, LABEL_MAX, Expiry


def strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


class ShareForm(FlaskForm):
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


class DeleteAccountForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(message=_l("Enter your password to confirm."))],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        _l("I understand that my summary, my links and their history will be deleted for good."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )


class ActionForm(FlaskForm):
    """A CSRF-protected button (revoke, rotate, export)."""
