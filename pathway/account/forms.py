"""Forms of the account: name and language, e-mail address, password, e-mails received,
and the confirmation of its deletion."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

from pathway.inputs import Form
from pathway.mail_notices import MAIL_LABELS, MailKind


def strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


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


class ProfileForm(Form):
    """The name a team member signs with, and the language of pages and e-mails."""

    display_name = StringField(
        _l("Your name"),
        validators=[
            DataRequired(message=_l("Enter your name.")),
            Length(max=120, message=_l("Too long: %(max)d characters at most.")),
        ],
        filters=[strip],
    )
    locale = RadioField(
        _l("Language of the pages and e-mails"),
        # Each language named in itself, whatever the page's language.
        choices=[SelectChoice("fr", "Français"), SelectChoice("en", "English")],
        validators=[InputRequired(message=_l("Choose a language."))],
        validate_choice=True,
    )


def current_password_field() -> PasswordField:
    """The person's current password, asked again before a change of their account."""
    return PasswordField(
        _l("Your current password"),
        validators=[DataRequired(message=_l("Enter your current password.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )


class EmailChangeForm(Form):
    new_email = EmailField(
        _l("New e-mail address"),
        validators=[
            DataRequired(message=_l("Enter the new e-mail address.")),
            Email(message=_l("Enter a valid email address.")),
            Length(max=254, message=_l("Too long: %(max)d characters at most.")),
        ],
        filters=[strip],
        render_kw={"autocomplete": "email"},
    )
    email_password = current_password_field()


class PasswordChangeForm(Form):
    current_password = current_password_field()
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(message=_l("Enter the new password.")), Length(max=200)],
        description=_l("At least 12 characters. A short sentence is easy to remember."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("Confirm the password"),
        validators=[
            DataRequired(message=_l("Type the new password again.")),
            EqualTo("new_password", message=_l("The two passwords differ.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


def mail_field(kind: MailKind) -> str:
    return f"mail_{kind.value}"


class MailChoicesForm(Form):
    """One box per kind of e-mail notice; the GP notice of card openings for a patient."""

    tell_gp_of_card_openings = BooleanField(
        _l("Tell my GP by e-mail of each opening of my emergency card"),
        description=_l(
            "Your GP receives an e-mail at each opening of your emergency card, as Mon Espace "
            "Santé does after an emergency access."
        ),
    )


for _kind in MailKind:
    setattr(MailChoicesForm, mail_field(_kind), BooleanField(MAIL_LABELS[_kind]))


class ConfirmEmailForm(Form):
    """A CSRF-protected button: confirm the new e-mail address (a GET never changes it)."""
