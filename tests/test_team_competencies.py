"""A competency's three statuses (acquired, being developed, not acquired): chosen when it is
added, changed on the team's page, and printed the same on the end letter and the GP's view."""

from __future__ import annotations

import datetime as dt
import io
import re
from html import unescape

import pytest
from pypdf import PdfReader

from pathway import letters
from pathway.letters.compose import compose, render_letter_html
from pathway.models import Competency, CompetencyStatus, LetterKind, ObjectiveStatus
from tests.factories import make_educator, make_progress, make_share, path_of, sign_in

STATUS_MESSAGE = (
    "Choisissez le statut de la compétence : acquise, en cours d'acquisition ou non acquise."
)


@pytest.fixture(autouse=True)
def progress(alice_enrollment, claire) -> None:
    make_progress(alice_enrollment, claire)


def url_of(enrollment) -> str:
    return f"/team/enrollments/{enrollment.id}"


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def add(client, enrollment, text: str, level: str):
    url = url_of(enrollment)
    return client.submit(
        f"{url}/competencies",
        {
            "competency-version": str(enrollment.version),
            "competency-text": text,
            "competency-level": level,
        },
        page=url,
    )


def set_status(client, enrollment, competency_id: int, status: str, version=None):
    url = url_of(enrollment)
    return client.submit(
        f"{url}/competencies/{competency_id}/status",
        {
            "competency_status-version": str(enrollment.version if version is None else version),
            "competency_status-status": status,
        },
        page=url,
    )


def test_the_add_form_offers_the_three_statuses(client, alice_enrollment) -> None:
    sign_in(client, "claire@example.org")
    html = client.get(url_of(alice_enrollment)).get_data(as_text=True)
    select = re.search(r'<select[^>]*name="competency-level".*?</select>', html, re.S)
    assert select is not None
    options = re.findall(
        r'<option[^>]*value="([^"]+)"[^>]*>([^<]+)</option>', unescape(select.group(0))
    )
    assert options == [
        ("acquired", "Acquise"),
        ("in_progress", "En cours d'acquisition"),
        ("not_acquired", "Non acquise"),
    ]


@pytest.mark.parametrize(
    ("level", "status", "label"),
    [
        ("acquired", CompetencyStatus.ACQUIRED, "acquise"),
        ("in_progress", CompetencyStatus.IN_PROGRESS, "en cours d'acquisition"),
        ("not_acquired", CompetencyStatus.NOT_ACQUIRED, "non acquise"),
    ],
)
def test_a_competency_is_added_with_its_status(
    client, alice_enrollment, db, level, status, label
) -> None:
    sign_in(client, "claire@example.org")
    assert add(client, alice_enrollment, "Sait adapter sa dose", level).status_code == 302
    db.refresh(alice_enrollment)
    added = alice_enrollment.competencies[-1]
    assert (added.text, added.status) == ("Sait adapter sa dose", status)
    assert added.is_acquired is (status == CompetencyStatus.ACQUIRED)
    html = unescape(client.get(url_of(alice_enrollment)).get_data(as_text=True))
    assert f'Sait adapter sa dose <span class="tag">{label}</span>' in html


@pytest.mark.parametrize("level", ["developing", "acquise", "", "ACQUIRED", "in_progress "])
def test_a_status_outside_the_three_is_refused_when_adding(
    client, alice_enrollment, db, level
) -> None:
    sign_in(client, "claire@example.org")
    before = len(alice_enrollment.competencies)
    response = add(client, alice_enrollment, "Sait adapter sa dose", level)
    assert response.status_code == 400
    assert STATUS_MESSAGE in unescape(response.get_data(as_text=True))
    db.refresh(alice_enrollment)
    assert len(alice_enrollment.competencies) == before


def test_the_educator_changes_a_competencys_status(client, alice_enrollment, db) -> None:
    sign_in(client, "claire@example.org")
    competency = alice_enrollment.competencies[0]
    assert competency.status == CompetencyStatus.ACQUIRED
    html = client.get(url_of(alice_enrollment)).get_data(as_text=True)
    action = f"{url_of(alice_enrollment)}/competencies/{competency.id}/status"
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', html, re.S)
    assert form is not None
    assert f'name="competency_status-version" value="{alice_enrollment.version}"' in form.group(0)
    assert re.search(r'<option value="acquired" selected>', form.group(0))
    assert f'<label for="competency-status-{competency.id}"' in form.group(0)
    version = alice_enrollment.version
    response = set_status(client, alice_enrollment, competency.id, "not_acquired")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#evaluation")
    db.refresh(alice_enrollment)
    db.refresh(competency)
    assert competency.status == CompetencyStatus.NOT_ACQUIRED and not competency.is_acquired
    assert alice_enrollment.version == version + 1  # the page's other forms are now stale
    html = client.get(url_of(alice_enrollment)).get_data(as_text=True)
    assert "Le statut de la compétence est enregistré." in html
    assert '<span class="tag">non acquise</span>' in html


@pytest.mark.parametrize("status", ["developing", "", "acquise", "done"])
def test_a_status_outside_the_three_is_refused_and_nothing_saved(
    client, alice_enrollment, db, status
) -> None:
    sign_in(client, "claire@example.org")
    competency = alice_enrollment.competencies[0]
    version = alice_enrollment.version
    response = set_status(client, alice_enrollment, competency.id, status)
    assert response.status_code == 400
    html = unescape(response.get_data(as_text=True))
    # Said once, beside the competency it is about.
    assert html.count(STATUS_MESSAGE) == 1
    assert f'id="competency-status-{competency.id}-error"' in html
    db.refresh(alice_enrollment)
    db.refresh(competency)
    assert competency.status == CompetencyStatus.ACQUIRED
    assert alice_enrollment.version == version


def test_a_stale_status_form_gets_a_conflict_and_nothing_is_overwritten(
    client, other_client, alice_enrollment, programme_a, db
) -> None:
    nina = make_educator("Nina")
    nina.programmes.append(programme_a)
    db.flush()
    sign_in(client, "claire@example.org")
    sign_in(other_client, "nina@example.org")
    competency = alice_enrollment.competencies[0]
    stale = alice_enrollment.version
    first = set_status(other_client, alice_enrollment, competency.id, "in_progress", stale)
    assert first.status_code == 302
    second = set_status(client, alice_enrollment, competency.id, "not_acquired", stale)
    assert second.status_code == 409
    assert "Quelqu&#39;un d&#39;autre a enregistré ce dossier" in second.get_data(as_text=True)
    db.refresh(competency)
    assert competency.status == CompetencyStatus.IN_PROGRESS


def test_another_enrollments_competency_answers_404(
    client, alice_enrollment, bob_enrollment, eve, db
) -> None:
    bob_enrollment.competencies = [Competency(text="Bob's", status=CompetencyStatus.ACQUIRED)]
    db.flush()
    theirs = bob_enrollment.competencies[0]
    sign_in(client, "claire@example.org")
    for status in ("not_acquired", "nonsense"):
        response = set_status(client, alice_enrollment, theirs.id, status)
        assert response.status_code == 404
    assert set_status(client, alice_enrollment, 999999, "acquired").status_code == 404
    db.refresh(theirs)
    assert theirs.status == CompetencyStatus.ACQUIRED


def test_an_educator_of_another_programme_gets_404(client, alice_enrollment, eve, db) -> None:
    competency = alice_enrollment.competencies[0]
    sign_in(client, "eve@example.org")
    token = client.csrf_token("/team/")
    response = client.post(
        f"{url_of(alice_enrollment)}/competencies/{competency.id}/status",
        data={
            "csrf_token": token,
            "competency_status-version": str(alice_enrollment.version),
            "competency_status-status": "not_acquired",
        },
    )
    assert response.status_code == 404
    db.refresh(competency)
    assert competency.status == CompetencyStatus.ACQUIRED


def test_a_post_without_csrf_token_is_refused(client, alice_enrollment, db) -> None:
    competency = alice_enrollment.competencies[0]
    sign_in(client, "claire@example.org")
    response = client.post(
        f"{url_of(alice_enrollment)}/competencies/{competency.id}/status",
        data={
            "competency_status-version": str(alice_enrollment.version),
            "competency_status-status": "not_acquired",
        },
    )
    assert response.status_code == 400
    db.refresh(competency)
    assert competency.status == CompetencyStatus.ACQUIRED


def three_competencies(enrollment) -> None:
    enrollment.competencies = [
        Competency(text="Explique le rôle du cortisol", status=CompetencyStatus.ACQUIRED),
        Competency(text="Prépare le kit d'urgence", status=CompetencyStatus.IN_PROGRESS),
        Competency(text="Réalise l'injection seule", status=CompetencyStatus.NOT_ACQUIRED),
    ]


def test_the_end_letter_prints_each_status(in_request, alice_enrollment, claire, db) -> None:
    three_competencies(alice_enrollment)
    for objective in alice_enrollment.objectives:
        objective.status = ObjectiveStatus.ACHIEVED
    db.flush()
    letter = letters.issue_letter(alice_enrollment, LetterKind.END, claire)
    text = pdf_text(letter.pdf)
    assert "Explique le rôle du cortisol (acquise)" in text
    assert "Prépare le kit d'urgence (en cours d'acquisition)" in text
    assert "Réalise l'injection seule (non acquise)" in text
    assert [c["status"] for c in letter.snapshot["competencies"]] == [
        "acquired",
        "in_progress",
        "not_acquired",
    ]


def test_a_letter_issued_with_acquired_yes_or_no_still_reads(in_request, alice_enrollment) -> None:
    values = compose(
        alice_enrollment,
        LetterKind.END,
        locale="fr",
        issued_on=dt.date.today(),
        consent=None,
        copy_given_to_patient=False,
        has_link=False,
    )
    values["competencies"] = [{"text": "Ancienne oui", "acquired": True}]
    values["competencies"].append({"text": "Ancienne non", "acquired": False})
    html = unescape(render_letter_html(values, standalone=False))
    assert 'Ancienne oui <span class="letter-muted">(acquise)' in html
    assert 'Ancienne non <span class="letter-muted">(en cours d\'acquisition)' in html


def test_the_gp_view_shows_the_status_the_team_set(
    client, other_client, alice_enrollment, alice, db
) -> None:
    three_competencies(alice_enrollment)
    db.flush()
    sign_in(client, "claire@example.org")
    competency = alice_enrollment.competencies[0]
    assert set_status(client, alice_enrollment, competency.id, "not_acquired").status_code == 302
    share = make_share(alice_enrollment.patient)
    html = other_client.get(path_of(share)).get_data(as_text=True)
    not_acquired = re.search(r'class="items competencies-not_acquired">(.*?)</ul>', html, re.S)
    assert not_acquired is not None
    assert "Explique le rôle du cortisol" in not_acquired.group(1)
    assert "Réalise l&#39;injection seule" in not_acquired.group(1)
    assert "competencies-acquired" not in html
