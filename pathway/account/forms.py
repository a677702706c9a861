"""Forms of the account: confirm its deletion."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField
from wtforms.validators import DataRequired

from pathway.inputs import Form


class DeleteAccountForm(Form):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(message=_l("Enter your password to confirm."))],
        render_kw={"autocomplete": "current-password"},
    )
    confirm = BooleanField(
        _l("I understand that my summary, my links and their history will be deleted for good."),
        validators=[DataRequired(message=_l("Tick the box to confirm."))],
    )


class ActionForm(Form):
    """A CSRF-protected button (export)."""
