"""A GP replies through the link; the patient passes it on; the ETP team reads it and answers."""

from __future__ import annotations

from typing import Any

import pytest

from .support import Server, follow, fr, fr_her, screenshot

pytestmark = pytest.mark.e2e

OBJECTIVE = "Reprendre une activité physique adaptée sans décompensation"
MESSAGE = "Bilan thyroïdien prévu en janvier ; je reste disponible pour la consultation."
ANSWER = "Merci Docteur : nous travaillerons cet objectif avec Mme Lefèvre à l'atelier de décembre."


def test_gp_reply_reaches_the_team_only_when_the_patient_passes_it_on(
    server: Server, stranger_page: Any, patient_page: Any, educator_page: Any
) -> None:
    # The GP opens the demo link and writes back.
    gp = stranger_page
    gp.goto(server.link("GP link"))
    panel = gp.locator("#conversation")
    panel.get_by_label(fr("Proposed complementary objective")).fill(OBJECTIVE)
    panel.get_by_label(fr("Message"), exact=True).fill(MESSAGE)
    panel.get_by_label(fr("Your name")).fill("Dr Sophie Bernard")
    panel.get_by_label(fr("Your role")).fill("Médecin remplaçante")
    panel.get_by_label(fr("How to reach you")).fill("sophie.bernard@medecin.mssante.fr")
    follow(gp, panel.get_by_role("button", name=fr("Send to the patient")))
    assert gp.get_by_role("heading", level=1).inner_text() == fr(
        "Thank you, your reply was sent to the patient"
    )

    # Nothing has reached the team yet.
    team = educator_page
    team.goto("/inbox/")
    assert OBJECTIVE not in team.inner_text("main")

    # The patient reads it first, in the inbox, and passes it on with a comment.
    page = patient_page
    page.goto("/inbox/")
    replies = page.get_by_role("region", name=fr("Replies from your professionals"))
    reply = replies.get_by_role("link", name="Dr Sophie Bernard")
    assert reply.count() == 1
    assert fr("Waiting for your decision") in replies.inner_text()
    screenshot(page, "09-inbox")
    follow(page, reply)
    assert MESSAGE in page.inner_text("main")
    page.get_by_label(fr("Your comment")).fill("D'accord pour en parler à l'atelier.")
    follow(page, page.get_by_role("button", name=fr("Pass it on to my ETP team")))
    assert fr("Passed on to your ETP team") in page.inner_text("main")

    # The team sees it, with its author, and answers on the same link.
    team.goto("/inbox/")
    forwarded = team.get_by_role("region", name=fr("Replies passed on by patients"))
    follow(team, forwarded.get_by_role("link", name="Dr Sophie Bernard"))
    text = team.inner_text("main")
    assert OBJECTIVE in text and MESSAGE in text and "D'accord pour en parler" in text
    team.get_by_label(fr("Your answer")).fill(ANSWER)
    follow(team, team.get_by_role("button", name=fr("Post the answer")))

    # The enrollment's page shows the reply too, with its author and proposed objective.
    team.goto("/team/")
    follow(team, team.get_by_role("link", name="Camille Lefèvre").first)
    passed_on = team.get_by_role(
        "region", name=fr_her("Replies passed on by the patient")
    ).inner_text()
    assert "Dr Sophie Bernard" in passed_on and OBJECTIVE in passed_on

    # The GP sees the answer on the link.
    gp.goto(server.link("GP link"))
    conversation = gp.locator("#conversation").inner_text()
    assert fr("Answer from the ETP team") in conversation
    assert ANSWER in conversation
