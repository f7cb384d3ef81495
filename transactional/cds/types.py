"""The small vocabulary decision support speaks: severities, the data a rule read, findings
and the cards that show them."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

JsonValue = str | int | bool | None | list[Any] | dict[str, Any]

SEVERITIES = ("info", "warning", "critical")
SEVERITY_RANK = {severity: rank for rank, severity in enumerate(SEVERITIES)}


def plain(value: Decimal) -> str:
    """A decimal as people write it: 38.5000 -> "38.5", 180.0000 -> "180"."""
    return format(value.normalize(), "f")


@dataclass(frozen=True)
class Datum:
    """One recorded value a rule may read, with the record it came from.

    Numeric values carry a UCUM unit; coded values an answer code (and its display)."""

    system: str
    code: str
    effective_at: datetime
    value: Decimal | None = None
    unit: str | None = None
    answer: str | None = None
    answer_display: str | None = None
    source_type: str | None = None
    source_id: uuid.UUID | None = None

    def shown(self) -> str:
        if self.value is not None:
            return plain(self.value)
        return self.answer_display or self.answer or ""

    def as_json(self, name: str) -> dict[str, JsonValue]:
        used: dict[str, JsonValue] = {
            "name": name,
            "system": self.system,
            "code": self.code,
            "effective_at": self.effective_at.isoformat(),
        }
        if self.value is not None:
            used["value"] = plain(self.value)
            used["unit"] = self.unit
        if self.answer is not None:
            used["answer"] = self.answer
            used["answer_display"] = self.answer_display
        if self.source_type is not None and self.source_id is not None:
            used["source"] = {"type": self.source_type, "id": str(self.source_id)}
        return used


@dataclass(frozen=True)
class Finding:
    """What a rule concluded from the data. `rank` orders findings of one rule at one
    severity (a NEWS2 band, the number of criteria met) so a worse one can supersede an
    open alert; `raise_alert` is False for findings shown but not sent to an inbox."""

    rule_id: str
    rule_version: str
    kind: str
    severity: str
    summary: str
    rationale: str
    rank: int
    data: Mapping[str, JsonValue]
    suggested_actions: tuple[str, ...]
    raise_alert: bool = True


@dataclass(frozen=True)
class Coding:
    system: str
    code: str
    display: str


@dataclass(frozen=True)
class Action:
    """A change the clinician may accept; `resource_id` is a relative FHIR reference."""

    type: str
    description: str
    resource_id: str | None = None


@dataclass(frozen=True)
class Suggestion:
    label: str
    actions: tuple[Action, ...] = ()
    is_recommended: bool | None = None


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    type: str = "absolute"


@dataclass(frozen=True)
class Card:
    """Decision support to show in the clinician's workflow (a CDS Hooks card, without the
    wire format). `key` names what the card is about (rule kind and subject), so two sources
    saying the same thing show once; `alert_id` is the open alert the card shows, if any."""

    key: str
    summary: str
    indicator: str
    source_label: str
    detail: str | None = None
    source_url: str | None = None
    topic: Coding | None = None
    suggestions: tuple[Suggestion, ...] = ()
    override_reasons: tuple[Coding, ...] = ()
    links: tuple[Link, ...] = ()
    alert_id: uuid.UUID | None = None


@dataclass(frozen=True)
class DraftMedication:
    """A medication order being written (a draft FHIR MedicationRequest): `reference` is its
    relative FHIR reference, `codings` its medication codings as (system, code, display)."""

    reference: str
    codings: tuple[tuple[str, str, str | None], ...]
