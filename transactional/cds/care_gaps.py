"""Care-gap reminders: the population-health marts' open care gaps as clinical alerts.

The marts (analytics.qm_care_gaps) decide who has a gap; `care_gaps.yaml` decides how each
measure's gap is shown (title, severity, rationale, suggested actions; versioned). A sync
makes a tenant's open reminders match the marts' current list:

- a gap without an open reminder raises one (kind `care_gap_<measure>`, subject the patient),
  unless a clinician acknowledged or overrode that reminder within the snooze period;
- an open reminder whose gap is no longer listed is resolved, with the reason;
- an open reminder whose gap is still listed is left as it is.

Reminders are ordinary alerts: the patient-view CDS service shows them as cards, and they are
acknowledged or overridden (with a reason, audited) like any other alert.
"""

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from transactional.alerts.lifecycle import JsonValue, NewAlert, raise_alert, resolve
from transactional.alerts.models import ClinicalAlert
from transactional.audit.trail import Actor
from transactional.base import utcnow

SOURCE = "care_gaps"
KIND_PREFIX = "care_gap_"
REMINDERS_FILE = Path(__file__).with_name("care_gaps.yaml")


class MeasureReminder(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=1, max_length=200)
    severity: Literal["info", "warning", "critical"]
    rationale: str = Field(min_length=1)
    suggested_actions: tuple[str, ...] = ()


class ReminderBook(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    version: str = Field(min_length=1)
    snooze_days: int = Field(ge=0, le=3650)
    measures: dict[str, MeasureReminder]


class ReminderFileError(ValueError):
    """The reminder file is not valid; the message names the file and the field."""


def load_reminders(path: Path) -> ReminderBook:
    try:
        return ReminderBook.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ReminderFileError(f"{path.name}: {where}: {first['msg']}") from None
    except yaml.YAMLError as error:
        raise ReminderFileError(f"{path.name}: not valid YAML ({error})") from None


@cache
def reminder_book() -> ReminderBook:
    return load_reminders(REMINDERS_FILE)


@dataclass(frozen=True)
class CareGap:
    """One open gap of one patient, as the marts list it (no PHI beyond the patient id)."""

    patient_id: uuid.UUID
    measure_id: str
    measure_version: str
    period_start: date
    period_end: date
    description: str
    evidence: Mapping[str, JsonValue] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return f"{KIND_PREFIX}{self.measure_id}"


@dataclass
class SyncReport:
    raised: int = 0
    kept: int = 0
    resolved: int = 0
    snoozed: int = 0
    unknown_measures: set[str] = field(default_factory=set)


def _alert(gap: CareGap, reminder: MeasureReminder, book: ReminderBook) -> NewAlert:
    return NewAlert(
        patient_id=gap.patient_id,
        source=SOURCE,
        kind=gap.kind,
        severity=reminder.severity,
        title=reminder.title,
        rationale=f"{reminder.rationale} {gap.description}.",
        subject_type="patient",
        subject_id=gap.patient_id,
        data={
            "measure_id": gap.measure_id,
            "measure_version": gap.measure_version,
            "period_start": gap.period_start.isoformat(),
            "period_end": gap.period_end.isoformat(),
            "gap": gap.description,
            "evidence": dict(gap.evidence),
        },
        suggested_actions=reminder.suggested_actions,
        rule_id=book.id,
        rule_version=book.version,
    )


def sync_care_gaps(
    *,
    session: Session,
    tenant_id: uuid.UUID,
    gaps: Sequence[CareGap],
    actor: Actor,
    now: datetime | None = None,
    book: ReminderBook | None = None,
) -> SyncReport:
    """Make the tenant's open care-gap reminders match `gaps`, the marts' whole current list
    for the tenant. The caller owns the transaction and binds the tenant."""
    book = book or reminder_book()
    now = now or utcnow()
    report = SyncReport()
    open_alerts = {
        (alert.kind, alert.subject_id): alert
        for alert in session.scalars(
            select(ClinicalAlert).where(
                ClinicalAlert.tenant_id == tenant_id,
                ClinicalAlert.source == SOURCE,
                ClinicalAlert.status == "open",
            )
        )
    }
    snoozed: set[tuple[str, uuid.UUID]] = {
        (kind, subject_id)
        for kind, subject_id in session.execute(
            select(ClinicalAlert.kind, ClinicalAlert.subject_id).where(
                ClinicalAlert.tenant_id == tenant_id,
                ClinicalAlert.source == SOURCE,
                ClinicalAlert.status.in_(("acknowledged", "overridden")),
                ClinicalAlert.acted_at >= now - timedelta(days=book.snooze_days),
            )
        )
    }
    listed: set[tuple[str, uuid.UUID]] = set()
    for gap in gaps:
        reminder = book.measures.get(gap.measure_id)
        if reminder is None:
            report.unknown_measures.add(gap.measure_id)
            continue
        subject = (gap.kind, gap.patient_id)
        if subject in listed:
            continue
        listed.add(subject)
        if subject in open_alerts:
            report.kept += 1
        elif subject in snoozed:
            report.snoozed += 1
        else:
            raise_alert(
                session=session, tenant_id=tenant_id, data=_alert(gap, reminder, book), actor=actor
            )
            report.raised += 1
    for subject, alert in open_alerts.items():
        if subject not in listed:
            measure = alert.kind.removeprefix(KIND_PREFIX)
            reason = f"Care gap closed: measure {measure} no longer lists this patient."
            if resolve(
                session=session, tenant_id=tenant_id, alert_id=alert.id, reason=reason, actor=actor
            ):
                report.resolved += 1
    return report
