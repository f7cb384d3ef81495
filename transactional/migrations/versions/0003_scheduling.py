"""Providers and scheduling: departments, locations, practitioners, working hours,
schedule exceptions and appointments, under row-level security.

Double booking is impossible at the database level: an exclusion constraint (btree_gist,
created in 0002) over the practitioner and the appointment's time range, for every
appointment that still holds its time.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from transactional.migrations.rls import tenant_table

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "departments",
    "locations",
    "practitioners",
    "appointments",
    "schedule_exceptions",
    "working_hours",
)


def upgrade() -> None:
    op.create_table(
        "departments",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_departments_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_departments")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_departments_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_departments_tenant_id_name")),
    )
    op.create_index(op.f("ix_departments_tenant_id"), "departments", ["tenant_id"], unique=False)
    op.create_table(
        "locations",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_locations_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locations")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_locations_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_locations_tenant_id_name")),
    )
    op.create_index(op.f("ix_locations_tenant_id"), "locations", ["tenant_id"], unique=False)
    op.create_table(
        "practitioners",
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("specialty_codes", postgresql.ARRAY(sa.String(length=10)), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("npi ~ '^[0-9]{10}$'", name=op.f("ck_practitioners_npi_format")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "department_id"],
            ["departments.tenant_id", "departments.id"],
            name=op.f("fk_practitioners_tenant_id_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_practitioners_tenant_id_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_practitioners_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practitioners")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_practitioners_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "npi", name=op.f("uq_practitioners_tenant_id_npi")),
        sa.UniqueConstraint(
            "tenant_id", "user_id", name=op.f("uq_practitioners_tenant_id_user_id")
        ),
    )
    op.create_index(
        op.f("ix_practitioners_tenant_id"), "practitioners", ["tenant_id"], unique=False
    )
    op.create_table(
        "appointments",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("appointment_type", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("no_show_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "appointment_type IN ('new_patient', 'follow_up', 'consultation', 'procedure', 'telehealth', 'other')",
            name=op.f("ck_appointments_type_known"),
        ),
        sa.CheckConstraint(
            "status <> 'cancelled' OR cancel_reason IS NOT NULL",
            name=op.f("ck_appointments_cancel_has_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress', 'completed', 'cancelled', 'no_show')",
            name=op.f("ck_appointments_status_known"),
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_appointments_ordered")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            name=op.f("fk_appointments_tenant_id_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "patient_id"],
            ["patients.tenant_id", "patients.id"],
            name="fk_appointments_patient",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"],
            ["practitioners.tenant_id", "practitioners.id"],
            name=op.f("fk_appointments_tenant_id_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_appointments_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    op.create_index(
        op.f("ix_appointments_patient_id"), "appointments", ["patient_id"], unique=False
    )
    op.create_index(op.f("ix_appointments_tenant_id"), "appointments", ["tenant_id"], unique=False)
    op.create_index(
        "ix_appointments_tenant_id_location_id_starts_at",
        "appointments",
        ["tenant_id", "location_id", "starts_at"],
        unique=False,
    )
    op.create_index(
        "ix_appointments_tenant_id_starts_at",
        "appointments",
        ["tenant_id", "starts_at"],
        unique=False,
    )
    op.create_table(
        "schedule_exceptions",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("slot_minutes", sa.SmallInteger(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "kind <> 'extra_hours' OR (location_id IS NOT NULL AND starts_at IS NOT NULL AND slot_minutes IS NOT NULL)",
            name=op.f("ck_schedule_exceptions_extra_hours_complete"),
        ),
        sa.CheckConstraint(
            "kind IN ('unavailable', 'extra_hours')", name=op.f("ck_schedule_exceptions_kind_known")
        ),
        sa.CheckConstraint(
            "(starts_at IS NOT NULL AND ends_at IS NOT NULL AND ends_at > starts_at AND first_day IS NULL AND last_day IS NULL) OR (starts_at IS NULL AND ends_at IS NULL AND first_day IS NOT NULL AND last_day IS NOT NULL AND last_day >= first_day)",
            name=op.f("ck_schedule_exceptions_one_range"),
        ),
        sa.CheckConstraint(
            "slot_minutes BETWEEN 5 AND 480", name=op.f("ck_schedule_exceptions_slot_minutes_range")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            name=op.f("fk_schedule_exceptions_tenant_id_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"],
            ["practitioners.tenant_id", "practitioners.id"],
            name=op.f("fk_schedule_exceptions_tenant_id_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_schedule_exceptions_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_exceptions")),
    )
    op.create_index(
        op.f("ix_schedule_exceptions_tenant_id"), "schedule_exceptions", ["tenant_id"], unique=False
    )
    op.create_index(
        "ix_schedule_exceptions_tenant_id_practitioner_id",
        "schedule_exceptions",
        ["tenant_id", "practitioner_id"],
        unique=False,
    )
    op.create_table(
        "working_hours",
        sa.Column("practitioner_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("slot_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.CheckConstraint(
            "effective_to IS NULL OR effective_to >= effective_from",
            name=op.f("ck_working_hours_effective_ordered"),
        ),
        sa.CheckConstraint("end_time > start_time", name=op.f("ck_working_hours_window_ordered")),
        sa.CheckConstraint(
            "slot_minutes BETWEEN 5 AND 480", name=op.f("ck_working_hours_slot_minutes_range")
        ),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7", name=op.f("ck_working_hours_weekday_iso")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "location_id"],
            ["locations.tenant_id", "locations.id"],
            name=op.f("fk_working_hours_tenant_id_location_id_locations"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "practitioner_id"],
            ["practitioners.tenant_id", "practitioners.id"],
            name=op.f("fk_working_hours_tenant_id_practitioner_id_practitioners"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_working_hours_tenant_id_tenants"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_working_hours")),
    )
    op.create_index(
        op.f("ix_working_hours_tenant_id"), "working_hours", ["tenant_id"], unique=False
    )
    op.create_index(
        "ix_working_hours_tenant_id_practitioner_id",
        "working_hours",
        ["tenant_id", "practitioner_id"],
        unique=False,
    )
    op.execute(
        "ALTER TABLE appointments ADD CONSTRAINT ex_appointments_no_double_booking "
        "EXCLUDE USING gist (tenant_id WITH =, practitioner_id WITH =, "
        "tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE (status NOT IN ('cancelled', 'no_show'))"
    )
    for table in TENANT_TABLES:
        tenant_table(table)


def downgrade() -> None:
    op.drop_index("ix_working_hours_tenant_id_practitioner_id", table_name="working_hours")
    op.drop_index(op.f("ix_working_hours_tenant_id"), table_name="working_hours")
    op.drop_table("working_hours")
    op.drop_index(
        "ix_schedule_exceptions_tenant_id_practitioner_id", table_name="schedule_exceptions"
    )
    op.drop_index(op.f("ix_schedule_exceptions_tenant_id"), table_name="schedule_exceptions")
    op.drop_table("schedule_exceptions")
    op.drop_index("ix_appointments_tenant_id_starts_at", table_name="appointments")
    op.drop_index("ix_appointments_tenant_id_location_id_starts_at", table_name="appointments")
    op.drop_index(op.f("ix_appointments_tenant_id"), table_name="appointments")
    op.drop_index(op.f("ix_appointments_patient_id"), table_name="appointments")
    op.drop_table("appointments")
    op.drop_index(op.f("ix_practitioners_tenant_id"), table_name="practitioners")
    op.drop_table("practitioners")
    op.drop_index(op.f("ix_locations_tenant_id"), table_name="locations")
    op.drop_table("locations")
    op.drop_index(op.f("ix_departments_tenant_id"), table_name="departments")
    op.drop_table("departments")
