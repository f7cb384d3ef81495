"""Writing an extract's files all at once or not at all.

Everything is written into a scratch folder next to the destination and moved into place
only when complete: a failure (or a refusal to audit) leaves no partial DuckDB file or
Parquet folder behind, and a reader never opens a half-written one.
"""

import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.extracts.dictionary import Entry, write_files


class OutputExists(FileExistsError):
    pass


def parquet_folder(out: Path) -> Path:
    """`cohort.duckdb` -> `cohort_parquet/` beside it."""
    return out.with_name(f"{out.stem}_parquet")


def check_destination(out: Path, *, force: bool) -> None:
    if not out.parent.is_dir():
        raise OutputExists(f"folder {out.parent} does not exist")
    if force:
        return
    for target in (out, parquet_folder(out)):
        if target.exists():
            raise OutputExists(f"{target} already exists (use --force to replace it)")


def _comment(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _write_duckdb(
    path: Path, tables: dict[str, pa.Table], entries: list[Entry], described: dict[str, str]
) -> None:
    connection = duckdb.connect(str(path))
    try:
        for name, table in tables.items():
            connection.register("source_rows", table)
            connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM source_rows')  # noqa: S608
            connection.unregister("source_rows")
            if described.get(name):
                connection.execute(f'COMMENT ON TABLE "{name}" IS {_comment(described[name])}')
        for entry in entries:
            if entry.description and entry.table_name in tables:
                connection.execute(
                    f'COMMENT ON COLUMN "{entry.table_name}"."{entry.column_name}" '
                    f"IS {_comment(entry.description)}"
                )
        connection.execute("CHECKPOINT")
    finally:
        connection.close()


@contextmanager
def _scratch(out: Path) -> Iterator[Path]:
    folder = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.partial")
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _replace(source: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif target.exists():
        target.unlink()
    source.rename(target)


def write_extract_files(
    out: Path,
    *,
    tables: dict[str, pa.Table],
    entries: list[Entry],
    described: dict[str, str],
    force: bool,
    before_publish: Callable[[], None] | None = None,
) -> Path:
    """The DuckDB file `out` and its Parquet folder; returns the folder.

    `before_publish` runs once everything is written and before anything is moved into place
    (the audit event): if it raises, nothing is published."""
    check_destination(out, force=force)
    folder = parquet_folder(out)
    with _scratch(out) as scratch:
        staged_file = scratch / out.name
        staged_folder = scratch / folder.name
        staged_folder.mkdir()
        _write_duckdb(staged_file, tables, entries, described)
        for name, table in tables.items():
            pq.write_table(table, staged_folder / f"{name}.parquet")
        write_files(entries, described, staged_folder)
        if before_publish is not None:
            before_publish()
        check_destination(out, force=force)
        _replace(staged_folder, folder)
        _replace(staged_file, out)
    return folder
