"""The manifest writer: parsed records (parse.py) into projects, shots, prompt versions, takes,
reviews, tag links and notes.

Two writers with one outcome. On PostgreSQL, `copy_writer` COPYs the records straight into
their tables a chunk at a time: memory stays flat whatever the file's size, and the time is
close to COPY's own (bench/imports.py measures both).
SQLite, the embedded demo, takes `orm_writer`, batches through the ORM. What both share
(projects, reviewers, tags, prices, the rollups' bookkeeping) is in `resolve`.

Idempotency: `(project, external_id)` for takes, `(take, reviewer, time)` for reviews; a line
the parser refused never reaches a writer, so a re-import of the same file, bad lines included,
changes nothing. Two imports touching the same project serialise on an advisory lock per
project (PostgreSQL), so overlapping files running at once create no duplicates."""

from collections.abc import Callable, Iterable, Iterator

from django.db import connection

from ..models import Membership, Note, PromptVersion, Review, Shot, Take
from . import copy_writer
from .copy_writer import CopyWriter
from .feed import parsed_chunks
from .orm_writer import OrmWriter
from .parse import LineInvalid, ParsedTake, parse_lines, wrong_project
from .report import ImportReport

BATCH_SIZE = 1000  # lines per ORM batch
# After writing this many rows, refresh the planner's statistics: autovacuum lags a bulk load
# (and is off on our machines), and a plan made for empty tables can take minutes.
ANALYZE_MIN = 10_000

Progress = Callable[[int], None] | None


def _records(
    source, report: ImportReport, *, only_project: str | None, progress: Progress
) -> Iterator[ParsedTake]:
    pending = 0
    for number, item in parse_lines(source):
        pending += number - report.lines
        report.lines = number
        if isinstance(item, LineInvalid):
            report.error(number, str(item))
        elif only_project is not None and item.project != only_project:
            report.error(number, wrong_project(item.project, only_project))
        else:
            yield item
        if progress and pending >= 1000:
            progress(pending)
            pending = 0
    if progress and pending:
        progress(pending)


def manifest_write(
    *,
    source: Iterable,
    owner=None,
    only_project: str | None = None,
    progress: Progress = None,
    writer: str | None = None,
    batch_size: int = BATCH_SIZE,
    statement_timeout_s: int | None = None,
) -> ImportReport:
    """Parse and write a whole manifest. `writer` is "copy" (PostgreSQL only) or "orm"; by
    default the database decides. `statement_timeout_s` bounds each statement and lock wait of
    the write (a background import must fail rather than hang)."""
    report = ImportReport()
    writer = writer or ("copy" if connection.vendor == "postgresql" else "orm")
    if writer == "copy":
        # Parsed in a process of its own; progress is reported as each chunk is written.
        with parsed_chunks(source, only_project=only_project, size=copy_writer.CHUNK) as chunks:
            changed = CopyWriter(
                report=report, owner=owner, progress=progress, timeout=statement_timeout_s
            ).write(chunks)
    else:
        records = _records(source, report, only_project=only_project, progress=progress)
        changed = OrmWriter(report=report, owner=owner).write(records, batch_size)
    report.errors.sort(key=lambda e: e.line)
    if changed >= ANALYZE_MIN and connection.vendor == "postgresql":
        _analyze()
    return report


def _analyze() -> None:
    tables = [m._meta.db_table for m in (Shot, PromptVersion, Take, Review, Note, Membership)] + [
        Review.failure_tags.through._meta.db_table
    ]
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"ANALYZE {table}")
