"""Personas and objects for tests: patient Alice, patient Bob, educator Eve of another programme."""

from __future__ import annotations

import datetime as dt
import re

from pathway.auth import accounts
from pathway.db import session
from pathway.models import (
    Allergy,
    CareRole,
    CareTeamMember,
    Condition,
    EmergencyContact,
    EmergencyProtocol,
    Enrollment,
    Medication,
    Objective,
    Patient,
    Programme,
    Role,
    User,
    Workshop,
)

PASSWORD = "correct horse battery staple"


def make_user(email: str, role: Role = Role.PATIENT, password: str = PASSWORD, **fields) -> User:  # type: ignore[no-untyped-def]
    user = User(email=email, password_hash=accounts.hash_password(password), role=role, **fields)
    session.add(user)
    session.flush()
    return user


def make_patient(
    first_name: str = "Alice", last_name: str = "Martin", email: str | None = None
) -> Patient:
    """A patient with an account and one item in every section."""
    user = make_user(email or f"{first_name.lower()}@example.org", Role.PATIENT)
    patient = Patient(
        user=user,
        first_name=first_name,
        last_name=last_name,
        birth_date=dt.date(1980, 1, 2),
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
        critical_action=f"{first_name} critical action",
        what_to_avoid=f"{first_name} what to avoid",
        reference_centre=f"{first_name} reference centre",
        reference_centre_phone="01 02 03 04 05",
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


def sign_in(client, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    response = client.submit("/auth/login", {"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


NAMING_LINK = re.compile(r'href="(/e/[^"/]+/who/[^"]+)"')


def naming_path(client, card_path: str) -> str:  # type: ignore[no-untyped-def]
    """Open an emergency card as a responder; return its link to say who opened it."""
    page = client.get(card_path).get_data(as_text=True)
    found = NAMING_LINK.search(page)
    assert found is not None, "the card links to its naming page"
    return found.group(1)


def name_opening(client, card_path: str, viewer: str):  # type: ignore[no-untyped-def]
    """Open an emergency card and name that opening, as a crew would."""
    return client.submit(naming_path(client, card_path), {"viewer": viewer})
