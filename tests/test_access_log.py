"""The access log speaks to a patient: a visit is one line, each opening says how the
summary shown then compares with today's, and a link that was answered is never
« not opened yet »."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from pathway.models import AccessEvent
from pathway.sharing import shares
from pathway.sharing.sections import Audience, Section
from pathway.summary import editing
from tests.conftest import Client
from tests.factories import make_share, path_of, post_reply, reply_data


def test_a_reload_or_a_language_switch_is_one_visit_not_a_second_opening(
    client: Client, stranger: Client, db, alice_signed_in
) -> None:
    share = make_share(alice_signed_in)
    db.commit()
    assert stranger.get(path_of(share)).status_code == 200
    stranger.set_cookie("lang", "en")
    assert stranger.get(path_of(share)).status_code == 200
    # Both openings are recorded: the log folds them, the database keeps them.
    assert len(db.scalars(select(AccessEvent).where(AccessEvent.share_id == share.id)).all()) == 2

    page = client.get(f"/shares/{share.public_id}").get_data(as_text=True)

    assert page.count('class="access-event') == 1
    assert "Une seule visite : ouvert 2 fois" in page


def test_openings_far_apart_are_two_lines(
    client: Client, stranger: Client, db, alice_signed_in
) -> None:
    share = make_share(alice_signed_in)
    db.commit()
    stranger.get(path_of(share))
    first = db.scalars(select(AccessEvent).where(AccessEvent.share_id == share.id)).one()
    first.occurred_at -= dt.timedelta(hours=3)
    db.commit()
    stranger.get(path_of(share))
    page = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    assert page.count('class="access-event') == 2


def test_an_opening_says_what_has_changed_since_instead_of_a_version_number(
    client: Client, stranger: Client, db, alice_signed_in
) -> None:
    alice = alice_signed_in
    share = make_share(alice, Audience.GP, (Section.CONDITIONS, Section.TREATMENTS))
    db.commit()
    stranger.get(path_of(share))
    page = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    assert "telle qu'elle est aujourd'hui" in page
    assert "Version" not in page

    event = db.scalars(select(AccessEvent).where(AccessEvent.share_id == share.id)).one()
    event.occurred_at -= dt.timedelta(minutes=5)
    editing.update_life_context(alice, "Je vis seule.", "Alice Martin")
    db.commit()
    page = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    assert "ce qui a été montré n'a pas changé depuis" in page

    medication = alice.medications[0]
    editing.save_item(
        alice, Section.TREATMENTS, medication, {"name": medication.name + " LP"}, "Alice Martin"
    )
    db.commit()
    page = client.get(f"/shares/{share.public_id}").get_data(as_text=True)
    assert "rubriques modifiées depuis : Traitements" in page


def test_a_link_that_was_answered_never_says_nobody_opened_it(
    client: Client, stranger: Client, db, alice_signed_in
) -> None:
    share = make_share(alice_signed_in, allow_replies=True)
    db.commit()
    assert post_reply(stranger, shares.share_token(share), reply_data()).status_code == 303
    # The openings were purged (retention), the reply is still there.
    for event in db.scalars(select(AccessEvent).where(AccessEvent.share_id == share.id)):
        db.delete(event)
    db.commit()

    page = client.get(f"/shares/{share.public_id}").get_data(as_text=True)

    assert "Personne ne l'a encore ouvert" not in page
    assert "cette personne vous a répondu le" in page
