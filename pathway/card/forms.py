"""Forms of the card blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from pathway.sharing.sections import EMERGENCY_SECTIONS, SECTION_LABELS, Section

# What a responder can use; the emergency view shows these and nothing else.
CARD_SECTIONS = tuple(s for s in Section if s in {*EMERGENCY_SECTIONS, Section.CARE_TEAM})


class CardSectionsForm(FlaskForm):
    sections = SelectMultipleField(
        _l("Sections on your card"),
        choices=[SelectChoice(section.value, SECTION_LABELS[section]) for section in CARD_SECTIONS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class CardActionForm(FlaskForm):
    """A button that changes the card (regenerate, update, withdraw): only the CSRF token."""
