"""Forms of the shared blueprint (the recipient has no account)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length


class PasscodeForm(FlaskForm):
    passcode = PasswordField(
        _l("Passcode"),
        validators=[DataRequired(message=_l("Enter the passcode.")), Length(max=64)],
        render_kw={"autocomplete": "off"},
    )
    viewer = StringField(
        _l("Your name and role (optional)"),
        validators=[Length(max=120, message=_l("Too long: %(max)d characters at most."))],
        description=_l("Shown to the patient in their access log, e.g. Dr Martin, GP."),
        render_kw={"autocomplete": "name"},
    )
