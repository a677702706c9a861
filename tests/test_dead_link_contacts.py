"""The page of a dead or locked link names the patient's ETP team only to a browser that
proved something (it gave the link's passcode within the hour), never to whoever holds a dead
link or guessed passcodes until it locked."""

from __future__ import annotations

from pathway.sharing import shares
from tests.conftest import Client
from tests.factories import make_share, path_of

TEAM_PHONE = "02 41 00 00 00"


def test_a_guesser_who_locked_the_link_learns_nothing_of_the_team(
    stranger: Client, db, alice
) -> None:
    share = make_share(alice, passcode="4821")
    db.commit()
    for _attempt in range(shares.MAX_PASSCODE_ATTEMPTS):
        response = stranger.submit(path_of(share), {"passcode": "0000"})
    assert response.status_code == 410
    assert TEAM_PHONE not in response.get_data(as_text=True)
    assert TEAM_PHONE not in stranger.get(path_of(share)).get_data(as_text=True)


def test_whoever_holds_a_withdrawn_link_learns_nothing_of_the_team(
    stranger: Client, db, alice
) -> None:
    share = make_share(alice)
    shares.revoke_share(share)
    db.commit()
    response = stranger.get(path_of(share))
    assert response.status_code == 410
    assert TEAM_PHONE not in response.get_data(as_text=True)


def test_the_professional_who_gave_the_passcode_is_told_whom_to_call(
    stranger: Client, db, alice
) -> None:
    share = make_share(alice, passcode="4821")
    db.commit()
    assert stranger.submit(path_of(share), {"passcode": "4821"}).status_code == 200
    shares.revoke_share(share)
    db.commit()
    response = stranger.get(path_of(share))
    assert response.status_code == 410
    assert TEAM_PHONE in response.get_data(as_text=True)
