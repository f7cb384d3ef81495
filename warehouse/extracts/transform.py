"""Applying each column's treatment (columns.py) to the rows read for an extract."""

from datetime import date

import polars as pl

from warehouse.extracts.columns import Column, Treatment
from warehouse.extracts.deidentify import (
    OLDEST_AGE,
    DateMode,
    Deidentifier,
    age_expression,
    age_label_expression,
    zip3_expression,
)

_SHIFT = "__shift_days"


def _year_name(name: str) -> str:
    for suffix in ("_at", "_date"):
        if name.endswith(suffix):
            return name.removesuffix(suffix) + "_year"
    return f"{name}_year"


def output_name(column: Column, dates: DateMode) -> str:
    """A date column reduced to years is renamed: `onset_date` -> `onset_year`."""
    return (
        _year_name(column.name)
        if column.treatment is Treatment.DATE and dates == "year"
        else column.name
    )


def deidentified(
    frame: pl.DataFrame, columns: list[Column], patient: str, tool: Deidentifier, today: date
) -> pl.DataFrame:
    """The extract's columns from `frame`; `patient` names the column whose patient's date
    offset applies to each row, `today` the day ages are counted to."""
    if tool.dates == "shift" and any(c.treatment is Treatment.DATE for c in columns):
        frame = frame.with_columns(tool.shifts(frame[patient]).alias(_SHIFT))
    outputs: list[pl.Expr | pl.Series] = []
    for column in columns:
        source, name = column.source_column, output_name(column, tool.dates)
        match column.treatment:
            case Treatment.KEEP:
                outputs.append(pl.col(source).alias(name))
            case Treatment.PATIENT | Treatment.PSEUDONYM:
                entity = column.entity or "row"
                outputs.append(tool.pseudonyms(frame[source], entity).alias(name))
            case Treatment.DATE | Treatment.YEAR:
                outputs.append(tool.moved(source, _SHIFT).alias(name))
            case Treatment.ZIP3:
                outputs.append(zip3_expression(source).alias(name))
            case Treatment.BIRTH_YEAR | Treatment.AGE:
                outputs.append(_age_column(frame, column, today).alias(name))
            case Treatment.DROP:
                continue
    return frame.select(outputs)


def _age_column(frame: pl.DataFrame, column: Column, today: date) -> pl.Expr:
    source = column.source_column
    if frame.schema[source] != pl.Date:
        return age_label_expression(pl.col(source).cast(pl.Int32))
    on = pl.lit(today)
    if "deceased_date" in frame.columns:
        on = pl.coalesce(pl.col("deceased_date"), pl.lit(today))
    age = age_expression(pl.col(source), on)
    if column.treatment is Treatment.AGE:
        return age_label_expression(age)
    return pl.when(age >= OLDEST_AGE).then(None).otherwise(pl.col(source).dt.year().cast(pl.Int16))
