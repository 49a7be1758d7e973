"""What an import did, line by line: counts, what it created, every refused line with its number
and reason, and warnings (takes whose cost could not be known). The command prints it, the web
import stores it as JSON and serves the refused lines as a CSV."""

import csv
import io
from collections import Counter
from dataclasses import dataclass, field

# A reason is a sentence; a line that quotes a huge value must not make the report huge.
REASON_MAX = 300


@dataclass(slots=True)
class LineError:
    line: int
    reason: str


@dataclass
class ImportReport:
    lines: int = 0
    takes_created: int = 0
    takes_existing: int = 0
    reviews_created: int = 0
    notes_created: int = 0
    projects: set[str] = field(default_factory=set)
    projects_created: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    tags_created: list[str] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    # Takes with no reported cost whose model has no price: their cost is unknown, not $0.
    unpriced: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, line: int, reason: str) -> None:
        if len(reason) > REASON_MAX:
            reason = reason[: REASON_MAX - 1] + "…"
        self.errors.append(LineError(line, reason))

    @property
    def warnings(self) -> list[str]:
        return [
            f"{count:,} take(s) of model {model!r} have no reported cost and no price for "
            "that model: their cost is unknown (set a price on the Budget page, then recompute)"
            for model, count in sorted(self.unpriced.items())
        ]

    def as_dict(self) -> dict:
        return {
            "lines": self.lines,
            "takes_created": self.takes_created,
            "takes_existing": self.takes_existing,
            "reviews_created": self.reviews_created,
            "notes_created": self.notes_created,
            "projects": sorted(self.projects),
            "projects_created": self.projects_created,
            "users_created": self.users_created,
            "tags_created": self.tags_created,
            "unpriced_models": dict(sorted(self.unpriced.items())),
            "warnings": self.warnings,
            "errors": [{"line": e.line, "reason": e.reason} for e in self.errors],
            "seconds": round(self.seconds, 3),
        }

    def errors_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["line", "reason"])
        for error in self.errors:
            writer.writerow([error.line, error.reason])
        return out.getvalue()


def errors_csv(errors: list[dict]) -> str:
    """The refused lines of a stored report (as_dict()["errors"]) as CSV."""
    report = ImportReport(errors=[LineError(e["line"], e["reason"]) for e in errors])
    return report.errors_csv()
