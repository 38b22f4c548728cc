"""Sign-in sessions of the pages (a cookie of their own, not the API token), and screenings
owned by the service process that runs them (its heartbeat), so that several processes can
share one register.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("token_sha256", sa.String(64), primary_key=True),
        sa.Column("user_name", sa.String(200), sa.ForeignKey("users.name"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_sessions_user_name", "sessions", ["user_name"])
    with op.batch_alter_table("screenings") as table:
        table.add_column(sa.Column("owner", sa.String(200), nullable=False, server_default=""))
        table.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("screenings") as table:
        table.drop_column("heartbeat_at")
        table.drop_column("owner")
    op.drop_index("ix_sessions_user_name", "sessions")
    op.drop_table("sessions")
