"""What an import did, per file, and the summary the CLI prints.

Every source row ends in exactly one of: imported, already present (its key was recorded by
an earlier import), failed (with `file:line: reason`), or skipped (a kind of row this EMR has
no place for, counted by reason). Nothing here holds PHI: counts, file names, line numbers,
codes and reasons only.
"""

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Failure:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class FileReport:
    file: str
    found: bool = True
    read: int = 0
    imported: int = 0
    present: int = 0
    failed: int = 0
    skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)

    def skip(self, reason: str, count: int = 1) -> None:
        self.skipped += count
        self.skip_reasons[reason] += count


@dataclass
class ImportReport:
    tenant: str
    files: dict[str, FileReport] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    def file(self, name: str) -> FileReport:
        return self.files.setdefault(name, FileReport(name))

    def fail(self, file: str, line: int, reason: str) -> None:
        self.failures.append(Failure(file, line, reason))
        self.file(file).failed += 1

    @property
    def failed(self) -> int:
        return sum(report.failed for report in self.files.values())

    def render(self) -> str:
        width = max([len("file"), *(len(name) for name in self.files)])
        columns = ("read", "imported", "present", "failed", "skipped")
        lines = [f"Synthea import into tenant {self.tenant} ({self.seconds:.1f} s)"]
        lines.append(f"{'file':<{width}}  " + "  ".join(f"{c:>8}" for c in columns))
        totals = dict.fromkeys(columns, 0)
        for report in self.files.values():
            if not report.found:
                continue
            counts = [getattr(report, column) for column in columns]
            for column, count in zip(columns, counts, strict=True):
                totals[column] += count
            lines.append(f"{report.file:<{width}}  " + "  ".join(f"{c:>8}" for c in counts))
        lines.append(f"{'total':<{width}}  " + "  ".join(f"{totals[c]:>8}" for c in columns))
        missing = [report.file for report in self.files.values() if not report.found]
        if missing:
            lines.append("not in the folder: " + ", ".join(missing))
        skipped = [
            f"  {report.file}: {count} {'row' if count == 1 else 'rows'}: {reason}"
            for report in self.files.values()
            for reason, count in report.skip_reasons.items()
        ]
        if skipped:
            lines += ["skipped:", *skipped]
        notes = [
            f"  {report.file}: {count} x {note}"
            for report in self.files.values()
            for note, count in report.notes.items()
        ]
        if notes:
            lines += ["notes:", *notes]
        if self.failures:
            lines.append(f"failed rows ({len(self.failures)}):")
            lines += [f"  {failure}" for failure in self.failures]
        return "\n".join(lines)
