"""Typed SQLAlchemy models, one module per domain area.

Importing this package registers every table on Base.metadata (Alembic needs that).
"""

from pathway.models.accounts import Invitation, RecoveryCode, Role, SignInSession, User
from pathway.models.audit import AuditEvent
from pathway.models.exchanges import Contribution, ContributionStatus, Message, Notification
from pathway.models.letters import Letter, LetterDispatch, LetterKind, LetterLink
from pathway.models.outbox import OutboxMessage
from pathway.models.patients import (
    Allergy,
    CareRole,
    CareTeamMember,
    CentreKind,
    Condition,
    EmergencyContact,
    EmergencyProtocol,
    Medication,
    Patient,
    SectionAuthor,
    SectionUpdate,
    Sex,
)
from pathway.models.programmes import (
    AttendanceStatus,
    Competency,
    CompetencyStatus,
    Consent,
    Enrollment,
    InvitationAnswer,
    Objective,
    ObjectiveStatus,
    Programme,
    ProgrammeInvitation,
    Workshop,
    WorkshopAttendance,
)
from pathway.models.shares import AccessEvent, CardPage, Share, ShareArtifact, ShareKind

__all__ = [
    "AccessEvent",
    "Allergy",
    "AttendanceStatus",
    "AuditEvent",
    "CardPage",
    "CareRole",
    "CareTeamMember",
    "CentreKind",
    "Competency",
    "CompetencyStatus",
    "Condition",
    "Consent",
    "Contribution",
    "ContributionStatus",
    "EmergencyContact",
    "EmergencyProtocol",
    "Enrollment",
    "Invitation",
    "InvitationAnswer",
    "Letter",
    "LetterDispatch",
    "LetterKind",
    "LetterLink",
    "Medication",
    "Message",
    "Notification",
    "Objective",
    "ObjectiveStatus",
    "OutboxMessage",
    "Patient",
    "Programme",
    "ProgrammeInvitation",
    "RecoveryCode",
    "Role",
    "SectionAuthor",
    "SectionUpdate",
    "Sex",
    "Share",
    "ShareArtifact",
    "ShareKind",
    "SignInSession",
    "User",
    "Workshop",
    "WorkshopAttendance",
]
