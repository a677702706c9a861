"""The exchange rules, without a request: replies, the patient's consent, notifications."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from pathway import notifications
from pathway.db import utcnow
from pathway.models import (
    Contribution,
    ContributionStatus,
    Enrollment,
    Message,
    Notification,
    Objective,
    Share,
)
from pathway.sharing import replies as exchanges
from pathway.sharing import shares
from pathway.sharing.sections import Audience
from pathway.team import replies as team_replies
from tests.factories import enroll, make_educator, make_share, reply_data

# Messages are translated: the domain runs inside a request, as in production.
pytestmark = pytest.mark.usefixtures("in_request")


def forwarded_reply(share: Share, enrollment: Enrollment) -> Contribution:
    """A GP replies through the link and the patient passes the reply on to that team."""
    contribution = exchanges.submit_contribution(share, reply_data())
    exchanges.forward(contribution, enrollment.id)
    return contribution


def test_a_reply_is_pending_for_the_patient_and_notifies_her_only(db, alice, claire) -> None:
    share = make_share(alice, allow_replies=True)

    contribution = exchanges.submit_contribution(share, reply_data())

    assert contribution.status == ContributionStatus.PENDING
    assert contribution.enrollment_id is None
    notices = db.scalars(select(Notification)).all()
    assert [(n.user_id, n.kind) for n in notices] == [(alice.user_id, "contribution_received")]
    assert notifications.unread_count(claire) == 0


@pytest.mark.parametrize(
    "state", ["revoked", "expired", "locked", "no_replies", "pharmacist_without_replies"]
)
def test_replies_are_refused_on_a_closed_share(db, alice, state) -> None:
    share = make_share(alice, allow_replies=state != "no_replies")
    if state == "revoked":
        shares.revoke_share(share)
    elif state == "expired":
        share.expires_at = utcnow()
    elif state == "locked":
        share.locked_at = utcnow()
    elif state == "pharmacist_without_replies":
        share = make_share(alice, Audience.PHARMACIST)

    with pytest.raises(exchanges.RepliesClosed):
        exchanges.submit_contribution(share, reply_data())
    assert db.scalars(select(Contribution)).all() == []


def test_text_is_stored_as_typed(db, alice) -> None:
    typed = "  <b>Bold?</b> see https://example.org & co\nsecond line  "

    contribution = exchanges.submit_contribution(
        make_share(alice, allow_replies=True), reply_data(message=typed)
    )

    assert contribution.message == typed.strip()


@pytest.mark.parametrize(("field", "limit"), sorted(exchanges.LIMITS.items()))
def test_every_field_has_a_size_limit(db, alice, field, limit) -> None:
    share = make_share(alice, allow_replies=True)
    value = "1" * (limit + 1)

    with pytest.raises(exchanges.ExchangeError) as refused:
        exchanges.submit_contribution(share, reply_data(**{field: value}))

    assert refused.value.field == field
    assert db.scalars(select(Contribution)).all() == []


def test_rpps_spaces_are_ignored_and_letters_refused(db, alice) -> None:
    share = make_share(alice, allow_replies=True)

    stored = exchanges.submit_contribution(share, reply_data(rpps="100 0123 4567"))
    with pytest.raises(exchanges.ExchangeError):
        exchanges.submit_contribution(share, reply_data(rpps="1000123456A"))

    assert stored.rpps == "10001234567"


def test_forward_goes_to_the_chosen_enrollment_and_its_educators(
    db, alice, alice_enrollment, claire, eve
) -> None:
    dan = make_educator("Dan", "Programme C")
    second = enroll(alice, dan.programmes[0])
    contribution = exchanges.submit_contribution(
        make_share(alice, allow_replies=True), reply_data()
    )

    exchanges.forward(contribution, second.id, "For the dietitian")

    assert contribution.enrollment_id == second.id
    assert contribution.status == ContributionStatus.FORWARDED
    assert contribution.forwarded_at is not None and contribution.read_by_patient_at is not None
    assert notifications.unread_count(dan) == 1
    assert notifications.unread_count(claire) == 0
    assert notifications.unread_count(eve) == 0
    assert [c.id for c in team_replies.forwarded_to(dan)] == [contribution.id]
    assert team_replies.forwarded_to(claire) == []
    assert alice_enrollment.id != second.id


def test_forward_is_refused_without_an_enrollment_or_twice(db, alice, alice_enrollment) -> None:
    contribution = exchanges.submit_contribution(
        make_share(alice, allow_replies=True), reply_data()
    )
    with pytest.raises(exchanges.ExchangeError):
        exchanges.forward(contribution, None)

    exchanges.forward(contribution, alice_enrollment.id)
    with pytest.raises(exchanges.ExchangeError):
        exchanges.forward(contribution, alice_enrollment.id)
    with pytest.raises(exchanges.ExchangeError):
        exchanges.keep(contribution)


def test_a_kept_reply_can_still_be_forwarded_later(db, alice, alice_enrollment) -> None:
    contribution = exchanges.submit_contribution(
        make_share(alice, allow_replies=True), reply_data()
    )

    exchanges.keep(contribution)
    exchanges.forward(contribution, alice_enrollment.id)

    assert contribution.status == ContributionStatus.FORWARDED


def test_team_sees_only_forwarded_replies_of_a_conversation(
    db, alice, alice_enrollment, claire
) -> None:
    share = make_share(alice, allow_replies=True)
    kept = exchanges.submit_contribution(share, reply_data(message="Kept one"))
    sent = exchanges.submit_contribution(share, reply_data(message="Forwarded one"))
    exchanges.keep(kept)
    exchanges.forward(sent, alice_enrollment.id, "Alice's comment")

    team_view = team_replies.team_conversation(share.id)
    holder_view = exchanges.conversation_for(share.id)

    team_text = repr(team_view)
    assert "Forwarded one" in team_text and "Kept one" not in team_text
    assert "Alice's comment" in team_text
    assert "Alice's comment" not in repr(holder_view)
    assert all("status" not in entry for entry in holder_view)
    assert [e["id"] for e in team_replies.forwarded_for_enrollment(alice_enrollment)] == [sent.id]


def test_adopting_respects_the_three_objectives_rule(db, alice, alice_enrollment, claire) -> None:
    assert len(alice_enrollment.objectives) == 2
    share = make_share(alice, allow_replies=True)
    first = exchanges.submit_contribution(share, reply_data(proposed_objective="Objective three"))
    second = exchanges.submit_contribution(share, reply_data(proposed_objective="Objective four"))
    exchanges.forward(first, alice_enrollment.id)
    exchanges.forward(second, alice_enrollment.id)

    objective = team_replies.adopt_objective(first, claire)
    with pytest.raises(exchanges.ExchangeError) as refused:
        team_replies.adopt_objective(second, claire)

    assert objective.proposed_by == "Dr Paul Martin (médecin traitant)"
    assert len(alice_enrollment.objectives) == 3
    assert "3" in str(refused.value)
    assert second.objective_adopted_at is None
    assert db.scalar(select(Objective).where(Objective.text == "Objective four")) is None


def test_adopting_needs_a_proposal_and_a_forwarded_reply(
    app, db, alice, alice_enrollment, claire
) -> None:
    from werkzeug.exceptions import NotFound

    share = make_share(alice, allow_replies=True)
    pending = exchanges.submit_contribution(share, reply_data())
    empty = exchanges.submit_contribution(share, reply_data(proposed_objective=""))
    exchanges.forward(empty, alice_enrollment.id)

    with pytest.raises(NotFound):
        team_replies.adopt_objective(pending, claire)
    with pytest.raises(exchanges.ExchangeError):
        team_replies.adopt_objective(empty, claire)


def test_team_reply_is_a_message_on_the_share_and_notifies_the_patient(
    db, alice, alice_enrollment, claire
) -> None:
    share = make_share(alice, allow_replies=True)
    contribution = forwarded_reply(share, alice_enrollment)

    message = team_replies.team_reply(contribution, claire, "  Thank you  ")

    assert message.share_id == share.id and message.from_team and message.body == "Thank you"
    assert message.author_name == "Claire Dubois"
    kinds = [
        n.kind
        for n in db.scalars(select(Notification).where(Notification.user_id == alice.user_id))
    ]
    assert "team_replied" in kinds
    entries = exchanges.conversation_for(share.id)
    assert [e["type"] for e in entries] == ["contribution", "message"]


def test_team_reply_refused_on_a_dead_link_or_when_empty(
    db, alice, alice_enrollment, claire
) -> None:
    share = make_share(alice, allow_replies=True)
    contribution = forwarded_reply(share, alice_enrollment)

    with pytest.raises(exchanges.ExchangeError):
        team_replies.team_reply(contribution, claire, "   ")
    share.expires_at = utcnow()
    with pytest.raises(exchanges.ExchangeError):
        team_replies.team_reply(contribution, claire, "Hello")
    assert db.scalars(select(Message)).all() == []


def test_deleting_removes_the_reply_from_every_view(db, alice) -> None:
    share = make_share(alice, allow_replies=True)
    contribution = exchanges.submit_contribution(share, reply_data())

    exchanges.delete(contribution)

    assert exchanges.conversation_for(share.id) == []
    assert exchanges.contributions_of(alice) == []


def test_pending_replies_come_first(db, alice) -> None:
    share = make_share(alice, allow_replies=True)
    older = exchanges.submit_contribution(share, reply_data(message="older"))
    kept = exchanges.submit_contribution(share, reply_data(message="kept"))
    exchanges.keep(kept)
    newer = exchanges.submit_contribution(share, reply_data(message="newer"))

    order = [c.id for c in exchanges.contributions_of(alice)]

    assert order.index(newer.id) < order.index(kept.id)
    assert order.index(older.id) < order.index(kept.id)


@pytest.mark.parametrize(
    ("kind", "params", "english", "french"),
    [
        (
            "contribution_received",
            {"author": "Dr Martin", "label": "GP"},
            "Dr Martin replied",
            "Dr Martin a répondu",
        ),
        ("emergency_opened", {}, "emergency card was opened", "carte d'urgence a été consultée"),
        (
            "emergency_opened",
            {"when": "2026-11-22T10:00:00+00:00", "viewer": ""},
            "emergency card was opened.",
            "carte d'urgence a été consultée.",
        ),
        ("emergency_opened", {"viewer": "SAMU 49"}, "opened by SAMU 49", "consultée par SAMU 49"),
        ("letter_issued", {"programme": "P"}, "new letter", "nouveau courrier"),
        (
            "letter_issued",
            {"letter_kind": "start", "programme": "ETP Addison", "version": 1},
            "The ETP team of ETP Addison issued the start",
            "programme « ETP Addison » a établi le courrier de début",
        ),
        (
            "letter_issued",
            {"letter_kind": "end", "programme": "ETP Addison"},
            "end-of-programme letter",
            "courrier de fin",
        ),
        (
            "share_locked",
            {"label": "Pharmacie"},
            "“Pharmacie” was locked",
            "« Pharmacie » a été bloqué",
        ),
        (
            "contribution_forwarded",
            {"patient": "Alice", "author": "Dr Martin"},
            "Alice passed on",
            "Alice vous a transmis",
        ),
        (
            "team_replied",
            {"programme": "P", "label": "GP"},
            "answered on the link",
            "a répondu sur le lien",
        ),
        ("something_new", {}, "new notification", "nouvelle notification"),
    ],
)
def test_each_notification_kind_reads_as_a_sentence_in_both_languages(
    app, db, alice, kind, params, english, french
) -> None:
    notice = notifications.notify(alice.user_id, kind, params, link="/inbox/")
    db.flush()

    with force_locale("en"):
        assert english in notifications.notification_text(notice)
    with force_locale("fr"):
        assert french in notifications.notification_text(notice)


def test_notification_with_missing_values_still_reads(app, db, alice) -> None:
    notice = notifications.notify(alice.user_id, "share_locked", {})

    with force_locale("en"):
        assert "was locked" in notifications.notification_text(notice)


@pytest.mark.parametrize(
    "link", ["javascript:alert(1)", "https://evil.example/", "//evil.example/x", "/\\evil"]
)
def test_notification_links_stay_on_the_site(db, alice, link) -> None:
    notice = notifications.notify(alice.user_id, "emergency_opened", {}, link=link)

    assert notice.link == ""


def test_unread_count_and_mark_read_are_per_user(db, alice, bob) -> None:
    notifications.notify(alice.user_id, "emergency_opened")
    notifications.notify(alice.user_id, "letter_issued")
    notifications.notify(bob.user_id, "letter_issued")
    db.flush()

    assert notifications.unread_count(alice.user) == 2
    assert notifications.mark_notifications_read(alice.user) == 2
    assert notifications.unread_count(alice.user) == 0
    assert notifications.unread_count(bob.user) == 1


def test_share_lock_notice_from_the_sharing_core_is_rendered(app, db, alice) -> None:
    share = make_share(alice, passcode="4321")
    for _ in range(5):
        shares.check_passcode(share, "0000")
    db.flush()

    with force_locale("en"):
        texts = [n["text"] for n in notifications.notifications_for(alice.user)]

    assert any("was locked" in text and share.label in text for text in texts)


def test_demo_gp_link_takes_replies_and_holds_one_pending_reply(app, db) -> None:
    from pathway.models import Patient
    from pathway.sharing.shares import active_gp_share

    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0

    patient = db.scalar(select(Patient))
    share = active_gp_share(patient)
    assert share is not None and share.allow_replies
    replies = exchanges.contributions_of(patient)
    assert [(c.author_name, c.status, c.share_id) for c in replies] == [
        ("Dr Paul Martin", ContributionStatus.PENDING, share.id)
    ]
    assert notifications.unread_count(patient.user) >= 1
