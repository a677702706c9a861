"""Team pages: programmes, enrolling, the path (BEP, objectives, workshops, evaluation), letters."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from pathway.models import (
    AttendanceStatus,
    Enrollment,
    Invitation,
    Letter,
    LetterKind,
    ObjectiveStatus,
    Role,
)
from tests.factories import make_educator, make_patient, make_progress, make_user, sign_in


@pytest.fixture(autouse=True)
def two_teams(alice_enrollment, claire, bob) -> None:
    """Alice a few weeks into Claire's Programme A; Bob in Eve's Programme B."""
    make_progress(alice_enrollment, claire)


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_educator_sees_only_the_patients_of_their_programmes(client, claire) -> None:
    sign_in(client, "claire@example.org")
    html = page(client, "/team/")
    assert "Alice Martin" in html and "Bob Martin" not in html
    assert "Programme A" in html and "Programme B" not in html


def test_admin_sees_every_enrollment(client, alice_enrollment, bob_enrollment) -> None:
    make_user("admin@example.org", Role.ADMIN)
    sign_in(client, "admin@example.org")
    assert client.get(f"/team/enrollments/{bob_enrollment.id}").status_code == 200
    assert client.get(f"/team/enrollments/{alice_enrollment.id}").status_code == 200


def _urls(alice_enrollment, claire, db) -> list[tuple[str, str]]:
    """Every enrollment, programme and letter URL of Alice's path, with its method."""
    from flask import current_app

    from pathway import letters

    with current_app.test_request_context():
        letter = letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    db.flush()
    objective = alice_enrollment.objectives[0]
    attendance = alice_enrollment.attendances[0]
    competency = alice_enrollment.competencies[0]
    base = f"/team/enrollments/{alice_enrollment.id}"
    return [
        ("GET", base),
        ("POST", f"{base}/path"),
        ("POST", f"{base}/objectives"),
        ("POST", f"{base}/objectives/{objective.id}/status"),
        ("POST", f"{base}/objectives/{objective.id}/delete"),
        ("POST", f"{base}/workshops"),
        ("POST", f"{base}/attendances/{attendance.id}/status"),
        ("POST", f"{base}/attendances/{attendance.id}/delete"),
        ("POST", f"{base}/competencies"),
        ("POST", f"{base}/competencies/{competency.id}/delete"),
        ("POST", f"{base}/consent"),
        ("POST", f"{base}/consent/withdraw"),
        ("GET", f"{base}/letters/start"),
        ("GET", f"{base}/letters/end"),
        ("POST", f"{base}/letters/start"),
        ("GET", f"/team/letters/{letter.public_id}.pdf"),
        ("POST", f"/team/letters/{letter.public_id}/send"),
        ("GET", f"/team/programmes/{alice_enrollment.programme_id}"),
        ("POST", f"/team/programmes/{alice_enrollment.programme_id}"),
        ("POST", f"/team/programmes/{alice_enrollment.programme_id}/workshops"),
    ]


def test_educator_of_another_programme_gets_404_on_every_url(
    client, alice_enrollment, claire, eve, db
) -> None:
    urls = _urls(alice_enrollment, claire, db)
    sign_in(client, "eve@example.org")
    token = client.csrf_token("/team/")
    for method, url in urls:
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post(url, data={"csrf_token": token, "version": "1"})
        assert response.status_code == 404, (method, url, response.status_code)
    assert (
        db.scalar(
            select(Letter).where(Letter.enrollment_id == alice_enrollment.id, Letter.version == 2)
        )
        is None
    )


def test_patient_gets_404_on_team_pages(client, alice_enrollment, claire, db) -> None:
    urls = _urls(alice_enrollment, claire, db)
    sign_in(client, "alice@example.org")
    for method, url in urls:
        if method == "GET":
            assert client.get(url).status_code == 404, url


def test_unknown_enrollment_answers_404(client, claire) -> None:
    sign_in(client, "claire@example.org")
    assert client.get("/team/enrollments/999999").status_code == 404


def test_posts_without_csrf_token_are_refused(client, alice_enrollment, claire, db) -> None:
    urls = _urls(alice_enrollment, claire, db)
    sign_in(client, "claire@example.org")
    for method, url in urls:
        if method == "POST":
            assert client.post(url, data={"version": "1"}).status_code == 400, url


def test_saving_the_bep_synthesis(client, alice_enrollment, claire, db) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}"
    response = client.submit(
        f"{url}/path",
        {
            "path-version": str(alice_enrollment.version),
            "path-bep_synthesis": "Nouvelle synthèse",
            "path-gp_topics": "Le sommeil",
        },
        page=url,
    )
    assert response.status_code == 302
    db.refresh(alice_enrollment)
    assert (alice_enrollment.bep_synthesis, alice_enrollment.gp_topics) == (
        "Nouvelle synthèse",
        "Le sommeil",
    )
    assert "Enregistré." in page(client, url)


def test_stale_form_gets_a_conflict_message_and_nothing_is_overwritten(
    client, other_client, alice_enrollment, claire, programme_a, db
) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    sign_in(client, "claire@example.org")
    nina = make_educator("Nina")
    nina.programmes.append(programme_a)
    db.flush()
    sign_in(other_client, "nina@example.org")
    stale_version = str(alice_enrollment.version)
    token = client.csrf_token(url)
    first = other_client.submit(
        f"{url}/path",
        {
            "path-version": stale_version,
            "path-bep_synthesis": "Nina's synthesis",
            "path-gp_topics": "",
        },
        page=url,
    )
    assert first.status_code == 302
    second = client.post(
        f"{url}/path",
        data={
            "csrf_token": token,
            "path-version": stale_version,
            "path-bep_synthesis": "Claire's synthesis",
            "path-gp_topics": "",
        },
    )
    html = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Quelqu&#39;un d&#39;autre a enregistré ce dossier" in html
    assert "Nina&#39;s synthesis" in html  # the record as saved now
    assert "Claire&#39;s synthesis" in html  # what Claire typed is kept in the form
    db.refresh(alice_enrollment)
    assert alice_enrollment.bep_synthesis == "Nina's synthesis"


def test_stale_objective_form_is_refused_too(client, alice_enrollment, claire, db) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    sign_in(client, "claire@example.org")
    stale = str(alice_enrollment.version)
    assert (
        client.submit(
            f"{url}/objectives", {"objective-version": stale, "objective-text": "Third"}, page=url
        ).status_code
        == 302
    )
    response = client.submit(
        f"{url}/objectives", {"objective-version": stale, "objective-text": "Duplicate"}, page=url
    )
    assert response.status_code == 409
    db.refresh(alice_enrollment)
    assert [o.text for o in alice_enrollment.objectives][-1] == "Third"


def test_a_fourth_objective_is_refused_with_a_clear_message(
    client, alice_enrollment, claire, db
) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    sign_in(client, "claire@example.org")
    assert (
        client.submit(
            f"{url}/objectives",
            {"objective-version": str(alice_enrollment.version), "objective-text": "Third"},
            page=url,
        ).status_code
        == 302
    )
    db.refresh(alice_enrollment)
    html = page(client, url)
    assert "Trois objectifs au maximum" in html
    response = client.submit(
        f"{url}/objectives",
        {"objective-version": str(alice_enrollment.version), "objective-text": "Fourth objective"},
        page=url,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "3 objectifs personnalisés au maximum" in body
    assert 'value="Fourth objective"' in body  # the form keeps what was typed
    db.refresh(alice_enrollment)
    assert len(alice_enrollment.objectives) == 3


def test_objective_status_and_removal(client, alice_enrollment, claire, db) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    objective = alice_enrollment.objectives[0]
    sign_in(client, "claire@example.org")
    assert (
        client.submit(
            f"{url}/objectives/{objective.id}/status",
            {"version": str(alice_enrollment.version), "status": "achieved"},
            page=url,
        ).status_code
        == 302
    )
    db.refresh(objective)
    assert objective.status == ObjectiveStatus.ACHIEVED
    objective_id = objective.id
    db.refresh(alice_enrollment)
    assert (
        client.submit(
            f"{url}/objectives/{objective_id}/delete",
            {"version": str(alice_enrollment.version)},
            page=url,
        ).status_code
        == 302
    )
    db.expire_all()
    assert objective_id not in [o.id for o in alice_enrollment.objectives]


def test_objective_of_another_enrollment_answers_404(
    client, alice_enrollment, bob_enrollment, claire, db
) -> None:
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}"
    response = client.submit(
        f"{url}/objectives/{bob_enrollment.objectives[0].id}/delete",
        {"version": str(alice_enrollment.version)},
        page=url,
    )
    assert response.status_code == 404
    db.refresh(bob_enrollment)
    assert len(bob_enrollment.objectives) == 2


def test_planning_a_workshop_and_marking_attendance(
    client, alice_enrollment, claire, programme_a, db
) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    second = programme_a.workshops[1]
    held_on = dt.date.today() - dt.timedelta(days=2)  # attendance is marked once it was held
    sign_in(client, "claire@example.org")
    response = client.submit(
        f"{url}/workshops",
        {
            "plan-version": str(alice_enrollment.version),
            "plan-workshop_id": str(second.id),
            "plan-scheduled_on": held_on.isoformat(),
        },
        page=url,
    )
    assert response.status_code == 302
    db.refresh(alice_enrollment)
    attendance = alice_enrollment.attendances[-1]
    assert (attendance.workshop_id, attendance.scheduled_on) == (second.id, held_on)
    assert (
        client.submit(
            f"{url}/attendances/{attendance.id}/status",
            {"version": str(alice_enrollment.version), "status": "attended"},
            page=url,
        ).status_code
        == 302
    )
    db.refresh(attendance)
    assert attendance.status == AttendanceStatus.ATTENDED


def test_workshop_of_another_programme_cannot_be_planned(
    client, alice_enrollment, claire, programme_b, db
) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    sign_in(client, "claire@example.org")
    response = client.submit(
        f"{url}/workshops",
        {
            "plan-version": str(alice_enrollment.version),
            "plan-workshop_id": str(programme_b.workshops[0].id),
        },
        page=url,
    )
    assert response.status_code == 400
    db.refresh(alice_enrollment)
    assert len(alice_enrollment.attendances) == 1


def test_adding_a_competency_and_the_gp_topics(client, alice_enrollment, claire, db) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    sign_in(client, "claire@example.org")
    assert (
        client.submit(
            f"{url}/competencies",
            {
                "competency-version": str(alice_enrollment.version),
                "competency-text": "Sait adapter sa dose",
                "competency-level": "in_progress",
            },
            page=url,
        ).status_code
        == 302
    )
    db.refresh(alice_enrollment)
    assert (
        alice_enrollment.competencies[-1].text,
        alice_enrollment.competencies[-1].is_acquired,
    ) == (
        "Sait adapter sa dose",
        False,
    )
    html = page(client, url)
    assert re.search(
        r"Sait adapter sa dose <span class=\"tag\">en cours d'acquisition</span>", html
    )


def test_oversized_competency_is_refused_with_a_message(
    client, alice_enrollment, claire, db
) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    sign_in(client, "claire@example.org")
    response = client.submit(
        f"{url}/competencies",
        {"competency-version": str(alice_enrollment.version), "competency-text": "x" * 301},
        page=url,
    )
    assert response.status_code == 400
    assert "300" in response.get_data(as_text=True)
    db.refresh(alice_enrollment)
    assert len(alice_enrollment.competencies) == 1


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def test_xss_payloads_are_escaped_in_the_pages_and_the_letter_preview(
    client, alice_enrollment, claire, programme_a, db
) -> None:
    alice_enrollment.bep_synthesis = XSS
    alice_enrollment.objectives[0].text = XSS
    alice_enrollment.competencies[0].text = XSS
    alice_enrollment.gp_topics = XSS
    alice_enrollment.patient.first_name = XSS
    programme_a.name = XSS
    db.flush()
    sign_in(client, "claire@example.org")
    for url in (
        "/team/",
        f"/team/enrollments/{alice_enrollment.id}",
        f"/team/enrollments/{alice_enrollment.id}/letters/start",
        f"/team/enrollments/{alice_enrollment.id}/letters/end",
        f"/team/programmes/{programme_a.id}",
    ):
        html = page(client, url)
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html, url


def test_letter_preview_comes_first_then_issuing_stores_it(
    client, alice_enrollment, claire, db
) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}/letters/start"
    sign_in(client, "claire@example.org")
    html = page(client, url)
    assert "Le courrier suit les préconisations et tient sur une page A4." in html
    assert "Synthèse du Bilan Éducatif Partagé et du programme personnalisé" in html
    assert alice_enrollment.letters == []
    response = client.submit(url, {})
    assert response.status_code == 302
    db.refresh(alice_enrollment)
    assert [(letter.kind, letter.version) for letter in alice_enrollment.letters] == [
        (LetterKind.START, 1)
    ]
    download = client.get(f"/team/letters/{alice_enrollment.letters[0].public_id}.pdf")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.data == alice_enrollment.letters[0].pdf


def test_issuing_without_consent_is_refused_with_403(client, alice_enrollment, claire, db) -> None:
    alice_enrollment.consents[0].withdrawn_at = dt.datetime.now(dt.UTC)
    db.flush()
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}/letters/start"
    response = client.submit(url, {})
    assert response.status_code == 403
    assert "n&#39;est pas enregistré" in response.get_data(as_text=True)
    db.refresh(alice_enrollment)
    assert alice_enrollment.letters == []


def test_end_letter_with_the_copy_option(client, alice_enrollment, claire, db) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}/letters/end"
    sign_in(client, "claire@example.org")
    assert "Une copie de cette synthèse a été remise" in page(client, url + "?copy=1")
    assert (
        client.submit(url, {"copy_given_to_patient": "y"}, page=url + "?copy=1").status_code == 302
    )
    db.refresh(alice_enrollment)
    assert alice_enrollment.letters[0].copy_given_to_patient


def test_refused_letter_names_what_to_fill(client, alice_enrollment, claire, db) -> None:
    alice_enrollment.gp_topics = ""
    db.flush()
    sign_in(client, "claire@example.org")
    url = f"/team/enrollments/{alice_enrollment.id}/letters/end"
    response = client.submit(url, {})
    assert response.status_code == 400
    assert "Indiquez les sujets à aborder avec le médecin traitant." in response.get_data(
        as_text=True
    )


def test_oral_consent_is_recorded_with_who_and_when(client, bob_enrollment, eve, db) -> None:
    url = f"/team/enrollments/{bob_enrollment.id}"
    sign_in(client, "eve@example.org")
    assert "Non enregistré" in page(client, url)
    response = client.submit(
        f"{url}/consent", {"consent-given_on": dt.date.today().isoformat()}, page=url
    )
    assert response.status_code == 302
    html = page(client, url)
    assert "Recueilli oralement le" in html and "par Eve" in html


def test_oral_consent_in_the_future_is_refused(client, bob_enrollment, eve, db) -> None:
    url = f"/team/enrollments/{bob_enrollment.id}"
    sign_in(client, "eve@example.org")
    tomorrow = (dt.date.today() + dt.timedelta(days=1)).isoformat()
    response = client.submit(f"{url}/consent", {"consent-given_on": tomorrow}, page=url)
    assert response.status_code == 400
    assert "ne peut pas être dans le futur" in response.get_data(as_text=True)
    db.refresh(bob_enrollment)
    assert bob_enrollment.consents == []


def test_programme_contact_details_are_edited(client, claire, programme_a, db) -> None:
    url = f"/team/programmes/{programme_a.id}"
    sign_in(client, "claire@example.org")
    response = client.submit(
        url,
        {
            "programme-hospital": "CHU de Nantes",
            "programme-service": "Endocrinologie",
            "programme-address": "1 place Alexis-Ricordeau",
            "programme-coordinator_name": "Dr Anne Roux",
            "programme-coordinator_phone": "02 40 00 00 00",
            "programme-coordinator_email": "Anne.Roux@chu.example",
        },
    )
    assert response.status_code == 302
    db.refresh(programme_a)
    assert (programme_a.coordinator_name, programme_a.coordinator_email) == (
        "Dr Anne Roux",
        "anne.roux@chu.example",
    )


def test_programme_without_coordinator_email_is_refused(client, claire, programme_a, db) -> None:
    url = f"/team/programmes/{programme_a.id}"
    sign_in(client, "claire@example.org")
    response = client.submit(
        url,
        {
            "programme-hospital": "CHU",
            "programme-coordinator_name": "X",
            "programme-coordinator_phone": "1",
            "programme-coordinator_email": "",
        },
    )
    assert response.status_code == 400
    db.refresh(programme_a)
    assert programme_a.coordinator_email == "coordination@example.org"


def test_workshop_is_added_to_the_catalogue_once(client, claire, programme_a, db) -> None:
    url = f"/team/programmes/{programme_a.id}"
    sign_in(client, "claire@example.org")
    data = {
        "workshop-title": "Voyager sereinement",
        "workshop-description": "1 h 30",
        "workshop-is_collective": "y",
    }
    assert client.submit(f"{url}/workshops", data, page=url).status_code == 302
    duplicate = client.submit(f"{url}/workshops", data, page=url)
    assert duplicate.status_code == 400
    assert "déjà un atelier portant ce titre" in duplicate.get_data(as_text=True)
    db.refresh(programme_a)
    assert [w.title for w in programme_a.workshops].count("Voyager sereinement") == 1


def test_enrolling_a_new_patient_sends_an_invitation(client, claire, programme_a, db) -> None:
    sign_in(client, "claire@example.org")
    response = client.submit(
        "/team/patients/new",
        {
            "programme_id": str(programme_a.id),
            "first_name": "Chloé",
            "last_name": "Petit",
            "email": "chloe@example.org",
        },
    )
    assert response.status_code == 302
    assert db.scalar(select(Invitation).where(Invitation.email == "chloe@example.org")) is not None


def test_enrolling_an_existing_patient_account(client, claire, programme_a, db) -> None:
    carol = make_patient("Carol")
    sign_in(client, "claire@example.org")
    response = client.submit(
        "/team/patients/existing",
        {"existing-programme_id": str(programme_a.id), "existing-email": "carol@example.org"},
        page="/team/patients/new",
    )
    assert response.status_code == 302
    # An invitation the patient answers, not an enrollment (tests/test_programme_invitations.py).
    assert db.scalar(select(Enrollment).where(Enrollment.patient_id == carol.id)) is None
    again = client.submit(
        "/team/patients/existing",
        {"existing-programme_id": str(programme_a.id), "existing-email": "carol@example.org"},
        page="/team/patients/new",
    )
    assert again.status_code == 400
    assert "déjà en attente de réponse pour cette adresse" in again.get_data(as_text=True)


def test_enrolling_an_unknown_or_staff_account_is_refused(client, claire, eve, programme_a) -> None:
    sign_in(client, "claire@example.org")
    for email in ("ghost@example.org", "eve@example.org"):
        response = client.submit(
            "/team/patients/existing",
            {"existing-programme_id": str(programme_a.id), "existing-email": email},
            page="/team/patients/new",
        )
        assert response.status_code == 400
        assert "Aucun compte patient n&#39;utilise cette adresse e-mail." in response.get_data(
            as_text=True
        )


def test_enrolling_into_another_programme_is_refused(client, claire, programme_b, db) -> None:
    carol = make_patient("Carol")
    sign_in(client, "claire@example.org")
    response = client.submit(
        "/team/patients/existing",
        {"existing-programme_id": str(programme_b.id), "existing-email": "carol@example.org"},
        page="/team/patients/new",
    )
    assert response.status_code == 400  # not a choice offered to Claire
    assert db.scalar(select(Enrollment).where(Enrollment.patient_id == carol.id)) is None


def test_patient_list_shows_consent_and_letters_at_a_glance(
    app, client, other_client, alice_enrollment, claire, eve, db
) -> None:
    from pathway import letters

    with app.test_request_context():
        letters.issue_letter(alice_enrollment, LetterKind.START, claire)
    db.flush()
    sign_in(client, "claire@example.org")
    html = page(client, "/team/")
    assert "Accord recueilli pour informer le médecin traitant" in html
    assert "Courrier de début émis" in html and "Courrier de fin émis" not in html
    sign_in(other_client, "eve@example.org")
    assert "Pas d'accord pour informer le médecin traitant" in other_client.get("/team/").get_data(
        as_text=True
    )


def test_educator_who_chose_english_issues_an_english_letter(
    client, alice_enrollment, claire, db
) -> None:
    claire.locale = "en"
    db.flush()
    url = f"/team/enrollments/{alice_enrollment.id}/letters/start"
    sign_in(client, "claire@example.org")
    html = page(client, url)
    assert "Summary of the Shared Educational Assessment and of the personalised programme" in html
    assert "Dear Doctor," in html
    assert client.submit(url, {}).status_code == 302
    db.refresh(alice_enrollment)
    assert alice_enrollment.letters[0].locale == "en"
