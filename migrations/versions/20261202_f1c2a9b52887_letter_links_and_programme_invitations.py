"""Letters carry a link made for their addressee alone (letter_links) and keep a second
rendering with no link for every other reader (letters.reader_pdf); a team invites a
patient who already has an account, who accepts or declines (programme_invitations).

Letters issued before this printed the patient's own GP link: those with no link at all
become their own reader copy; the others get none and are shown to nobody but the patient
and the GP (issuing them again makes both copies).

Columns of `letters` are added and dropped with ALTER TABLE, never by rebuilding the table
(SQLite's batch mode): with foreign keys enforced, dropping the old table would delete
every dispatch that cascades from it.

Revision ID: f1c2a9b52887
Revises: 5d1f0b7a3c22
Create Date: 2026-12-02 20:21:13.177581
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pathway.db

revision: str = 'f1c2a9b52887'
down_revision: str | None = '5d1f0b7a3c22'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('programme_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('invited_by_name', sa.String(length=120), nullable=False),
    sa.Column('created_at', pathway.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answer', sa.Enum('accepted', 'declined', name='invitationanswer', native_enum=False, length=40), nullable=True),
    sa.Column('answered_at', pathway.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_programme_invitations_invited_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_programme_invitations_patient_id_patients'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_programme_invitations_programme_id_programmes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_invitations'))
    )
    with op.batch_alter_table('programme_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_programme_invitations_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_programme_invitations_programme_id'), ['programme_id'], unique=False)

    op.create_table('letter_links',
    sa.Column('share_id', sa.Integer(), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=True),
    sa.Column('derived_from_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['derived_from_id'], ['shares.id'], name=op.f('fk_letter_links_derived_from_id_shares'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], name=op.f('fk_letter_links_letter_id_letters'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['share_id'], ['shares.id'], name=op.f('fk_letter_links_share_id_shares'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('share_id', name=op.f('pk_letter_links')),
    sa.UniqueConstraint('letter_id', name=op.f('uq_letter_links_letter_id'))
    )
    with op.batch_alter_table('letter_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letter_links_derived_from_id'), ['derived_from_id'], unique=False)

    op.add_column('letters', sa.Column('reader_pdf', sa.LargeBinary(), nullable=True))
    op.add_column('letters', sa.Column('reader_sha256', sa.String(length=64), nullable=True))
    letters = sa.table(
        'letters',
        sa.column('id', sa.Integer()),
        sa.column('snapshot', sa.JSON()),
        sa.column('pdf', sa.LargeBinary()),
        sa.column('sha256', sa.String()),
        sa.column('reader_pdf', sa.LargeBinary()),
        sa.column('reader_sha256', sa.String()),
    )
    bind = op.get_bind()
    without_link = [
        row.id
        for row in bind.execute(sa.select(letters.c.id, letters.c.snapshot))
        if not (row.snapshot or {}).get('share_url')
    ]
    if without_link:
        bind.execute(
            letters.update()
            .where(letters.c.id.in_(without_link))
            .values(reader_pdf=letters.c.pdf, reader_sha256=letters.c.sha256)
        )



def downgrade() -> None:
    for column in ('reader_sha256', 'reader_pdf'):
        if op.get_bind().dialect.name == 'sqlite':
            op.execute(f'ALTER TABLE letters DROP COLUMN {column}')
        else:
            op.drop_column('letters', column)

    with op.batch_alter_table('letter_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_links_derived_from_id'))

    op.drop_table('letter_links')
    with op.batch_alter_table('programme_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_programme_invitations_programme_id'))
        batch_op.drop_index(batch_op.f('ix_programme_invitations_patient_id'))

    op.drop_table('programme_invitations')
