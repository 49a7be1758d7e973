"""Importing a generation manifest (SPEC §3): the service entry points. The parsing rules, the
report and the writer live in generations.manifest; the web import's job lifecycle is in
generations.services.manifest_imports."""

from collections.abc import Callable, Iterable

from ..manifest.importer import BATCH_SIZE, manifest_write
from ..manifest.parse import LineInvalid, parse_line
from ..manifest.report import ImportReport, LineError
from .webhooks import webhooks_import_finished

__all__ = ["ImportReport", "LineError", "LineInvalid", "manifest_import", "parse_line"]


def manifest_import(
    *,
    lines: Iterable,
    owner=None,
    only_project: str | None = None,
    progress: Callable[[int], None] | None = None,
    writer: str | None = None,
    batch_size: int = BATCH_SIZE,
    statement_timeout_s: int | None = None,
) -> ImportReport:
    """Import manifest lines: a binary file, or an iterable of str or bytes lines. Returns the
    report; never raises for a bad line. `only_project` (a slug) refuses lines of any other
    project; `progress` is called with the number of lines read since its last call."""
    report = manifest_write(
        source=lines,
        owner=owner,
        only_project=only_project,
        progress=progress,
        writer=writer,
        batch_size=batch_size,
        statement_timeout_s=statement_timeout_s,
    )
    webhooks_import_finished(report=report)
    return report
