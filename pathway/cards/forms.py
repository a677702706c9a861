"""Forms of the card: the patient chooses its sections; a responder says who they are."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from pathway.cards.service import CARD_SECTIONS
from pathway.inputs import Form
from pathway.sharing.access import MAX_VIEWER
from pathway.sharing.sections import SECTION_LABELS


class CardSectionsForm(Form):
    sections = SelectMultipleField(
        _l("Sections on your card"),
        choices=[SelectChoice(section.value, SECTION_LABELS[section]) for section in CARD_SECTIONS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class CardActionForm(Form):
    """A button that changes the card (regenerate, update, withdraw): only the CSRF token."""


class ViewerForm(Form):
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
