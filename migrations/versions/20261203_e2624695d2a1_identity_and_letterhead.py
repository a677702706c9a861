"""Documents a French ETP team signs: the patient's identity as the identity rules print it
(patients: sex, birth name, birth first names, INS and its OID), the programme's letterhead
(programmes: FINESS, ARS reference, place of writing, sender mailbox, logo, the coordinator's
sex and profession), the signature of the educator who issues a letter (users: profession,
RPPS) and a workshop's duration (workshops.duration_minutes).

Existing rows get empty values (nothing is guessed): a letter asks for what it needs.

Revision ID: e2624695d2a1
Revises: 5119522fc8b4
Create Date: 2026-12-03 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e2624695d2a1'
down_revision: str | None = '5119522fc8b4'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEX = sa.Enum('F', 'M', name='sex', native_enum=False, length=40)


def upgrade() -> None:
    # Plain ADD COLUMNs: no table is rebuilt.
    op.add_column('patients', sa.Column('sex', SEX, nullable=True))
    op.add_column('patients', sa.Column('birth_name', sa.String(length=80), nullable=False, server_default=''))
    op.add_column('patients', sa.Column('birth_first_names', sa.String(length=200), nullable=False, server_default=''))
    op.add_column('patients', sa.Column('ins', sa.String(length=15), nullable=True))
    op.add_column('patients', sa.Column('ins_oid', sa.String(length=40), nullable=True))

    op.add_column('programmes', sa.Column('coordinator_sex', SEX, nullable=True))
    op.add_column('programmes', sa.Column('coordinator_profession', sa.String(length=120), nullable=False, server_default=''))
    op.add_column('programmes', sa.Column('finess', sa.String(length=9), nullable=False, server_default=''))
    op.add_column('programmes', sa.Column('ars_reference', sa.String(length=80), nullable=False, server_default=''))
    op.add_column('programmes', sa.Column('city', sa.String(length=80), nullable=False, server_default=''))
    op.add_column('programmes', sa.Column('sender_email', sa.String(length=254), nullable=False, server_default=''))
    op.add_column('programmes', sa.Column('logo', sa.LargeBinary(), nullable=True))
    op.add_column('programmes', sa.Column('logo_type', sa.String(length=20), nullable=True))

    op.add_column('users', sa.Column('profession', sa.String(length=120), nullable=False, server_default=''))
    op.add_column('users', sa.Column('rpps', sa.String(length=11), nullable=True))

    op.add_column('workshops', sa.Column('duration_minutes', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('workshops', schema=None) as batch_op:
        batch_op.drop_column('duration_minutes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('rpps')
        batch_op.drop_column('profession')
    with op.batch_alter_table('programmes', schema=None) as batch_op:
        batch_op.drop_column('logo_type')
        batch_op.drop_column('logo')
        batch_op.drop_column('sender_email')
        batch_op.drop_column('city')
        batch_op.drop_column('ars_reference')
        batch_op.drop_column('finess')
        batch_op.drop_column('coordinator_profession')
        batch_op.drop_column('coordinator_sex')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('ins_oid')
        batch_op.drop_column('ins')
        batch_op.drop_column('birth_first_names')
        batch_op.drop_column('birth_name')
        batch_op.drop_column('sex')
