"""The patient's programme page: progress, consent in the app, letters, the GP appointment."""

from __future__ import annotations

import datetime as dt

import pytest

from pathway import letters
from pathway.models import (
    AttendanceStatus,
    Competency,
    Consent,
    LetterKind,
    ObjectiveStatus,
    Role,
    WorkshopAttendance,
)
from tests.factories import enroll, make_patient, make_programme, make_user, sign_in


@pytest.fixture
def paths(app, db):  # type: ignore[no-untyped-def]
    claire = make_user("claire@example.org", Role.EDUCATOR, display_name="Claire Dubois")
    programme = make_programme("Programme A", claire)
    alice = enroll(make_patient("Alice"), programme)
    bob = enroll(make_patient("Bob"), programme)
    for enrollment in (alice, bob):
        enrollment.attendances = [
            WorkshopAttendance(
                workshop=programme.workshops[0],
                status=AttendanceStatus.ATTENDED,
                scheduled_on=dt.date(2026, 10, 8),
            ),
            WorkshopAttendance(workshop=programme.workshops[1], scheduled_on=dt.date(2026, 12, 3)),
        ]
        enrollment.competencies = [Competency(text=f"{enrollment.patient.first_name} competency")]
        db.add(
            Consent(
                enrollment=enrollment,
                method="oral",
                recorded_by_id=claire.id,
                recorded_by_name="Claire",
            )
        )
    alice.objectives[0].status = ObjectiveStatus.ACHIEVED
    db.flush()
    return {"claire": claire, "alice": alice, "bob": bob}


def issue(app, enrollment, educator, kind=LetterKind.START, copy=False):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        return letters.issue_letter(enrollment, kind, educator, copy_given_to_patient=copy)


def test_patient_sees_their_progress_read_only(client, paths) -> None:
    sign_in(client, "alice@example.org")
    html = client.get("/programme/").get_data(as_text=True)
    for text in (
        "Programme A",
        "Alice treatment objective",
        "Atteint",
        "Programme A workshop 1",
        "Suivi",
        "Prévu",
        "Alice competency",
        "Coordinator of Programme A",
    ):
        assert text in html, text
    assert "Bob" not in html


def test_patient_withdraws_then_gives_consent_again_in_the_app(client, paths, db) -> None:
    alice = paths["alice"]
    sign_in(client, "alice@example.org")
    response = client.submit(f"/programme/{alice.id}/consent/withdraw", {}, page="/programme/")
    assert response.status_code == 302
    html = client.get("/programme/").get_data(as_text=True)
    assert (
        "J&#39;accepte que mon médecin traitant soit informé" in html
        or "J'accepte que mon médecin traitant soit informé" in html
    )
    db.expire_all()
    assert all(c.withdrawn_at is not None for c in alice.consents)
    assert (
        client.submit(f"/programme/{alice.id}/consent", {}, page="/programme/").status_code == 302
    )
    db.expire_all()
    assert [c.method for c in alice.consents if c.withdrawn_at is None] == ["app"]


def test_patient_cannot_touch_another_patients_consent(client, paths, db) -> None:
    bob = paths["bob"]
    sign_in(client, "alice@example.org")
    assert (
        client.submit(f"/programme/{bob.id}/consent/withdraw", {}, page="/programme/").status_code
        == 404
    )
    db.expire_all()
    assert all(c.withdrawn_at is None for c in bob.consents)


def test_consent_forms_need_the_csrf_token(client, paths) -> None:
    sign_in(client, "alice@example.org")
    assert client.post(f"/programme/{paths['alice'].id}/consent/withdraw").status_code == 400


def test_patient_downloads_the_stored_letter(app, client, paths) -> None:
    letter = issue(app, paths["alice"], paths["claire"])
    sign_in(client, "alice@example.org")
    html = client.get("/programme/").get_data(as_text=True)
    assert f"/programme/letters/{letter.public_id}.pdf" in html
    response = client.get(f"/programme/letters/{letter.public_id}.pdf")
    assert response.status_code == 200
    assert response.data == letter.pdf
    assert "attachment" in response.headers["Content-Disposition"]


def test_another_patients_letter_answers_404(app, client, paths) -> None:
    letter = issue(app, paths["bob"], paths["claire"])
    sign_in(client, "alice@example.org")
    assert client.get(f"/programme/letters/{letter.public_id}.pdf").status_code == 404
    assert client.get("/programme/letters/not-a-letter.pdf").status_code == 404


def test_staff_cannot_use_the_patient_pages(client, paths) -> None:
    sign_in(client, "claire@example.org")
    assert client.get("/programme/").status_code == 404


def test_copy_handed_to_the_patient_invites_them_to_book_their_gp(app, client, paths) -> None:
    sign_in(client, "alice@example.org")
    assert "Prenez rendez-vous avec votre médecin traitant" not in client.get(
        "/programme/"
    ).get_data(as_text=True)
    issue(app, paths["alice"], paths["claire"], LetterKind.END, copy=True)
    html = client.get("/programme/").get_data(as_text=True)
    assert "Prenez rendez-vous avec votre médecin traitant" in html
    assert "Dr Alice GP" in html


def test_patient_without_programme_is_told_so(client, db) -> None:
    make_patient("Carol")
    sign_in(client, "carol@example.org")
    assert "pas encore inclus(e)" in client.get("/programme/").get_data(as_text=True)


def test_team_text_is_escaped_on_the_patients_page(client, paths, db) -> None:
    payload = '<script>alert("x")</script>'
    alice = paths["alice"]
    alice.objectives[0].text = payload
    alice.competencies[0].text = payload
    alice.programme.coordinator_name = payload
    db.flush()
    sign_in(client, "alice@example.org")
    html = client.get("/programme/").get_data(as_text=True)
    assert "<script>alert" not in html
    assert html.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 3
