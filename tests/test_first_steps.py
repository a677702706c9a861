"""A new patient knows where to start: three first steps, the empty sections in one list."""

from __future__ import annotations

import datetime as dt

from pathway.db import session
from pathway.models import Patient, Role
from pathway.sharing.sections import Audience
from tests.conftest import Client
from tests.factories import make_card, make_share, make_user, sign_in


def _new_patient() -> Patient:
    user = make_user("nina@example.org", Role.PATIENT)
    patient = Patient(
        user=user, first_name="Nina", last_name="Roux", birth_date=dt.date(1990, 5, 6)
    )
    session.add(patient)
    session.commit()
    return patient


def test_an_empty_summary_shows_first_steps_not_a_wall_of_empty_sections(
    app, db, client: Client
) -> None:
    _new_patient()
    sign_in(client, "nina@example.org")

    page = client.get("/patient/").get_data(as_text=True)

    assert "Premiers pas" in page
    for step in (
        "Renseignez ce dont les secours ont besoin en urgence",
        "Créez votre carte d&#39;urgence",
        "Partagez votre synthèse avec votre médecin traitant",
    ):
        assert step in page
    assert page.count("Rien n&#39;est renseigné") == 0
    assert page.count("Aucune information") == 0
    # Only who she is is filled in: every other section is one line of a list, to fill in.
    assert "Encore vide" in page
    assert page.count('class="panel summary-section') == 1
    # The first steps come before any « share » button.
    assert "Partager ma synthèse" not in page
    assert 'href="/shares/new?audience=gp"' in page
    assert 'href="/patient/emergency-protocol"' in page


def test_first_steps_tick_off_and_go_once_all_are_done(app, db, client: Client, alice) -> None:
    sign_in(client, "alice@example.org")
    page = client.get("/patient/").get_data(as_text=True)
    assert "Premiers pas" in page  # Alice has no card and no GP link yet

    make_card(alice)
    make_share(alice, Audience.GP)
    db.commit()
    page = client.get("/patient/").get_data(as_text=True)

    assert "Premiers pas" not in page
    assert "Partager ma synthèse" in page
