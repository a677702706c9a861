"""build_view: each section's data, read from the database, for one patient only."""

from __future__ import annotations

import datetime as dt

from pathway.models import (
    AttendanceStatus,
    Competency,
    Condition,
    ObjectiveStatus,
    WorkshopAttendance,
)
from pathway.sharing.sections import Section
from pathway.sharing.view import build_view
from tests.factories import enroll, make_patient


def section_data(app, patient, section: Section):
    with app.test_request_context("/"):
        return build_view(patient.id, (section,))["sections"][0]["data"]


def test_etp_progress_groups_each_programme_in_order_and_reads_no_other_patient(
    app, db, alice, alice_enrollment, bob, programme_b
) -> None:
    # Alice follows Bob's Programme B too.
    in_first, in_second = alice_enrollment, enroll(alice, programme_b)
    first = alice_enrollment.programme
    in_first.objectives[1].status = ObjectiveStatus.ACHIEVED
    in_first.attendances = [
        WorkshopAttendance(
            workshop=first.workshops[1],
            status=AttendanceStatus.ATTENDED,
            scheduled_on=dt.date(2026, 10, 8),
        ),
        WorkshopAttendance(workshop=first.workshops[0]),
    ]
    in_second.competencies = [
        Competency(text="Adapts the dose when ill"),
        Competency(text="Injects hydrocortisone", is_acquired=False),
    ]
    db.flush()

    progress = section_data(app, alice, Section.ETP_PROGRESS)

    assert [p["programme"] for p in progress] == ["Programme A", "Programme B"]
    a, b = progress
    assert a["coordinator"]["name"] == "Coordinator of Programme A"
    assert a["started_on"] == dt.date(2026, 10, 1) and a["ended_on"] is None
    assert a["objectives"] == [
        {"text": "Alice treatment objective", "status": "in_progress"},
        {"text": "Alice life objective", "status": "achieved"},
    ]
    assert a["remaining_objectives"] == ["Alice treatment objective"]
    assert a["workshops"] == [
        {
            "title": "Programme A workshop 2",
            "status": "attended",
            "scheduled_on": dt.date(2026, 10, 8),
            "attended": True,
        },
        {
            "title": "Programme A workshop 1",
            "status": "planned",
            "scheduled_on": None,
            "attended": False,
        },
    ]
    assert a["competencies"] == []
    assert b["workshops"] == []
    assert b["competencies"] == [
        {"text": "Adapts the dose when ill", "status": "acquired"},
        {"text": "Injects hydrocortisone", "status": "in_progress"},
    ]
    assert b["competencies_by_status"] == [
        {"status": "acquired", "texts": ["Adapts the dose when ill"]},
        {"status": "in_progress", "texts": ["Injects hydrocortisone"]},
    ]
    assert a["bep_synthesis"] == "Alice BEP synthesis" and a["gp_topics"] == "Alice GP topics"
    assert "Bob" not in repr(progress)

    assert section_data(app, alice, Section.TREATMENT_OBJECTIVES) == [
        {"text": "Alice treatment objective", "status": "in_progress", "programme": "Programme A"},
        {"text": "Alice treatment objective", "status": "in_progress", "programme": "Programme B"},
    ]
    assert section_data(app, make_patient("Carol"), Section.ETP_PROGRESS) == []


def test_a_change_not_yet_flushed_is_in_the_view(app, db, alice) -> None:
    alice.conditions.append(Condition(label="Pending condition"))
    labels = [c["label"] for c in section_data(app, alice, Section.CONDITIONS)]
    assert "Pending condition" in labels


def test_whose_summary_it_is_comes_from_the_database_with_the_sections(app, db, alice) -> None:
    from sqlalchemy import update

    from pathway.models import Patient

    db.flush()
    version = alice.summary_version
    # Another worker renames the patient: the object held here still has the old name.
    db.execute(
        update(Patient)
        .where(Patient.id == alice.id)
        .values(first_name="Alicia", phone="0611223344", summary_version=version + 1)
        .execution_options(synchronize_session=False)
    )
    assert alice.first_name == "Alice"
    with app.test_request_context("/"):
        view = build_view(alice.id, (Section.IDENTITY,))
    assert view["patient"]["full_name"] == view["sections"][0]["data"]["full_name"]
    assert view["patient"]["full_name"].startswith("Alicia ")
    assert view["sections"][0]["data"]["phone"] == "0611223344"
    assert view["summary_version"] == version + 1
