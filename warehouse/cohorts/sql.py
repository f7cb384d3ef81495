"""SQL text with server-side parameters.

Every value a definition contributes (codes, thresholds, units, names, dates) travels as a
ClickHouse query parameter (`{p3:Array(String)}`), never inside the SQL text; the only words a
definition puts into the text are comparators and kinds from closed vocabularies. Table names
come from this package, never from a definition.
"""

import uuid
from dataclasses import dataclass, field
from typing import Any

ANALYTICS = "analytics"
EVENTS = f"{ANALYTICS}.cohort_events"
PATIENTS = f"{ANALYTICS}.stg_patients"


@dataclass(frozen=True)
class Query:
    sql: str
    parameters: dict[str, Any]


@dataclass
class Parameters:
    """Collects values and hands back the placeholder to write in their place."""

    values: dict[str, Any] = field(default_factory=dict)

    def __call__(self, value: Any, kind: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{{{name}:{kind}}}"

    def query(self, sql: str) -> Query:
        return Query(sql, dict(self.values))


@dataclass(frozen=True)
class Stage:
    """Scratch tables of one run, so concurrent runs never share intermediate rows."""

    run: str

    @classmethod
    def fresh(cls) -> "Stage":
        return cls(uuid.uuid4().hex[:16])

    def table(self, purpose: str) -> str:
        return f"{ANALYTICS}.`_cohort_run_{self.run}_{purpose}`"

    @property
    def entries(self) -> str:
        return self.table("entries")

    @property
    def flags(self) -> str:
        return self.table("flags")
