"""Demo data: one programme, an educator, a patient living with a rare disease.

Idempotent: running it again changes nothing once the demo patient exists.
Demo-only credentials; never load this into a production database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select

from pathway.auth import accounts
from pathway.db import session, utcnow
from pathway.models import (
    Allergy,
    AttendanceStatus,
    CareRole,
    CareTeamMember,
    CentreKind,
    Competency,
    CompetencyStatus,
    Condition,
    EmergencyContact,
    EmergencyProtocol,
    Enrollment,
    Medication,
    Objective,
    Patient,
    Programme,
    Role,
    SectionAuthor,
    SectionUpdate,
    Sex,
    User,
    Workshop,
    WorkshopAttendance,
)
from pathway.sharing.sections import TEAM_SECTIONS, Section

DEMO_PASSWORD = "pathway-demo-2026"
EDUCATOR_EMAIL = "educatrice@demo.pathway"
PATIENT_EMAIL = "patient@demo.pathway"


@dataclass
class DemoResult:
    created: bool
    links: dict[str, str] = field(default_factory=dict)


def load_demo() -> DemoResult:
    """Create the demo data if absent; return whether it was created."""
    existing = session.scalar(select(User).where(User.email == PATIENT_EMAIL))
    if existing is not None:
        if existing.patient is not None:
            _demo_emergency_card(existing.patient, existing)
            _demo_gp_share(existing.patient, existing)
            _demo_gp_reply(existing.patient)
        if existing.patient is not None:
            _demo_consent_and_letter(existing.patient)
        return DemoResult(created=False)

    educator = User(
        email=EDUCATOR_EMAIL,
        password_hash=accounts.hash_password(DEMO_PASSWORD),
        role=Role.EDUCATOR,
        display_name="Claire Dubois",
        profession="Infirmière d'éducation thérapeutique",
    )
    programme = Programme(
        name="Vivre avec une insuffisance surrénalienne",
        # A fictional hospital: its FINESS number has a valid Luhn key but department 99,
        # which FINESS never uses; the ARS reference says it is fictional.
        hospital="Hôpital de démonstration Pathway",
        service="Service d'endocrinologie, diabétologie et nutrition",
        address="1 rue de l'Exemple, 49000 Angers",
        city="Angers",
        finess="990000002",
        ars_reference="ETP-DEMO-0001 (fictive)",
        sender_email="etp.endocrino@demo-hopital.mssante.example",
        coordinator_name="Dr Hélène Moreau",
        coordinator_sex=Sex.FEMALE,
        coordinator_profession="médecin endocrinologue",
        coordinator_phone="02 41 35 00 00",
        coordinator_email="etp.endocrino@demo-hopital.example",
        educators=[educator],
    )
    workshops = [
        Workshop(
            title="Comprendre ma maladie et mon traitement",
            description="Atelier collectif, 2 h.",
            duration_minutes=120,
        ),
        Workshop(
            title="Adapter mon traitement en situation de stress",
            description="Atelier collectif, 2 h.",
            duration_minutes=120,
        ),
        Workshop(
            title="Réaliser l'injection d'hydrocortisone",
            description="Atelier pratique, 1 h 30.",
            duration_minutes=90,
        ),
        Workshop(
            title="Voyager et partir en vacances sereinement",
            description="Atelier collectif, 1 h 30.",
            duration_minutes=90,
        ),
    ]
    programme.workshops = workshops

    user = User(
        email=PATIENT_EMAIL,
        password_hash=accounts.hash_password(DEMO_PASSWORD),
        role=Role.PATIENT,
        display_name="Camille Lefèvre",
    )
    patient = Patient(
        user=user,
        first_name="Camille",
        last_name="Lefèvre",
        birth_date=dt.date(1988, 4, 12),
        sex=Sex.FEMALE,
        phone="06 12 34 56 78",
        life_context=(
            "Je travaille comme professeure des écoles. En cas de fièvre, je double ou je "
            "triple ma dose d'hydrocortisone comme on me l'a appris. En cas de vomissements "
            "ou de diarrhée, je m'injecte 100 mg d'hydrocortisone et j'appelle le 15. J'ai "
            "parfois du mal à oser le dire aux urgences : merci de m'écouter."
        ),
    )
    patient.conditions = [
        Condition(
            label="Insuffisance surrénalienne primaire (maladie d'Addison)",
            is_rare=True,
            # The disease page is linked from the ORPHAcode; the Orphanet Urgences sheet's
            # address is the team's to enter (none is made up here).
            orphacode="85138",
        ),
        Condition(label="Hypothyroïdie (thyroïdite de Hashimoto)"),
    ]
    patient.medications = [
        Medication(
            name="Hydrocortisone 10 mg",
            dosage="20 mg le matin, 10 mg à midi",
            instructions=(
                "Fièvre : doubler ou tripler la dose. Vomissements ou diarrhée : injecter "
                "l'hydrocortisone du kit d'urgence et appeler le 15."
            ),
            is_critical=True,
        ),
        Medication(name="Fludrocortisone 50 µg", dosage="1 comprimé le matin", is_critical=True),
        Medication(name="Lévothyroxine 75 µg", dosage="1 comprimé le matin à jeun"),
        Medication(
            name="Hydrocortisone injectable 100 mg (kit d'urgence)",
            dosage="100 mg IM ou SC",
            instructions=(
                "En cas de vomissements, de diarrhée, de malaise ou de choc, puis appeler le 15."
            ),
            is_emergency=True,
        ),
    ]
    patient.allergies = [
        Allergy(substance="Pénicillines", reaction="Urticaire généralisée, œdème", is_severe=True),
        Allergy(substance="Lactose", reaction="Troubles digestifs", is_intolerance=True),
    ]
    # The adrenal crisis protocol as a SAMU would read it (sources in docs/clinical.md); the
    # centre and its numbers are fictional (01 99 00 xx xx).
    patient.emergency_protocol = EmergencyProtocol(
        situations=(
            "Insuffisance surrénale aiguë (crise surrénalienne) : fatigue intense, nausées, "
            "vomissements, diarrhée, douleurs abdominales, hypotension, confusion."
        ),
        immediate_drug="Hydrocortisone",
        immediate_dose="100 mg",
        immediate_routes="IV, ou IM/SC si pas d'abord veineux, immédiatement",
        then_treatment="Hydrocortisone 200 mg / 24 h IV en continu (seringue électrique)",
        fluids="Remplissage par sérum salé isotonique (NaCl 0,9 %)",
        checks="Glycémie capillaire, pression artérielle, fréquence cardiaque, conscience",
        what_to_do=(
            "Ne pas attendre les résultats biologiques pour injecter l'hydrocortisone. "
            "Rechercher et traiter le facteur déclenchant (infection…)."
        ),
        what_to_avoid=(
            "Ne jamais arrêter l'hydrocortisone ni la fludrocortisone. Éviter l'étomidate, "
            "qui bloque la production de cortisol. Ne pas restreindre le sel ; éviter les "
            "diurétiques et les laxatifs."
        ),
        contraindicated_drugs="Pénicillines (allergie sévère).",
        anaesthesia=(
            "Prévenir l'anesthésiste : couverture par hydrocortisone injectable selon le "
            "protocole du centre de compétence. Anesthésie locale ou examen stressant sans "
            "jeûne : doubler la dose d'hydrocortisone le jour de l'examen."
        ),
        orientation="Service d'urgences le plus proche ; prévenir le centre de compétence.",
        vital_treatment=(
            "Hydrocortisone 20 mg le matin, 10 mg à midi ; fludrocortisone 50 µg le matin"
        ),
        treating_physician="Dr Hélène Moreau, endocrinologue",
        treating_physician_phone="01 99 00 41 20",
        reference_centre=(
            "Endocrinologie, Hôpital de démonstration Pathway — 1 rue de l'Exemple, 49000 Angers"
        ),
        reference_centre_kind=CentreKind.COMPETENCE,
        reference_centre_phone="01 99 00 41 35",
        reference_centre_24h=True,
    )
    patient.emergency_contacts = [
        EmergencyContact(
            name="Julien Lefèvre", relationship_label="Conjoint", phone="06 98 76 54 32"
        ),
    ]
    patient.care_team = [
        CareTeamMember(
            role=CareRole.GP,
            name="Dr Paul Martin",
            organisation="Cabinet médical de Trélazé",
            phone="02 41 00 00 01",
            email="paul.martin@cabinet-trelaze.example",
            secure_email="paul.martin@medecin.mssante.fr",
        ),
        CareTeamMember(
            role=CareRole.PHARMACIST,
            name="Pharmacie du Centre",
            organisation="Trélazé",
            phone="02 41 00 00 02",
        ),
    ]
    enrollment = Enrollment(
        patient=patient,
        programme=programme,
        started_on=utcnow().date() - dt.timedelta(days=30),
        bep_synthesis=(
            "Mme Lefèvre, 38 ans, vit avec une insuffisance surrénalienne primaire "
            "diagnostiquée en 2021 après une hospitalisation pour décompensation. "
            "Elle connaît bien son traitement quotidien mais redoute les situations "
            "d'urgence et n'a jamais réalisé d'injection d'hydrocortisone. "
            "Elle souhaite pouvoir voyager avec sa famille et se sentir en sécurité "
            "à l'école où elle travaille."
        ),
        gp_topics="L'adaptation des doses lors des épisodes infectieux de l'hiver.",
    )
    enrollment.objectives = [
        Objective(
            text="Savoir adapter les doses d'hydrocortisone en cas de fièvre",
            is_treatment_related=True,
        ),
        Objective(
            text="Réaliser seule l'injection d'hydrocortisone d'urgence", is_treatment_related=True
        ),
        Objective(text="Préparer un voyage à l'étranger en toute sécurité"),
    ]
    enrollment.attendances = [
        WorkshopAttendance(
            workshop=workshops[0],
            status=AttendanceStatus.ATTENDED,
            scheduled_on=utcnow().date() - dt.timedelta(days=21),
        ),
        WorkshopAttendance(
            workshop=workshops[1],
            status=AttendanceStatus.ATTENDED,
            scheduled_on=utcnow().date() - dt.timedelta(days=7),
        ),
        WorkshopAttendance(
            workshop=workshops[2],
            status=AttendanceStatus.PLANNED,
            scheduled_on=utcnow().date() + dt.timedelta(days=7),
        ),
        WorkshopAttendance(
            workshop=workshops[3],
            status=AttendanceStatus.PLANNED,
            scheduled_on=utcnow().date() + dt.timedelta(days=21),
        ),
    ]
    enrollment.competencies = [
        Competency(text="Explique avec ses mots le rôle du cortisol et les signes d'alerte"),
        Competency(
            text=(
                "Distingue la fièvre (doubler ou tripler la dose) des vomissements ou de la "
                "diarrhée (injecter et appeler le 15)"
            ),
            status=CompetencyStatus.IN_PROGRESS,
        ),
        Competency(
            text="Réalise seule l'injection d'hydrocortisone du kit d'urgence",
            status=CompetencyStatus.NOT_ACQUIRED,
        ),
    ]
    session.add_all([educator, programme, user, patient, enrollment])
    session.flush()
    for section in Section:
        by_team = section in TEAM_SECTIONS
        session.add(
            SectionUpdate(
                patient_id=patient.id,
                section=section.value,
                updated_by=educator.display_name if by_team else "Camille Lefèvre",
                author_kind=SectionAuthor.TEAM if by_team else SectionAuthor.PATIENT,
            )
        )
    session.flush()
    _demo_emergency_card(patient, user)
    _demo_gp_share(patient, user)
    _demo_gp_reply(patient)
    _demo_consent_and_letter(patient)
    _demo_card_opened(patient)
    _demo_locked_and_expiring_links(patient, user)
    return DemoResult(created=True)


def _demo_emergency_card(patient: Patient, user: User) -> None:
    """The demo patient's emergency card (QR code, wallet card, lock-screen image), with her GP."""
    from pathway.cards.service import create_card
    from pathway.sharing.sections import EMERGENCY_SECTIONS, Section

    create_card(patient, (*EMERGENCY_SECTIONS, Section.CARE_TEAM), actor=user)


def _demo_gp_share(patient: Patient, user: User) -> None:
    """The demo patient's link for her GP: every section, 90 days, replies allowed (idempotent)."""
    from pathway.sharing.sections import PRESETS, Audience
    from pathway.sharing.shares import Expiry, active_gp_share, create_share

    if active_gp_share(patient) is None:
        create_share(
            patient,
            audience=Audience.GP,
            label="Dr Paul Martin, cabinet médical de Trélazé",
            sections=PRESETS[Audience.GP],
            expiry=Expiry.QUARTER,
            allow_replies=True,
            actor=user,
        )


def _demo_gp_reply(patient: Patient) -> None:
    """A reply from the GP through the demo link, waiting for the patient's decision (idempotent)."""
    from pathway.models import Contribution
    from pathway.sharing import replies as exchanges
    from pathway.sharing.shares import active_gp_share

    share = active_gp_share(patient)
    already = session.scalar(
        select(Contribution.id).where(Contribution.patient_id == patient.id).limit(1)
    )
    if share is None or not share.allow_replies or already is not None:
        return
    exchanges.submit_contribution(
        share,
        {
            "author_name": "Dr Paul Martin",
            "author_role": "Médecin traitant",
            "author_contact": "paul.martin@medecin.mssante.fr",
            "life_situation": "Mme Lefèvre s'occupe seule de ses deux enfants la semaine depuis la rentrée.",
            "recent_events": (
                "Gastro-entérite en octobre avec vomissements : injection d'hydrocortisone "
                "100 mg à domicile et appel du 15, surveillance de quelques heures aux urgences."
            ),
            "proposed_objective": "Savoir quand et comment me joindre en cas de fièvre persistante",
            "message": "Merci pour la synthèse. Je la reverrai en consultation en janvier.",
        },
    )


def _demo_consent_and_letter(patient: Patient) -> None:
    """Consent recorded orally and an issued start letter, so a newcomer sees one (idempotent)."""
    from pathway import letters
    from pathway.models import LetterKind
    from pathway.programme import consent

    if not patient.enrollments:
        return
    enrollment = patient.enrollments[0]
    educators = enrollment.programme.educators
    if not educators:
        return
    # Only the first run records consent: a withdrawal made in the demo is respected.
    if not enrollment.consents:
        consent.record_oral_consent(
            enrollment, educators[0], utcnow().date() - dt.timedelta(days=30)
        )
    if consent.has_active_consent(enrollment) and not enrollment.letters:
        letters.issue_letter(enrollment, LetterKind.START, educators[0])
        session.flush()


def _demo_card_opened(patient: Patient) -> None:
    """A crew scanned the card once and named itself, so the card's log, the patient's
    notice and her e-mail show what an opening looks like (idempotent)."""
    from pathway.cards.openings import declare_viewer, open_card, read_card
    from pathway.cards.service import current_card
    from pathway.models import AccessEvent
    from pathway.sharing.shares import share_token

    card_share = current_card(patient)
    if card_share is None or session.scalar(
        select(AccessEvent.id).where(AccessEvent.share_id == card_share.id).limit(1)
    ):
        return
    card, _page = read_card(share_token(card_share))
    event_id, notice_id = open_card(card, "Mozilla/5.0 (Linux; Android 14) Mobile Safari")
    event = session.get(AccessEvent, event_id)
    if event is not None:
        declare_viewer(card, event, notice_id, "SAMU 49, Angers")


def _demo_locked_and_expiring_links(patient: Patient, user: User) -> None:
    """Two more of the patient's links: one locked after wrong passcodes, one that expires
    in two days, reminded; with the others, the demo's outbox holds one e-mail of each
    kind (idempotent)."""
    from pathway import reminders
    from pathway.sharing.sections import PRESETS, Audience
    from pathway.sharing.shares import MAX_PASSCODE_ATTEMPTS, Expiry, check_passcode, create_share

    pharmacy = "Pharmacie du Centre, Angers"
    if any(share.label == pharmacy for share in patient.shares):
        return
    locked = create_share(
        patient,
        audience=Audience.PHARMACIST,
        label=pharmacy,
        sections=PRESETS[Audience.PHARMACIST],
        expiry=Expiry.MONTH,
        passcode="48213",
        actor=user,
    )
    for _attempt in range(MAX_PASSCODE_ATTEMPTS):
        check_passcode(locked, "00000")
    expiring = create_share(
        patient,
        audience=Audience.NURSE,
        label="Infirmière libérale, Mme Garnier",
        sections=PRESETS[Audience.NURSE],
        expiry=Expiry.WEEK,
        actor=user,
    )
    # Made a week ago, for a week: it expires in two days.
    expiring.created_at = utcnow() - dt.timedelta(days=5)
    expiring.expires_at = utcnow() + dt.timedelta(days=2)
    session.flush()
    reminders.send_reminders()
