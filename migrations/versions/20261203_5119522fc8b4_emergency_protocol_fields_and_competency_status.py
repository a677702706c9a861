"""The emergency protocol in the fields a SAMU crew reads (immediate drug, dose and routes,
what follows, what to avoid, anaesthesia, orientation, the daily treatment never to stop, the
treating physician, the centre's kind and whether its number answers 24 h/24); emergency
treatments (the injectable kit) told apart from daily vital ones; a competency's status
(acquired, in progress, not acquired) in place of acquired yes/no; who wrote a section (the
patient or the ETP team).

Existing rows: the one-line critical action becomes the immediate drug line as it was typed
(printed the same); a reference centre number typed in the field labelled "24/7" keeps that
claim; competencies not acquired become "in progress" (the team's "being developed"); the
stamps of the sections only the team writes (ETP, treatment objectives, letters) become the
team's, without a name, since they were never the patient's.

Revision ID: 5119522fc8b4
Revises: a2c2edebe1b3
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '5119522fc8b4'
down_revision: str | None = 'a2c2edebe1b3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEAM_SECTIONS = ('etp_progress', 'treatment_objectives', 'letters')

section_author = sa.Enum('patient', 'team', name='sectionauthor', native_enum=False, length=40)
competency_status = sa.Enum(
    'acquired', 'in_progress', 'not_acquired', name='competencystatus', native_enum=False, length=40
)
centre_kind = sa.Enum('reference', 'competence', name='centrekind', native_enum=False, length=40)

# New columns of emergency_protocols that hold text: NOT NULL, empty when not entered.
PROTOCOL_TEXTS = (
    ('immediate_drug', sa.String(length=200)),
    ('immediate_dose', sa.String(length=80)),
    ('immediate_routes', sa.String(length=200)),
    ('then_treatment', sa.String(length=300)),
    ('fluids', sa.String(length=300)),
    ('checks', sa.String(length=300)),
    ('contraindicated_drugs', sa.Text()),
    ('anaesthesia', sa.Text()),
    ('orientation', sa.String(length=300)),
    ('vital_treatment', sa.String(length=200)),
    ('treating_physician', sa.String(length=200)),
    ('treating_physician_phone', sa.String(length=40)),
)


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _add(table: str, column: sa.Column, default: sa.sql.ClauseElement | str | None) -> None:
    """A plain ADD COLUMN (no table rebuild); a NOT NULL column is filled by a server default
    that is dropped afterwards where the database can (SQLite keeps it, unread)."""
    if default is not None:
        column.server_default = sa.DefaultClause(default)
    op.add_column(table, column)


def _drop_defaults(table: str, columns: Sequence[str]) -> None:
    if _sqlite():
        return
    for name in columns:
        op.alter_column(table, name, server_default=None)


def _drop(table: str, column: str) -> None:
    if _sqlite():
        op.execute(f'ALTER TABLE {table} DROP COLUMN {column}')
    else:
        op.drop_column(table, column)


def upgrade() -> None:
    bind = op.get_bind()

    _add('section_updates', sa.Column('author_kind', section_author, nullable=False), 'patient')
    _drop_defaults('section_updates', ['author_kind'])
    stamps = sa.table(
        'section_updates',
        sa.column('section', sa.String()),
        sa.column('author_kind', sa.String()),
        sa.column('updated_by', sa.String()),
    )
    bind.execute(
        stamps.update()
        .where(stamps.c.section.in_(TEAM_SECTIONS))
        .values(author_kind='team', updated_by='')
    )

    _add('medications', sa.Column('is_emergency', sa.Boolean(), nullable=False), sa.false())
    _drop_defaults('medications', ['is_emergency'])

    for name, type_ in PROTOCOL_TEXTS:
        _add('emergency_protocols', sa.Column(name, type_, nullable=False), '')
    _add('emergency_protocols', sa.Column('reference_centre_kind', centre_kind, nullable=True), None)
    _add(
        'emergency_protocols',
        sa.Column('reference_centre_24h', sa.Boolean(), nullable=False),
        sa.false(),
    )
    _drop_defaults(
        'emergency_protocols', [name for name, _type in PROTOCOL_TEXTS] + ['reference_centre_24h']
    )
    protocols = sa.table(
        'emergency_protocols',
        sa.column('critical_action', sa.String()),
        sa.column('immediate_drug', sa.String()),
        sa.column('reference_centre_phone', sa.String()),
        sa.column('reference_centre_24h', sa.Boolean()),
    )
    bind.execute(protocols.update().values(immediate_drug=protocols.c.critical_action))
    # The old form asked for the centre's "24/7 number": what was typed there keeps that claim.
    bind.execute(
        protocols.update()
        .where(protocols.c.reference_centre_phone != '')
        .values(reference_centre_24h=True)
    )
    _drop('emergency_protocols', 'critical_action')

    _add('competencies', sa.Column('status', competency_status, nullable=False), 'acquired')
    _drop_defaults('competencies', ['status'])
    competencies = sa.table(
        'competencies',
        sa.column('status', sa.String()),
        sa.column('is_acquired', sa.Boolean()),
    )
    bind.execute(
        competencies.update()
        .where(competencies.c.is_acquired == sa.false())
        .values(status='in_progress')
    )
    _drop('competencies', 'is_acquired')


def downgrade() -> None:
    bind = op.get_bind()

    _add('competencies', sa.Column('is_acquired', sa.Boolean(), nullable=False), sa.true())
    _drop_defaults('competencies', ['is_acquired'])
    competencies = sa.table(
        'competencies',
        sa.column('status', sa.String()),
        sa.column('is_acquired', sa.Boolean()),
    )
    bind.execute(
        competencies.update()
        .where(competencies.c.status != 'acquired')
        .values(is_acquired=False)
    )
    _drop('competencies', 'status')

    _add(
        'emergency_protocols',
        sa.Column('critical_action', sa.String(length=200), nullable=False),
        '',
    )
    _drop_defaults('emergency_protocols', ['critical_action'])
    protocols = sa.table(
        'emergency_protocols',
        sa.column('id', sa.Integer()),
        sa.column('critical_action', sa.String()),
        sa.column('immediate_drug', sa.String()),
        sa.column('immediate_dose', sa.String()),
        sa.column('immediate_routes', sa.String()),
    )
    rows = bind.execute(
        sa.select(
            protocols.c.id,
            protocols.c.immediate_drug,
            protocols.c.immediate_dose,
            protocols.c.immediate_routes,
        )
    ).all()
    for row in rows:
        line = ' '.join(
            part.strip()
            for part in (row.immediate_drug, row.immediate_dose, row.immediate_routes)
            if part and part.strip()
        )
        bind.execute(
            protocols.update().where(protocols.c.id == row.id).values(critical_action=line[:200])
        )
    for name in ['reference_centre_24h', 'reference_centre_kind'] + [
        name for name, _type in reversed(PROTOCOL_TEXTS)
    ]:
        _drop('emergency_protocols', name)

    _drop('medications', 'is_emergency')
    _drop('section_updates', 'author_kind')
