"""The demo shows a letter at once: consent recorded and a start letter issued, only once."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import func, select

from pathway.models import Consent, Letter, LetterKind


def test_demo_has_consent_and_an_issued_start_letter_once(app, db) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert db.scalar(select(func.count()).select_from(Consent)) == 1
    letters = list(db.scalars(select(Letter)))
    assert [(letter.kind, letter.version) for letter in letters] == [(LetterKind.START, 1)]
    reader = PdfReader(io.BytesIO(letters[0].pdf))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    assert "Dr Paul Martin" in text and "Synthèse du Bilan Éducatif Partagé" in text


def test_demo_respects_a_withdrawn_consent(app, db) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    consent = db.scalar(select(Consent))
    consent.withdrawn_at = consent.given_at
    db.commit()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert db.scalar(select(func.count()).select_from(Consent)) == 1
    assert db.scalar(select(func.count()).select_from(Letter)) == 1
