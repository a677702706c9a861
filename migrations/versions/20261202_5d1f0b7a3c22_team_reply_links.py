"""The team's page of a reply passed on by a patient moved from /inbox/team/contributions/<id>
to /team/replies/<id>: notifications already stored point to the new address.

Revision ID: 5d1f0b7a3c22
Revises: 7c4e2a9d5b13
Create Date: 2026-12-02 19:15:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = '5d1f0b7a3c22'
down_revision: str | None = '7c4e2a9d5b13'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = '/inbox/team/contributions/'
NEW = '/team/replies/'


def upgrade() -> None:
    op.execute(
        f"UPDATE notifications SET link = '{NEW}' || substr(link, {len(OLD) + 1}) "
        f"WHERE link LIKE '{OLD}%'"
    )


def downgrade() -> None:
    op.execute(
        f"UPDATE notifications SET link = '{OLD}' || substr(link, {len(NEW) + 1}) "
        f"WHERE link LIKE '{NEW}%'"
    )
