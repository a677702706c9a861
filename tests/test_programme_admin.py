"""An admin sets up a programme and its team from the command line."""

from __future__ import annotations

from sqlalchemy import select

from pathway.models import Programme, Role
from tests.factories import make_user, sign_in


def test_admin_creates_a_programme_and_adds_an_educator_who_then_sees_it(
    app, client, db, eve
) -> None:
    runner = app.test_cli_runner()
    created = runner.invoke(
        args=["create-programme", "--name", "Vivre avec le diabète", "--hospital", "CHU Test"]
    )
    assert created.exit_code == 0, created.output
    programme = db.scalar(select(Programme).where(Programme.name == "Vivre avec le diabète"))
    assert programme is not None and programme.hospital == "CHU Test"
    added = runner.invoke(
        args=["add-educator", "--programme", str(programme.id), "--email", "EVE@example.org"]
    )
    assert added.exit_code == 0, added.output
    sign_in(client, "eve@example.org")
    assert "Vivre avec le diabète" in client.get(f"/team/programmes/{programme.id}").get_data(
        as_text=True
    )


def test_programme_names_are_unique_and_required(app, db) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["create-programme", "--name", "Asthme"]).exit_code == 0
    again = runner.invoke(args=["create-programme", "--name", "Asthme"])
    assert again.exit_code != 0
    assert "Un programme porte déjà ce nom." in again.output
    assert runner.invoke(args=["create-programme", "--name", "  "]).exit_code != 0
    assert len(db.scalars(select(Programme).where(Programme.name == "Asthme")).all()) == 1


def test_only_educator_accounts_join_a_programme_team(app, db) -> None:
    make_user("alice@example.org", Role.PATIENT)
    runner = app.test_cli_runner()
    runner.invoke(args=["create-programme", "--name", "Asthme"])
    programme = db.scalar(select(Programme).where(Programme.name == "Asthme"))
    for email in ("alice@example.org", "ghost@example.org"):
        result = runner.invoke(
            args=["add-educator", "--programme", str(programme.id), "--email", email]
        )
        assert result.exit_code != 0
    assert programme.educators == []
    missing = runner.invoke(args=["add-educator", "--programme", "999999", "--email", "x@y.org"])
    assert missing.exit_code != 0
