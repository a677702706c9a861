"""The demo command loads the demo data once and prints the logins."""

from flask_babel import force_locale
from sqlalchemy import func, select

from pathway.demo import PATIENT_EMAIL
from pathway.mail_notices import MAIL_TEXTS, MailKind
from pathway.models import Enrollment, OutboxMessage, Patient, User


def test_demo_loads_once_and_prints_logins(app, db) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "educatrice@demo.pathway / pathway-demo-2026" in first.output
    assert "patient@demo.pathway / pathway-demo-2026" in first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0
    assert db.scalar(select(func.count()).select_from(User)) == 2
    patient = db.scalar(select(Patient))
    assert any(c.is_rare and c.orphacode for c in patient.conditions)
    assert patient.allergies and patient.medications and patient.emergency_protocol
    enrollment = db.scalar(select(Enrollment))
    assert 2 <= len(enrollment.objectives) <= 3


def test_demo_is_refused_in_production_and_loads_nothing(app, db) -> None:
    """The demo accounts' password is published: never in a production database."""
    app.config["PATHWAY_ENV"] = "production"
    refused = app.test_cli_runner().invoke(args=["demo"])
    assert refused.exit_code != 0
    assert "PATHWAY_ENV=production" in refused.output
    assert "pathway-demo-2026" not in refused.output
    assert db.scalar(select(func.count()).select_from(User)) == 0


def test_add_educator_refuses_an_id_no_programme_can_have(app, db) -> None:
    runner = app.test_cli_runner()
    for programme_id in (str(2**64), "-1", "0"):
        refused = runner.invoke(
            args=["add-educator", "--programme", programme_id, "--email", "x@example.org"]
        )
        assert refused.exit_code == 2, refused.output  # Click's usage error, no traceback
        assert refused.exception is None or isinstance(refused.exception, SystemExit)
        assert "--programme" in refused.output


def test_the_demos_outbox_holds_one_mail_of_each_kind_once(app, db) -> None:
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert runner.invoke(args=["demo"]).exit_code == 0  # loaded once: no second mail
    subjects = db.scalars(
        select(OutboxMessage.subject).where(OutboxMessage.recipient == PATIENT_EMAIL)
    ).all()
    with app.test_request_context(), force_locale("fr"):
        kind_of = {str(text.subject): text.kind for text in MAIL_TEXTS.values()}
    assert {kind_of[subject] for subject in subjects} == set(MailKind)  # one of each kind
    assert len(subjects) == len(set(subjects))  # each once
