"""four-eyes approval of exports and hold releases

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("decided_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("decided_us", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("evidence_holds", schema=None) as batch_op:
        batch_op.add_column(sa.Column("release_requested_by", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("release_requested_us", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("release_request_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("evidence_holds", schema=None) as batch_op:
        batch_op.drop_column("release_request_reason")
        batch_op.drop_column("release_requested_us")
        batch_op.drop_column("release_requested_by")
    with op.batch_alter_table("exports", schema=None) as batch_op:
        batch_op.drop_column("decided_us")
        batch_op.drop_column("decided_by")
