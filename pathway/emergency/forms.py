"""Forms of the emergency blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from pathway.sharing.access import MAX_VIEWER


class ViewerForm(FlaskForm):
    """Who opened the card, for the patient's log: asked on a page of its own, after the
    facts, and never needed to read them."""

    viewer = StringField(
        _l("Who are you? (e.g. SAMU 49, VSAV Angers)"),
        validators=[
            DataRequired(message=_l("Say who you are, for example SAMU 49.")),
            Length(max=MAX_VIEWER, message=_l("At most 120 characters.")),
        ],
        description=_l("Tells the patient who opened their card."),
    )
