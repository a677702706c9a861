"""The reply form shown on a shared link."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from pathway.exchanges import FIELD_LABELS, LIMITS

TOO_LONG = _l("This text is too long (%(max)d characters at most).")
REQUIRED = _l("This field is required.")


def _length(name: str) -> Length:
    return Length(max=LIMITS[name], message=TOO_LONG)


class ReplyForm(FlaskForm):
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
        validators=[Length(max=64, message=TOO_LONG)],
        description=_l("The passcode the patient gave you, to confirm the reply comes from you."),
    )
