"""Encounters and what is charted in them. Codes always carry their system."""

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from transactional.base import Base
from transactional.patients.models import PatientOwned

ENCOUNTER_CLASSES = ("ambulatory", "emergency", "inpatient")
ENCOUNTER_STATUSES = ("planned", "in_progress", "finished", "cancelled", "entered_in_error")
NOTE_STATUSES = ("draft", "signed")
OBSERVATION_STATUSES = ("final", "entered_in_error")
CONDITION_CATEGORIES = ("encounter_diagnosis", "problem_list_item")
CLINICAL_STATUSES = ("active", "recurrence", "relapse", "inactive", "remission", "resolved")
VERIFICATION_STATUSES = ("provisional", "differential", "confirmed", "refuted", "entered_in_error")
PROCEDURE_STATUSES = ("completed", "not_done", "entered_in_error")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _fk(columns: list[str], table: str) -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id", *columns], [f"{table}.tenant_id", f"{table}.id"])


def _patient_fk() -> ForeignKeyConstraint:
    return _fk(["patient_id"], "patients")


class Encounter(PatientOwned, Base):
    __tablename__ = "encounters"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        _patient_fk(),
        _fk(["practitioner_id"], "practitioners"),
        _fk(["location_id"], "locations"),
        CheckConstraint(_in("encounter_class", ENCOUNTER_CLASSES), name="class_known"),
        CheckConstraint(_in("status", ENCOUNTER_STATUSES), name="status_known"),
        CheckConstraint("end_at IS NULL OR end_at >= start_at", name="period_ordered"),
        CheckConstraint(
            "encounter_class = 'inpatient' OR (admitted_at IS NULL AND discharged_at IS NULL)",
            name="admission_only_inpatient",
        ),
        CheckConstraint(
            "discharged_at IS NULL OR (admitted_at IS NOT NULL AND discharged_at >= admitted_at)",
            name="discharge_after_admission",
        ),
        Index("ix_encounters_tenant_id_patient_id_start_at", "tenant_id", "patient_id", "start_at"),
    )

    encounter_class: Mapped[str] = mapped_column(String(16))
    type_system: Mapped[str | None] = mapped_column(String(200))
    type_code: Mapped[str | None] = mapped_column(String(32))
    type_display: Mapped[str | None] = mapped_column(String(300))
    reason: Mapped[str | None] = mapped_column(String(500))
    practitioner_id: Mapped[uuid.UUID]
    location_id: Mapped[uuid.UUID | None]
    appointment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("appointments.id"), unique=True
    )
    status: Mapped[str] = mapped_column(String(20))
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None]
    admitted_at: Mapped[datetime | None]
    admit_source: Mapped[str | None] = mapped_column(String(40))
    discharged_at: Mapped[datetime | None]
    discharge_disposition: Mapped[str | None] = mapped_column(String(40))


class ClinicalNote(PatientOwned, Base):
    """One version of a SOAP note. Signed versions never change (a trigger enforces it);
    an amendment is a new version of the same `note_id` with a reason."""

    __tablename__ = "clinical_notes"
    __table_args__ = (
        _patient_fk(),
        _fk(["encounter_id"], "encounters"),
        UniqueConstraint("tenant_id", "note_id", "version"),
        CheckConstraint(_in("status", NOTE_STATUSES), name="status_known"),
        CheckConstraint(
            "(status = 'signed') = (signed_at IS NOT NULL AND signed_by IS NOT NULL)",
            name="signed_has_signer",
        ),
        CheckConstraint("version = 1 OR amendment_reason IS NOT NULL", name="amendment_has_reason"),
    )

    note_id: Mapped[uuid.UUID] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(SmallInteger)
    encounter_id: Mapped[uuid.UUID]
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    subjective: Mapped[str] = mapped_column(Text, default="")
    objective: Mapped[str] = mapped_column(Text, default="")
    assessment: Mapped[str] = mapped_column(Text, default="")
    plan: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    signed_at: Mapped[datetime | None]
    signed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    amendment_reason: Mapped[str | None] = mapped_column(String(500))


class Observation(PatientOwned, Base):
    """A measured value (vital sign now, lab results later), coded in LOINC with a UCUM unit."""

    __tablename__ = "observations"
    __table_args__ = (
        _patient_fk(),
        _fk(["encounter_id"], "encounters"),
        CheckConstraint(_in("status", OBSERVATION_STATUSES), name="status_known"),
        Index("ix_observations_tenant_id_patient_id_code", "tenant_id", "patient_id", "code"),
    )

    encounter_id: Mapped[uuid.UUID | None]
    category: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    display: Mapped[str | None] = mapped_column(String(300))
    value: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    unit: Mapped[str] = mapped_column(String(40))
    effective_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="final")
    is_derived: Mapped[bool] = mapped_column(default=False)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Condition(PatientOwned, Base):
    """A diagnosis of an encounter or an entry of the problem list (FHIR Condition)."""

    __tablename__ = "conditions"
    __table_args__ = (
        _patient_fk(),
        _fk(["encounter_id"], "encounters"),
        CheckConstraint(_in("category", CONDITION_CATEGORIES), name="category_known"),
        CheckConstraint(_in("clinical_status", CLINICAL_STATUSES), name="clinical_status_known"),
        CheckConstraint(
            _in("verification_status", VERIFICATION_STATUSES), name="verification_status_known"
        ),
        CheckConstraint(
            "category <> 'encounter_diagnosis' OR encounter_id IS NOT NULL",
            name="diagnosis_has_encounter",
        ),
        CheckConstraint(
            "abatement_date IS NULL OR abatement_date >= onset_date", name="abates_after_onset"
        ),
        Index("ix_conditions_tenant_id_patient_id_code", "tenant_id", "patient_id", "code"),
    )

    encounter_id: Mapped[uuid.UUID | None]
    category: Mapped[str] = mapped_column(String(20))
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    display: Mapped[str | None] = mapped_column(String(300))
    clinical_status: Mapped[str] = mapped_column(String(12), default="active")
    verification_status: Mapped[str] = mapped_column(String(16), default="confirmed")
    onset_date: Mapped[date | None] = mapped_column(Date)
    abatement_date: Mapped[date | None] = mapped_column(Date)
    rank: Mapped[int | None] = mapped_column(SmallInteger)
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Procedure(PatientOwned, Base):
    __tablename__ = "procedures"
    __table_args__ = (
        _patient_fk(),
        _fk(["encounter_id"], "encounters"),
        _fk(["performer_id"], "practitioners"),
        CheckConstraint(_in("status", PROCEDURE_STATUSES), name="status_known"),
        CheckConstraint("units >= 1", name="units_positive"),
    )

    encounter_id: Mapped[uuid.UUID]
    code_system: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32))
    display: Mapped[str | None] = mapped_column(String(300))
    modifiers: Mapped[str | None] = mapped_column(String(20))
    units: Mapped[int] = mapped_column(SmallInteger, default=1)
    performed_at: Mapped[datetime]
    performer_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(20), default="completed")
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


IMMUNIZATION_STATUSES = ("completed", "not_done", "entered_in_error")
CVX = "http://hl7.org/fhir/sid/cvx"


class Immunization(PatientOwned, Base):
    """A vaccine given (FHIR Immunization), coded in CVX."""

    __tablename__ = "immunizations"
    __table_args__ = (
        _patient_fk(),
        _fk(["encounter_id"], "encounters"),
        CheckConstraint(_in("status", IMMUNIZATION_STATUSES), name="status_known"),
        CheckConstraint(f"vaccine_system = '{CVX}'", name="vaccine_is_cvx"),
        Index(
            "ix_immunizations_tenant_id_patient_id_occurred_at",
            "tenant_id",
            "patient_id",
            "occurred_at",
        ),
    )

    encounter_id: Mapped[uuid.UUID | None]
    vaccine_system: Mapped[str] = mapped_column(String(200))
    vaccine_code: Mapped[str] = mapped_column(String(16))
    vaccine_display: Mapped[str | None] = mapped_column(String(300))
    occurred_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="completed")
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
