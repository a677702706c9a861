"""The patient's summary pages: view, add, edit, delete, section by section."""

from __future__ import annotations

from sqlalchemy import select

from pathway.models import Condition, Medication, SectionUpdate
from tests.factories import make_patient, sign_in


def test_summary_page_shows_every_section_with_its_last_update(client, db) -> None:
    alice = make_patient("Alice")
    sign_in(client, "alice@example.org")
    html = client.get("/patient/").get_data(as_text=True)
    for sentinel in ("Alice condition", "Alice critical drug", "Alice allergen", "Alice what to do",
                     "Alice contact", "Dr Alice GP", "Alice life context"):
        assert sentinel in html
    assert alice.first_name in html
