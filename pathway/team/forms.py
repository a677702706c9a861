"""Forms of the team blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, Optional


class InvitePatientForm(FlaskForm):
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[DataRequired()])
    first_name = StringField(_l("First name"), validators=[DataRequired(), Length(max=80)])
    last_name = StringField(_l("Last name"), validators=[DataRequired(), Length(max=80)])
    birth_date = DateField(_l("Date of birth"), validators=[Optional()])
    email = EmailField(
        _l("Patient's email address"),
        validators=[DataRequired(), Email(message=_l("Enter a valid email address.")), Length(max=254)],
    )
