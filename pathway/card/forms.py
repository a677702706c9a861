"""Forms of the card blueprint."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from pathway.sharing.sections import EMERGENCY_SECTIONS, Section

# What a responder can use; the emergency view shows these and nothing else.
CARD_SECTIONS = tuple(s for s in Section if s in {*EMERGENCY_SECTIONS, Section.CARE_TEAM})


class CardSectionsForm(FlaskForm):
    sections = SelectMultipleField(
        _l("What responders see"),
        choices=[(section.value, section.label) for section in CARD_SECTIONS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=True,
    )

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        # Labels are lazy strings; rebuilt per request so they follow the reader's language.
        self.sections.choices = [(section.value, section.label) for section in CARD_SECTIONS]


class CardActionForm(FlaskForm):
    """A button that changes the card (regenerate, update, withdraw): only the CSRF token."""
