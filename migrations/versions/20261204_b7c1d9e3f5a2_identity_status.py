"""The status of a patient's identity as the French identity rules (RNIV) grade it
(patients.identity_status): provisional, retrieved (INS from the INSi teleservice),
validated (checked on an identity document) or qualified (both); letters print the INS
only for a qualified identity.

Existing rows become provisional (nothing is guessed): an INS already entered is printed
again once the team records that the identity is qualified.

Revision ID: b7c1d9e3f5a2
Revises: e2624695d2a1
Create Date: 2026-12-04 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'b7c1d9e3f5a2'
down_revision: str | None = 'e2624695d2a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTITY_STATUS = sa.Enum(
    'provisional',
    'retrieved',
    'validated',
    'qualified',
    name='identitystatus',
    native_enum=False,
    length=40,
)


def upgrade() -> None:
    # A plain ADD COLUMN (patients is not rebuilt), filled by a server default that is
    # dropped afterwards where the database can (SQLite keeps it, unread).
    op.add_column(
        'patients',
        sa.Column('identity_status', IDENTITY_STATUS, nullable=False, server_default='provisional'),
    )
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('patients', 'identity_status', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('identity_status')
