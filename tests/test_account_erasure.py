"""Deleting a patient's account erases what others keep about them: the team's notices no
longer name the patient or the GP, the security trail no longer holds the patient's id, and
mail waiting for the patient is dropped. Another patient's records are untouched."""

from __future__ import annotations

from sqlalchemy import select

from pathway import mail, notifications
from pathway.models import AuditEvent, Notification, OutboxMessage, User
from pathway.programme import invitations
from pathway.sharing import replies
from tests.conftest import PUBLIC_BASE_URL
from tests.factories import PASSWORD, make_share, reply_data, sign_in

NAMES = ("Alice", "Martin", "Paul", "alice@example.org")


def forwarded_reply(patient, enrollment) -> None:
    """A GP's reply, passed on by the patient to their team (who is told, by name)."""
    contribution = replies.submit_contribution(
        make_share(patient, allow_replies=True), reply_data()
    )
    replies.forward(contribution, enrollment.id, actor=patient.user)


def test_the_teams_notices_and_the_trail_forget_a_deleted_patient(
    app, client, db, alice, alice_enrollment, claire, bob, bob_enrollment, eve, programme_b
) -> None:
    with app.test_request_context(base_url=PUBLIC_BASE_URL):
        forwarded_reply(alice, alice_enrollment)
        forwarded_reply(bob, bob_enrollment)
        invitation = invitations.invite_existing_patient(eve, programme_b, "alice@example.org")
        invitations.decline_invitation(invitation, alice.user)
    mail.queue_mail("alice@example.org", "Votre compte", "Bonjour Alice")
    db.commit()
    alice_id, bob_id, programme_name = alice.id, bob.id, programme_b.name
    about_alice = db.scalars(select(Notification).where(Notification.patient_id == alice_id)).all()
    assert {n.kind for n in about_alice} == {"contribution_forwarded", "invitation_declined"}
    assert {n.user_id for n in about_alice} == {claire.id, eve.id}
    ids = [n.id for n in about_alice]
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.patient_id == alice_id))

    sign_in(client, "alice@example.org")
    response = client.submit("/account/delete-account", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 303
    db.expunge_all()

    for notice in db.scalars(select(Notification).where(Notification.id.in_(ids))):
        assert notice.patient_id is None and notice.link == ""
        with app.test_request_context():
            text = notifications.notification_text(notice)
        stored = " ".join(str(v) for v in notice.params.values())
        for name in NAMES:
            assert name not in text and name not in stored, (notice.kind, text, stored)
        if notice.kind == "invitation_declined":
            assert programme_name in text  # what names nobody stays
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.patient_id == alice_id)) is None
    deleted = db.scalar(select(AuditEvent).where(AuditEvent.tag == "account:deleted"))
    assert deleted.patient_id is None and deleted.details["count"] > 0
    assert (
        db.scalar(select(OutboxMessage).where(OutboxMessage.recipient == "alice@example.org"))
        is None
    )
    assert db.scalar(select(User).where(User.email == "alice@example.org")) is None

    # Bob's notice and trail are his as before.
    [about_bob] = db.scalars(select(Notification).where(Notification.patient_id == bob_id)).all()
    with app.test_request_context():
        assert "Bob" in notifications.notification_text(about_bob)
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.patient_id == bob_id))
