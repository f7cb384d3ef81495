"""Small cells when the dashboards add up mart rows (months under a date filter, providers
of a department): the marts' rule again (dbt_project/README.md, "Small-cell suppression").

A withheld cell (NULL) is never guessed: a sum covers the shown cells only and is marked
`is_suppressed`, so pages say that it leaves something out. A summed count of 1 to 10 is
withheld in turn, together with every amount or rate of its row.
"""

from collections.abc import Sequence

import polars as pl

from warehouse.cohorts.suppression import THRESHOLD

SUPPRESSED_NOTE = (
    "Counts of 1 to 10 are withheld (shown blank) and left out of totals; a total marked "
    "as partial leaves withheld cells out."
)


def small(column: str) -> pl.Expr:
    return pl.col(column).is_between(1, THRESHOLD - 1)


def summed(
    frame: pl.DataFrame,
    *,
    by: Sequence[str],
    counts: Sequence[str],
    amounts: Sequence[str] = (),
) -> pl.DataFrame:
    """`frame` grouped `by` (nothing: one row), counts and amounts summed over shown cells."""
    figures = [*counts, *amounts]
    flagged = pl.any_horizontal(
        [pl.col(c).is_null() for c in figures]
        + ([pl.col("is_suppressed").cast(pl.Boolean)] if "is_suppressed" in frame.columns else [])
    )
    # A figure withheld in every cell stays withheld (a sum of nothing is not zero).
    sums = [pl.when(pl.col(c).is_not_null().any()).then(pl.col(c).sum()).alias(c) for c in figures]
    partial = flagged.any().alias("is_suppressed")
    grouped = (
        frame.group_by(list(by), maintain_order=True).agg(*sums, partial)
        if by
        else (frame.select(*sums, partial))
    )
    hidden = pl.any_horizontal([small(c) for c in counts]) if counts else pl.lit(False)
    return grouped.with_columns(
        *[pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in figures],
        (pl.col("is_suppressed") | hidden).alias("is_suppressed"),
    )


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator
