"""Clinical alerts: one table and one inbox for every source of decision support.

Critical lab results raise them now; vital-sign rules, interactions, pharmacogenomics and
care gaps add kinds later, so a row says which rule (and rule version) fired, on what data,
and what it suggests, instead of having a column per kind. An open alert is closed once, by
acknowledgement, override (with a reason) or resolution; a trigger keeps a closed alert
from changing again.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, ForeignKeyConstraint, Index, String, Text
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base
from transactional.patients.models import PatientOwned

SEVERITIES = ("info", "warning", "critical")
ALERT_STATUSES = ("open", "acknowledged", "overridden", "resolved")
_IDENTIFIER = "'^[a-z][a-z0-9_]*$'"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


class ClinicalAlert(PatientOwned, Base):
    __tablename__ = "clinical_alerts"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "patient_id"], ["patients.tenant_id", "patients.id"]),
        ForeignKeyConstraint(
            ["tenant_id", "recipient_practitioner_id"],
            ["practitioners.tenant_id", "practitioners.id"],
        ),
        CheckConstraint(_in("severity", SEVERITIES), name="severity_known"),
        CheckConstraint(_in("status", ALERT_STATUSES), name="status_known"),
        CheckConstraint(f"source ~ {_IDENTIFIER}", name="source_format"),
        CheckConstraint(f"kind ~ {_IDENTIFIER}", name="kind_format"),
        CheckConstraint(f"subject_type ~ {_IDENTIFIER}", name="subject_type_format"),
        CheckConstraint("rule_version IS NULL OR rule_id IS NOT NULL", name="version_needs_rule"),
        CheckConstraint("jsonb_typeof(data) = 'object'", name="data_is_object"),
        CheckConstraint(
            "jsonb_typeof(suggested_actions) = 'array'", name="suggested_actions_is_array"
        ),
        CheckConstraint("(status = 'open') = (acted_at IS NULL)", name="closed_has_time"),
        CheckConstraint(
            "status NOT IN ('acknowledged', 'overridden') OR acted_by IS NOT NULL",
            name="user_action_has_user",
        ),
        CheckConstraint(
            "status <> 'overridden' OR length(btrim(coalesce(reason, ''))) > 0",
            name="override_has_reason",
        ),
        Index(
            "uq_clinical_alerts_one_open_per_subject",
            "tenant_id",
            "kind",
            "subject_type",
            "subject_id",
            unique=True,
            postgresql_where=sql("status = 'open'"),
        ),
        Index(
            "ix_clinical_alerts_inbox",
            "tenant_id",
            "recipient_practitioner_id",
            "status",
            "created_at",
        ),
        Index(
            "ix_clinical_alerts_tenant_id_patient_id_created_at",
            "tenant_id",
            "patient_id",
            "created_at",
        ),
    )

    source: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(60))
    rule_id: Mapped[str | None] = mapped_column(String(100))
    rule_version: Mapped[str | None] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    rationale: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    suggested_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    recipient_practitioner_id: Mapped[uuid.UUID | None]
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(12))
    acted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acted_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))
