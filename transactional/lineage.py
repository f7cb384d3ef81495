"""Lineage of rows that were imported rather than written through this EMR's services.

`data_source` names the system a row came from, and is NULL for everything entered here. A
few rules cannot hold for history another system recorded without the fact they need (a
Synthea medication has no dose, a Synthea provider no NPI, an imported charge was priced by
its source and not by a fee schedule of ours). Those rules are relaxed for imported rows
only, by CHECK constraints that read this column: rows written through the services keep
every guarantee, and an imported row can never pass for one priced or signed here.
"""

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

SYNTHEA = "synthea"
DATA_SOURCES = (SYNTHEA,)
KNOWN = f"data_source IS NULL OR data_source IN ({', '.join(repr(s) for s in DATA_SOURCES)})"


def data_source_column() -> Mapped[str | None]:
    return mapped_column(String(16))


def data_source_known() -> CheckConstraint:
    return CheckConstraint(KNOWN, name="data_source_known")


def unless_imported(condition: str) -> str:
    """`condition` must hold for every row entered here; imported rows are exempt."""
    return f"data_source IS NOT NULL OR ({condition})"
