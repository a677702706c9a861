"""Forms of the inbox: the patient's decisions on replies."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from pathway.inputs import Form
from pathway.sharing.replies import COMMENT_MAX

TOO_LONG = _l("This text is too long (%(max)d characters at most).")


class ActionForm(Form):
    """A one-button action (keep, delete, adopt): only the CSRF token."""


class DecisionForm(Form):
    """The patient's one form on a reply: her comment, and what becomes of the reply."""

    enrollment = SelectField(
        _l("Programme whose team receives it"),
        coerce=int,
        validate_choice=False,
    )
    comment = TextAreaField(
        _l("Your comment"),
        validators=[Length(max=COMMENT_MAX, message=TOO_LONG)],
        description=_l("Only you read it and, if you pass the reply on, your ETP team."),
    )
