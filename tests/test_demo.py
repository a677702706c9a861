"""The demo command loads the demo data once and prints the logins."""

from sqlalchemy import func, select

from pathway.models import Enrollment, Patient, User


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
