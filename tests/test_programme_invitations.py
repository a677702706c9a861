"""Programme boundaries are the patient's (security checklist item 30).

The attack: any educator attached any patient's account to their programme by its e-mail
address, recorded an "oral" consent themselves, and read the patient's GP link in a letter
preview. Now a team only invites; the patient accepts or declines while signed in; they are
told of every consent recorded on their behalf, by whom, and can withdraw it.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from pathway.models import (
    Consent,
    Enrollment,
    InvitationAnswer,
    Notification,
    Patient,
    ProgrammeInvitation,
    User,
)
from tests.factories import make_educator, make_patient, sign_in

DEMO_PATIENT = "patient@demo.pathway"
DEMO_PASSWORD = "pathway-demo-2026"
# What Eve must never read: the demo patient's name, health data, GP and links.
DEMO_SENTINELS = ("Camille", "Lefèvre", "Hydrocortisone", "Paul Martin", "Trélazé", "/s/")


def invite(client, programme_id: int, email: str) -> TestResponse:
    return client.submit(
        "/team/patients/existing",
        {"existing-programme_id": str(programme_id), "existing-email": email},
        page="/team/patients/new",
    )


def text_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


@pytest.fixture
def demo(app, db):
    """The demo data, as `flask demo` loads it: the demo patient enrolled, with a GP link."""
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    user = db.scalar(select(User).where(User.email == DEMO_PATIENT))
    return user.patient


def test_an_educator_of_another_programme_gets_nothing_of_the_demo_patient(
    client, other_client, demo, db
) -> None:
    eve = make_educator("Eve", "Programme B")
    programme_b = eve.programmes[0]
    enrolled_before = db.scalar(select(func.count()).select_from(Enrollment))
    consents_before = db.scalar(select(func.count()).select_from(Consent))
    sign_in(client, "eve@example.org")

    # Attaching the demo patient by e-mail gives only an invitation, pending.
    assert invite(client, programme_b.id, DEMO_PATIENT).status_code == 302
    assert db.scalar(select(func.count()).select_from(Enrollment)) == enrolled_before
    invitation = db.scalar(select(ProgrammeInvitation))
    assert invitation.answer is None and invitation.programme_id == programme_b.id
    team_page = text_of(client, "/team/")
    assert DEMO_PATIENT in team_page and "Invitation en attente" in team_page

    # Recording consent, opening the path or a letter preview: there is nothing to reach.
    for enrollment in db.scalars(select(Enrollment)):
        base = f"/team/enrollments/{enrollment.id}"
        assert client.get(base).status_code == 404
        assert client.get(f"{base}/letters/start").status_code == 404
        response = client.submit(
            f"{base}/consent", {"consent-given_on": dt.date.today().isoformat()}, page="/team/"
        )
        assert response.status_code == 404
    # Nor can she answer the invitation in the patient's place.
    answered = client.submit(f"/programme/invitations/{invitation.id}/accept", {}, page="/team/")
    assert answered.status_code in (302, 303, 403, 404)
    db.refresh(invitation)
    assert invitation.answer is None
    assert db.scalar(select(func.count()).select_from(Enrollment)) == enrolled_before
    assert db.scalar(select(func.count()).select_from(Consent)) == consents_before

    # Nothing of the patient is readable on any page Eve can open.
    for url in ("/team/", "/team/patients/new", f"/team/programmes/{programme_b.id}", "/inbox/"):
        html = client.get(url).get_data(as_text=True)
        assert not [word for word in DEMO_SENTINELS if word in html], url

    # The patient is told, sees who invites her, and declines: still no enrollment.
    sign_in(other_client, DEMO_PATIENT, DEMO_PASSWORD)
    notice = db.scalar(
        select(Notification).where(
            Notification.user_id == demo.user_id, Notification.kind == "programme_invitation"
        )
    )
    assert notice is not None and notice.params["educator"] == "Eve"
    assert "Eve vous invite à rejoindre" in text_of(other_client, "/inbox/")
    programme_page = text_of(other_client, "/programme/")
    assert "Programme B" in programme_page and "par Eve pour rejoindre" in programme_page
    response = other_client.submit(
        f"/programme/invitations/{invitation.id}/decline", {}, page="/programme/"
    )
    assert response.status_code == 303
    db.refresh(invitation)
    assert invitation.answer == InvitationAnswer.DECLINED
    assert db.scalar(select(func.count()).select_from(Enrollment)) == enrolled_before
    assert "Refusée le" in text_of(client, "/team/")
    told = db.scalar(select(Notification).where(Notification.user_id == eve.id))
    assert told.kind == "invitation_declined" and told.params["email"] == DEMO_PATIENT
    # The demo patient's own programme is untouched.
    assert [e.programme.name for e in db.get(Patient, demo.id).enrollments] == [
        "Vivre avec une insuffisance surrénalienne"
    ]


def test_the_patient_accepts_and_only_then_the_team_sees_the_path(
    client, other_client, claire, programme_a, db
) -> None:
    carol = make_patient("Carol")
    sign_in(client, "claire@example.org")
    assert invite(client, programme_a.id, "carol@example.org").status_code == 302
    team_page = text_of(client, "/team/")
    assert "carol@example.org" in team_page and "Carol Martin" not in team_page

    sign_in(other_client, "carol@example.org")
    page = text_of(other_client, "/programme/")
    assert "par Claire Dubois pour rejoindre" in page and "Programme A" in page
    invitation = db.scalar(select(ProgrammeInvitation))
    response = other_client.submit(
        f"/programme/invitations/{invitation.id}/accept", {}, page="/programme/"
    )
    assert response.status_code == 303
    enrollment = db.scalar(select(Enrollment).where(Enrollment.patient_id == carol.id))
    assert enrollment.programme_id == programme_a.id
    assert "Vous avez rejoint « Programme A »" in text_of(other_client, "/programme/")

    team_page = text_of(client, "/team/")
    assert "Carol Martin" in team_page and "Invitation en attente" not in team_page
    assert client.get(f"/team/enrollments/{enrollment.id}").status_code == 200
    told = db.scalar(select(Notification).where(Notification.user_id == claire.id))
    assert told.kind == "invitation_accepted"

    # A second answer (another tab) changes nothing.
    again = other_client.submit(
        f"/programme/invitations/{invitation.id}/decline", {}, page="/programme/"
    )
    assert again.status_code == 303
    db.refresh(invitation)
    assert invitation.answer == InvitationAnswer.ACCEPTED
    assert db.scalar(select(func.count()).select_from(Enrollment)) == 1
    # Already enrolled: no new invitation.
    refused = invite(client, programme_a.id, "carol@example.org")
    assert refused.status_code == 400
    assert "déjà incluse dans ce programme" in refused.get_data(as_text=True)


def test_a_patient_cannot_answer_another_patients_invitation(
    client, other_client, claire, programme_a, db
) -> None:
    make_patient("Carol")
    make_patient("Dana")
    sign_in(client, "claire@example.org")
    assert invite(client, programme_a.id, "carol@example.org").status_code == 302
    invitation = db.scalar(select(ProgrammeInvitation))
    sign_in(other_client, "dana@example.org")
    response = other_client.submit(
        f"/programme/invitations/{invitation.id}/accept", {}, page="/programme/"
    )
    assert response.status_code == 404
    db.refresh(invitation)
    assert invitation.answer is None


def test_an_oral_consent_is_told_to_the_patient_who_can_withdraw_it(
    client, other_client, alice_enrollment, claire, db
) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    sign_in(client, "claire@example.org")
    assert "La patiente en est informée, avec votre nom" in text_of(client, url)
    given_on = dt.date.today() - dt.timedelta(days=3)
    response = client.submit(f"{url}/consent", {"consent-given_on": given_on.isoformat()}, page=url)
    assert response.status_code == 302

    alice_user_id = alice_enrollment.patient.user_id
    notice = db.scalar(
        select(Notification).where(
            Notification.user_id == alice_user_id, Notification.kind == "consent_recorded"
        )
    )
    assert notice.params["educator"] == "Claire Dubois"
    sign_in(other_client, "alice@example.org")
    assert "Claire Dubois a enregistré que vous avez donné oralement" in text_of(
        other_client, "/inbox/"
    )
    page = text_of(other_client, "/programme/")
    assert "Claire Dubois, de votre équipe, a enregistré" in page
    assert f"{given_on.day} " in page  # the day of the agreement is shown
    response = other_client.submit(
        f"/programme/{alice_enrollment.id}/consent/withdraw", {}, page="/programme/"
    )
    assert response.status_code == 302
    consent = db.scalar(select(Consent).where(Consent.enrollment_id == alice_enrollment.id))
    db.refresh(consent)
    assert consent.withdrawn_at is not None and consent.withdrawn_by_name == "Alice Martin"


def test_a_withdrawal_recorded_by_the_team_is_told_to_the_patient(
    client, alice_enrollment, claire, db
) -> None:
    url = f"/team/enrollments/{alice_enrollment.id}"
    sign_in(client, "claire@example.org")
    today = dt.date.today().isoformat()
    assert client.submit(f"{url}/consent", {"consent-given_on": today}, page=url).status_code == 302
    assert client.submit(f"{url}/consent/withdraw", {}, page=url).status_code == 302
    kinds = set(
        db.scalars(
            select(Notification.kind).where(
                Notification.user_id == alice_enrollment.patient.user_id
            )
        )
    )
    assert {"consent_recorded", "consent_withdrawn_for_you"} <= kinds
