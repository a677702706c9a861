"""E-mail notices: the e-mails a person chose (users.mail_choices: kind → on/off, defaults
in the code), a patient's choice that their GP is told of emergency card openings
(patients.tell_gp_of_card_openings, off), a professional's agreement to be told of answers
(contributions.author_wants_mail, off), and when a share's expiry reminders were sent
(shares.expiry_reminded_at, shares.expired_reminded_at: the reminders' claim).

Revision ID: c3e5a7b9d1f3
Revises: b7c1d9e3f5a2
Create Date: 2026-12-04 19:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pathway.db

revision: str = 'c3e5a7b9d1f3'
down_revision: str | None = 'b7c1d9e3f5a2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMNs filled by server defaults, dropped afterwards where the database can.
    op.add_column(
        'users', sa.Column('mail_choices', sa.JSON(), nullable=False, server_default='{}')
    )
    op.add_column(
        'patients',
        sa.Column(
            'tell_gp_of_card_openings', sa.Boolean(), nullable=False, server_default=sa.false()
        ),
    )
    op.add_column(
        'contributions',
        sa.Column('author_wants_mail', sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        'shares', sa.Column('expiry_reminded_at', pathway.db.UTCDateTime(timezone=True), nullable=True)
    )
    op.add_column(
        'shares', sa.Column('expired_reminded_at', pathway.db.UTCDateTime(timezone=True), nullable=True)
    )
    if op.get_bind().dialect.name != 'sqlite':
        op.alter_column('users', 'mail_choices', server_default=None)
        op.alter_column('patients', 'tell_gp_of_card_openings', server_default=None)
        op.alter_column('contributions', 'author_wants_mail', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('shares', schema=None) as batch_op:
        batch_op.drop_column('expired_reminded_at')
        batch_op.drop_column('expiry_reminded_at')
    with op.batch_alter_table('contributions', schema=None) as batch_op:
        batch_op.drop_column('author_wants_mail')
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_column('tell_gp_of_card_openings')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('mail_choices')
