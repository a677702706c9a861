"""Factories: the people and things tests are made of, built as the product builds them.

The personas themselves (Alice, Bob, Claire, Eve, a stranger) are fixtures in conftest.py;
they are made here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, render_template
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from pathway.auth import accounts
from pathway.cards.service import create_card
from pathway.db import session
from pathway.models import (
    AccessEvent,
    Allergy,
    AttendanceStatus,
    CareRole,
    CareTeamMember,
    Competency,
    Condition,
    Consent,
    EmergencyContact,
    EmergencyProtocol,
    Enrollment,
    Medication,
    Objective,
    OutboxMessage,
    Patient,
    Programme,
    Role,
    Sex,
    Share,
    User,
    Workshop,
    WorkshopAttendance,
)
from pathway.sharing import shares
from pathway.sharing.recipient_routes import reply_panel
from pathway.sharing.sections import EMERGENCY_SECTIONS, PRESETS, Audience, Section
from pathway.sharing.view import build_view

PASSWORD = "correct horse battery staple"
# Hostile text for the fields a visitor or a patient types: all at once, or one by one.
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


# People ----------------------------------------------------------------------------------


def make_user(
    email: str, role: Role = Role.PATIENT, password: str = PASSWORD, **fields: Any
) -> User:
    user = User(email=email, password_hash=accounts.hash_password(password), role=role, **fields)
    session.add(user)
    session.flush()
    return user


def make_educator(display_name: str, programme: str | None = None) -> User:
    """An educator signing in as <first name>@example.org, in the named programme if any."""
    email = f"{display_name.split()[0].lower()}@example.org"
    educator = make_user(email, Role.EDUCATOR, display_name=display_name)
    if programme is not None:
        make_programme(programme, educator)
    return educator


def make_patient(
    first_name: str = "Alice",
    last_name: str = "Martin",
    email: str | None = None,
    sex: Sex | None = None,
) -> Patient:
    """A patient with an account and one item in every section (their sex when given:
    a letter to the GP needs it)."""
    user = make_user(email or f"{first_name.lower()}@example.org", Role.PATIENT)
    patient = Patient(
        user=user,
        first_name=first_name,
        last_name=last_name,
        birth_date=dt.date(1980, 1, 2),
        sex=sex,
        life_context=f"{first_name} life context",
    )
    patient.conditions = [
        Condition(label=f"{first_name} condition", is_rare=True, orphacode="85138")
    ]
    patient.medications = [
        Medication(name=f"{first_name} critical drug", dosage="100 mg", is_critical=True),
        Medication(name=f"{first_name} daily drug", dosage="10 mg"),
    ]
    patient.allergies = [Allergy(substance=f"{first_name} allergen", reaction="rash")]
    patient.emergency_protocol = EmergencyProtocol(
        situations=f"{first_name} situations",
        what_to_do=f"{first_name} what to do",
        immediate_drug=f"{first_name} critical action",
        what_to_avoid=f"{first_name} what to avoid",
        reference_centre=f"{first_name} reference centre",
        reference_centre_phone="01 02 03 04 05",
        reference_centre_24h=True,
    )
    patient.emergency_contacts = [
        EmergencyContact(
            name=f"{first_name} contact", relationship_label="Sister", phone="06 00 00 00 01"
        )
    ]
    patient.care_team = [
        CareTeamMember(
            role=CareRole.GP,
            name=f"Dr {first_name} GP",
            phone="02 00 00 00 01",
            email=f"gp-{first_name.lower()}@example.org",
            secure_email=f"gp-{first_name.lower()}@medecin.mssante.fr",
        )
    ]
    session.add(patient)
    session.flush()
    return patient


# Programmes and paths --------------------------------------------------------------------


def make_programme(name: str = "Programme A", educator: User | None = None) -> Programme:
    programme = Programme(
        name=name,
        hospital="CHU Test",
        service="Endocrinologie",
        coordinator_name=f"Coordinator of {name}",
        coordinator_phone="02 41 00 00 00",
        coordinator_email="coordination@example.org",
        educators=[educator] if educator else [],
        workshops=[
            Workshop(title=f"{name} workshop 1"),
            Workshop(title=f"{name} workshop 2"),
        ],
    )
    session.add(programme)
    session.flush()
    return programme


def enroll(patient: Patient, programme: Programme) -> Enrollment:
    """The patient's path in the programme: a BEP synthesis, GP topics, two objectives."""
    enrollment = Enrollment(
        patient=patient,
        programme=programme,
        started_on=dt.date(2026, 10, 1),
        bep_synthesis=f"{patient.first_name} BEP synthesis",
        gp_topics=f"{patient.first_name} GP topics",
        objectives=[
            Objective(text=f"{patient.first_name} treatment objective", is_treatment_related=True),
            Objective(text=f"{patient.first_name} life objective"),
        ],
    )
    session.add(enrollment)
    session.flush()
    return enrollment


def make_progress(enrollment: Enrollment, educator: User) -> Enrollment:
    """A few weeks on: the first workshop attended, one competency, and the patient's oral
    agreement that the GP is informed, recorded by the educator."""
    enrollment.attendances = [
        WorkshopAttendance(
            workshop=enrollment.programme.workshops[0],
            status=AttendanceStatus.ATTENDED,
            scheduled_on=dt.date(2026, 10, 8),
        )
    ]
    enrollment.competencies = [
        Competency(text=f"{enrollment.patient.first_name} explains the warning signs")
    ]
    session.add(
        Consent(
            enrollment=enrollment,
            method="oral",
            recorded_by_id=educator.id,
            recorded_by_name=educator.display_name,
        )
    )
    session.flush()
    return enrollment


# Shares and emergency cards --------------------------------------------------------------


def make_share(
    patient: Patient,
    audience: Audience = Audience.GP,
    sections: Iterable[Section] | None = None,
    **options: Any,
) -> Share:
    """A link made through the domain function, as the patient's page makes it."""
    return shares.create_share(
        patient,
        audience=audience,
        label=options.pop("label", "Dr Martin, cabinet de Trélazé"),
        sections=tuple(sections) if sections is not None else PRESETS[audience],
        **options,
    )


def make_card(patient: Patient, sections: Iterable[Section] = EMERGENCY_SECTIONS) -> Share:
    """The patient's emergency card, made as the card page makes it (with its documents)."""
    with current_app.test_request_context():
        return create_card(patient, tuple(sections), actor=patient.user)


def url_of(share: Share) -> str:
    """The link as its holder has it: on PUBLIC_BASE_URL, /s/<token> or /e/<token>."""
    with current_app.test_request_context():
        return shares.share_url(share)


def path_of(share: Share) -> str:
    """The link's path, without the configured origin."""
    return urlsplit(url_of(share)).path


def events_of(share: Share) -> int:
    """How many openings of the link the access log holds."""
    return session.scalar(
        select(func.count()).select_from(AccessEvent).where(AccessEvent.share_id == share.id)
    )


def count(model: type) -> int:
    return session.scalar(select(func.count()).select_from(model))


# One sentinel string per section of make_patient("Alice"), enrolled in Programme A.
SENTINELS: dict[Section, tuple[str, ...]] = {
    Section.CONDITIONS: ("Alice condition",),
    Section.TREATMENTS: ("Alice critical drug", "Alice daily drug"),
    Section.ALLERGIES: ("Alice allergen",),
    Section.EMERGENCY_PROTOCOL: (
        "Alice situations",
        "Alice what to do",
        "Alice critical action",
        "Alice what to avoid",
        "Alice reference centre",
    ),
    Section.EMERGENCY_CONTACTS: ("Alice contact",),
    Section.CARE_TEAM: ("Dr Alice GP", "gp-alice@medecin.mssante.fr"),
    Section.ETP_PROGRESS: (
        "Alice life objective",
        "Alice treatment objective",
        "Coordinator of Programme A",
    ),
    Section.TREATMENT_OBJECTIVES: ("Alice treatment objective",),
    Section.LIFE_CONTEXT: ("Alice life context",),
}


def assert_scope(html: str, chosen: Iterable[Section]) -> None:
    """Every sentinel of a shared section is in the page; no sentinel of only unshared ones is."""
    chosen = set(chosen)
    for sentinels in SENTINELS.values():
        for sentinel in sentinels:
            owners = {section for section, owned in SENTINELS.items() if sentinel in owned}
            assert (sentinel in html) == bool(owners & chosen), (sentinel, owners, chosen)


# Replies through a link ------------------------------------------------------------------


def reply_data(**overrides: str) -> dict[str, str]:
    """The reply form as a GP fills it in."""
    data = {
        "life_situation": "Lives alone since September.",
        "comorbidities": "Type 2 diabetes.",
        "recent_events": "Moved house.",
        "proposed_objective": "Know when to call the GP during a flu",
        "message": "Happy to discuss.",
        "author_name": "Dr Paul Martin",
        "author_role": "médecin traitant",
        "author_contact": "paul.martin@medecin.mssante.fr",
        "rpps": "10001234567",
    }
    data.update(overrides)
    return data


def post_reply(client, token: str, data: dict[str, str]) -> TestResponse:
    """Post the reply form with this browser's CSRF token, as a visitor of the link would."""
    return client.submit(f"/s/{token}/reply", data, page="/auth/login")


def reply_panel_html(share: Share) -> str:
    """The reply panel as the recipient's page includes it, opened by the link's token."""
    token = shares.share_token(share)
    with current_app.test_request_context(f"/s/{token}"):
        return render_template(
            "sharing/recipient/_panel.html",
            view=build_view(share.patient_id, []),
            panel=reply_panel(shares.open_link(token), token),
        )


# Browsers --------------------------------------------------------------------------------


def sign_in(client, email: str, password: str = PASSWORD) -> TestResponse:
    response = client.submit("/auth/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


NAMING_LINK = re.compile(r'href="(/e/[^"/]+/who/[^"]+)"')


def naming_path(client, card_path: str) -> str:
    """Open an emergency card as a responder; return its link to say who opened it."""
    page = client.get(card_path).get_data(as_text=True)
    found = NAMING_LINK.search(page)
    assert found is not None, "the card links to its naming page"
    return found.group(1)


def name_opening(client, card_path: str, viewer: str) -> TestResponse:
    """Open an emergency card and name that opening, as a crew would."""
    return client.submit(naming_path(client, card_path), {"viewer": viewer})


def mails_to(app, db, address: str) -> list[tuple[str, str]]:
    """(subject, body) of the messages to this address: written out to the outbox directory
    (sent after their response), then those waiting in the outbox."""
    found: list[tuple[str, str]] = []
    outbox = Path(app.config["OUTBOX_DIR"])
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        with path.open("rb") as handle:
            message = BytesParser(policy=policy.default).parse(handle)
        if message["To"] == address:
            found.append((str(message["Subject"]), message.get_content()))
    db.expire_all()
    waiting = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.recipient == address, OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
    )
    found += [(message.subject, message.body) for message in waiting]
    return found
