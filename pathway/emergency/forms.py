"""Forms of the emergency blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from pathway.sharing.access import MAX_VIEWER


class ViewerForm(FlaskForm):
    """Optional: who opened the card, for the patient's log. Never required to read it."""

    viewer = StringField(
        _l("Who are you? (e.g. SAMU 49, VSAV Angers)"),
        validators=[Length(max=MAX_VIEWER, message=_l("At most 120 characters."))],
        description=_l("Optional. Tells the patient who opened their card."),
    )
