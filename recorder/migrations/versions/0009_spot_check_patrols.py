"""spot-check patrols

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "patrol_plans",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=True),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("sampling", sa.Text(), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("conduct_items", sa.Text(), nullable=False),
        sa.Column("due_hours", sa.Float(), nullable=False),
        sa.Column("thresholds", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.Column("last_fire_us", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "patrol_runs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("plan_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("scheduled_us", sa.BigInteger(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_us", sa.BigInteger(), nullable=False),
        sa.Column("checked_us", sa.BigInteger(), nullable=True),
        sa.Column("finished_us", sa.BigInteger(), nullable=True),
        sa.Column("started_by", sa.String(length=100), nullable=True),
        sa.Column("finished_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["patrol_plans.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patrol_runs", schema=None) as batch_op:
        batch_op.create_index("ix_patrol_runs_started", ["started_us"], unique=False)

    op.create_table(
        "patrol_items",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=63), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("snapshot", sa.String(length=200), nullable=True),
        sa.Column("conduct", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("visited_by", sa.String(length=100), nullable=True),
        sa.Column("visited_us", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["patrol_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patrol_items", schema=None) as batch_op:
        batch_op.create_index("ix_patrol_items_camera", ["camera_id"], unique=False)
        batch_op.create_index("ix_patrol_items_run", ["run_id", "position"], unique=False)

    op.create_table(
        "patrol_findings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("camera_id", sa.String(length=63), nullable=False),
        sa.Column("site_id", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=100), nullable=True),
        sa.Column("due_us", sa.BigInteger(), nullable=False),
        sa.Column("created_us", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=True),
        sa.Column("updated_us", sa.BigInteger(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("rectification", sa.Text(), nullable=True),
        sa.Column("rectified_us", sa.BigInteger(), nullable=True),
        sa.Column("rectified_by", sa.String(length=100), nullable=True),
        sa.Column("verified_us", sa.BigInteger(), nullable=True),
        sa.Column("verified_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["patrol_items.id"],
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["patrol_runs.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patrol_findings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_findings_camera_item", ["camera_id", "item", "state"], unique=False
        )
        batch_op.create_index("ix_findings_site", ["site_id", "created_us"], unique=False)
        batch_op.create_index("ix_findings_state", ["state", "due_us"], unique=False)

    op.create_table(
        "patrol_finding_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "finding_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("at_us", sa.BigInteger(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=True),
        sa.Column("from_state", sa.String(length=16), nullable=True),
        sa.Column("to_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["patrol_findings.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("patrol_finding_events", schema=None) as batch_op:
        batch_op.create_index("ix_finding_events_finding", ["finding_id", "at_us"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("patrol_finding_events", schema=None) as batch_op:
        batch_op.drop_index("ix_finding_events_finding")

    op.drop_table("patrol_finding_events")
    with op.batch_alter_table("patrol_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_findings_state")
        batch_op.drop_index("ix_findings_site")
        batch_op.drop_index("ix_findings_camera_item")

    op.drop_table("patrol_findings")
    with op.batch_alter_table("patrol_items", schema=None) as batch_op:
        batch_op.drop_index("ix_patrol_items_run")
        batch_op.drop_index("ix_patrol_items_camera")

    op.drop_table("patrol_items")
    with op.batch_alter_table("patrol_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_patrol_runs_started")

    op.drop_table("patrol_runs")
    op.drop_table("patrol_plans")
