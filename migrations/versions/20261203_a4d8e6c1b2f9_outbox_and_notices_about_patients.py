"""Mail is written to an outbox in the transaction of its event and sent after the response
(outbox_messages); a notice to a team member names the patient it is about
(notifications.patient_id), so that deleting the account erases the patient's name from it.

Notices written before this name no patient: they keep their text.

Revision ID: a4d8e6c1b2f9
Revises: f1c2a9b52887
Create Date: 2026-12-03 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pathway.db

revision: str = 'a4d8e6c1b2f9'
down_revision: str | None = 'f1c2a9b52887'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', pathway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('next_attempt_at', pathway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', pathway.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', pathway.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_messages_pending', ['sent_at', 'next_attempt_at'], unique=False)

    # A plain ADD COLUMN: notifications is never rebuilt.
    op.add_column('notifications', sa.Column('patient_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_notifications_patient_id'), 'notifications', ['patient_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_notifications_patient_id'), table_name='notifications')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('patient_id')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_messages_pending')
    op.drop_table('outbox_messages')
