"""Forms of the auth blueprint."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from pathway.inputs import Form


class SignInForm(Form):
    email = EmailField(_l("Email address"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ConfirmPasswordForm(Form):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ChoosePasswordForm(Form):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("At least 12 characters. A short sentence is easy to remember."),
    )
    confirm = PasswordField(
        _l("Confirm the password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords differ."))],
    )


class ForgotPasswordForm(Form):
    email = EmailField(
        _l("Email address"),
        validators=[
            DataRequired(),
            Email(message=_l("Enter a valid email address.")),
            Length(max=254),
        ],
    )


class TwoFactorForm(Form):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)],
        description=_l(
            "The 6-digit code shown by your authenticator app, or one of your recovery codes."
        ),
    )


class EnrolTwoFactorForm(Form):
    email_code = StringField(
        _l("Code received by email"),
        validators=[
            DataRequired(message=_l("Enter the code received by email.")),
            Length(max=40),
        ],
        description=_l("8 digits, in the message sent to your email address."),
    )
    code = StringField(
        _l("Code shown by the app"),
        validators=[DataRequired(message=_l("Enter the code.")), Length(max=40)],
        description=_l("6 digits, to check that the app is set up."),
    )


class SendEnrolmentCodeForm(Form):
    """A CSRF-protected button: mail the enrolment code (again)."""
