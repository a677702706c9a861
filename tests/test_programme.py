"""The patient's programme page: progress, consent in the app, letters, the GP appointment."""

from __future__ import annotations

import datetime as dt
from html import unescape

import pytest
from werkzeug.test import TestResponse

from pathway import letters
from pathway.db import session
from pathway.models import (
    Competency,
    CompetencyStatus,
    LetterKind,
    ObjectiveStatus,
    WorkshopAttendance,
)
from tests.factories import make_patient, make_progress, sign_in


@pytest.fixture(autouse=True)
def paths(alice_enrollment, claire, bob_enrollment, eve) -> None:
    """Alice and Bob a few weeks into their programmes; Alice has reached her first objective
    and her next workshop is planned."""
    make_progress(alice_enrollment, claire)
    make_progress(bob_enrollment, eve)
    alice_enrollment.attendances.append(
        WorkshopAttendance(
            workshop=alice_enrollment.programme.workshops[1],
            scheduled_on=dt.date.today() + dt.timedelta(days=30),
        )
    )
    alice_enrollment.objectives[0].status = ObjectiveStatus.ACHIEVED
    session.flush()


def send_consent(client, enrollment, choice: str) -> TestResponse:
    """The patient gives ("give") or withdraws ("withdraw") consent on the programme page."""
    action = "/withdraw" if choice == "withdraw" else ""
    return client.submit(f"/programme/{enrollment.id}/consent{action}", {}, page="/programme/")


def issue(app, enrollment, educator, kind=LetterKind.START, copy=False):
    with app.test_request_context():
        return letters.issue_letter(enrollment, kind, educator, copy_given_to_patient=copy)


def test_patient_sees_their_progress_read_only(client, alice) -> None:
    sign_in(client, "alice@example.org")
    html = client.get("/programme/").get_data(as_text=True)
    for text in (
        "Programme A",
        "Alice treatment objective",
        "Atteint",
        "Programme A workshop 1",
        "Suivi",
        "Prévu",
        "Alice explains the warning signs",
        "Coordinator of Programme A",
    ):
        assert text in html, text
    assert "Bob" not in html


def test_what_i_have_learnt_is_in_my_words_and_by_status(client, alice_enrollment, db) -> None:
    alice_enrollment.competencies = [
        Competency(text="Adjusts her dose when she has a fever", status=CompetencyStatus.ACQUIRED),
        Competency(text="Injects hydrocortisone", status=CompetencyStatus.IN_PROGRESS),
        Competency(text="Explains her disease at school", status=CompetencyStatus.NOT_ACQUIRED),
    ]
    db.commit()
    sign_in(client, "alice@example.org")
    html = unescape(client.get("/programme/").get_data(as_text=True))
    learnt = html[html.index("Ce que j'ai appris") :]
    assert (
        learnt.index("Ce que je sais faire")
        < learnt.index("Adjusts her dose when she has a fever")
        < learnt.index("Ce que j'apprends encore")
        < learnt.index("Injects hydrocortisone")
        < learnt.index("Ce que je vais travailler avec mon équipe")
        < learnt.index("Explains her disease at school")
    )


def test_a_status_without_competency_has_no_heading(client, alice_enrollment, db) -> None:
    alice_enrollment.competencies = [
        Competency(text="Injects hydrocortisone", status=CompetencyStatus.IN_PROGRESS)
    ]
    db.commit()
    sign_in(client, "alice@example.org")
    html = unescape(client.get("/programme/").get_data(as_text=True))
    assert "Ce que j'apprends encore" in html
    assert "Ce que je sais faire" not in html
    assert "Ce que je vais travailler avec mon équipe" not in html


def test_patient_withdraws_then_gives_consent_again_in_the_app(
    client, alice_enrollment, db
) -> None:
    sign_in(client, "alice@example.org")
    assert send_consent(client, alice_enrollment, "withdraw").status_code == 302
    html = client.get("/programme/").get_data(as_text=True)
    assert "J'accepte que mon médecin traitant soit informé" in html
    db.expire_all()
    assert all(c.withdrawn_at is not None for c in alice_enrollment.consents)
    assert send_consent(client, alice_enrollment, "give").status_code == 302
    db.expire_all()
    assert [c.method for c in alice_enrollment.consents if c.withdrawn_at is None] == ["app"]


def test_patient_cannot_touch_another_patients_consent(client, bob_enrollment, db) -> None:
    sign_in(client, "alice@example.org")
    assert send_consent(client, bob_enrollment, "withdraw").status_code == 404
    db.expire_all()
    assert all(c.withdrawn_at is None for c in bob_enrollment.consents)


def test_consent_forms_need_the_csrf_token(client, alice_enrollment) -> None:
    sign_in(client, "alice@example.org")
    assert client.post(f"/programme/{alice_enrollment.id}/consent/withdraw").status_code == 400


def test_patient_downloads_the_stored_letter(app, client, alice_enrollment, claire) -> None:
    letter = issue(app, alice_enrollment, claire)
    sign_in(client, "alice@example.org")
    html = client.get("/programme/").get_data(as_text=True)
    assert f"/programme/letters/{letter.public_id}.pdf" in html
    response = client.get(f"/programme/letters/{letter.public_id}.pdf")
    assert response.status_code == 200
    assert response.data == letter.pdf
    assert "attachment" in response.headers["Content-Disposition"]


def test_another_patients_letter_answers_404(app, client, bob_enrollment, eve) -> None:
    letter = issue(app, bob_enrollment, eve)
    sign_in(client, "alice@example.org")
    assert client.get(f"/programme/letters/{letter.public_id}.pdf").status_code == 404
    assert client.get("/programme/letters/not-a-letter.pdf").status_code == 404


def test_staff_cannot_use_the_patient_pages(client, claire) -> None:
    sign_in(client, "claire@example.org")
    assert client.get("/programme/").status_code == 404


def test_copy_handed_to_the_patient_invites_them_to_book_their_gp(
    app, client, alice_enrollment, claire
) -> None:
    sign_in(client, "alice@example.org")
    assert "Prenez rendez-vous avec votre médecin traitant" not in client.get(
        "/programme/"
    ).get_data(as_text=True)
    issue(app, alice_enrollment, claire, LetterKind.END, copy=True)
    html = client.get("/programme/").get_data(as_text=True)
    assert "Prenez rendez-vous avec votre médecin traitant" in html
    assert "Dr Alice GP" in html


def test_patient_without_programme_is_told_so(client, db) -> None:
    make_patient("Carol")
    sign_in(client, "carol@example.org")
    assert "Vous ne suivez pas encore de programme" in client.get("/programme/").get_data(
        as_text=True
    )


def test_team_text_is_escaped_on_the_patients_page(client, alice_enrollment, db) -> None:
    payload = '<script>alert("x")</script>'
    alice_enrollment.objectives[0].text = payload
    alice_enrollment.competencies[0].text = payload
    alice_enrollment.programme.coordinator_name = payload
    db.flush()
    sign_in(client, "alice@example.org")
    html = client.get("/programme/").get_data(as_text=True)
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 3
