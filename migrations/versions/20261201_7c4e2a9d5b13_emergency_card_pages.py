"""The emergency view's page stored per state of a card (card_pages): the view reads it
with the card's link instead of reading every section and rendering the page again.

Revision ID: 7c4e2a9d5b13
Revises: 1e27cf10afe6
Create Date: 2026-12-01 20:26:20.842622
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import pathway.db

revision: str = '7c4e2a9d5b13'
down_revision: str | None = '1e27cf10afe6'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('card_pages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('share_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('summary_version', sa.Integer(), nullable=False),
    sa.Column('sections', sa.JSON(), nullable=False),
    sa.Column('html', sa.Text(), nullable=False),
    sa.Column('created_at', pathway.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['share_id'], ['shares.id'], name=op.f('fk_card_pages_share_id_shares'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_card_pages')),
    sa.UniqueConstraint('share_id', 'key', name=op.f('uq_card_pages_share_id'))
    )


def downgrade() -> None:
    op.drop_table('card_pages')
