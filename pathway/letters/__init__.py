"""Letters to the GP: rules from the regional recommendation, composition, issuing, sending.

Public interface (others call these):
    issue_letter, send_letter, preview_letter, get_letter, get_patient_letter,
    patient_letters, shared_letters, load_letter_pdf, load_addressed_pdf, letter_share,
    letter_filename, letter_reference, workshop_format,
    LetterError, ConsentRequired, SendFailed.
"""

from pathway.letters.compose import workshop_format
from pathway.letters.service import (
    ConsentRequired,
    LetterError,
    Preview,
    SendFailed,
    get_letter,
    get_patient_letter,
    issue_letter,
    kind_title,
    latest_letters,
    letter_filename,
    letter_reference,
    letter_share,
    load_addressed_pdf,
    load_letter_pdf,
    patient_letters,
    preview_letter,
    send_letter,
    shared_letters,
)

__all__ = [
    "ConsentRequired",
    "LetterError",
    "Preview",
    "SendFailed",
    "get_letter",
    "get_patient_letter",
    "issue_letter",
    "kind_title",
    "latest_letters",
    "letter_filename",
    "letter_reference",
    "letter_share",
    "load_addressed_pdf",
    "load_letter_pdf",
    "patient_letters",
    "preview_letter",
    "send_letter",
    "shared_letters",
    "workshop_format",
]
