"""Analytics rollups (SPEC §4): scheduling refreshes, computing rows, and keeping them current.

- `schedule`: writers log the takes they changed and mark the project dirty; one refresh per
  project waits in the queue at a time.
- `rules`: the one table of dimensions the three paths below derive from.
- `sql`: every row in one generated PostgreSQL statement, written set-based.
- `compute`: every row from grouped queries (the reference).
- `ledger`: what each take contributes to the rows, so a change can be subtracted and re-added.
- `refresh`: the two verbs. `rollups_refresh`, the incremental path (cost grows with the changed
  takes, not the project), and `rollups_recompute`, the full one; the hypothesis test in
  tests/test_rollups_incremental.py proves they give identical rows.
- `jobs`: an owner's recompute with a progress bar."""

from .compute import rollups_compute
from .guard import rollups_running
from .jobs import rollups_job_progress, rollups_job_run, rollups_job_start, rollups_job_status
from .ledger import ledger_rebuild
from .refresh import (
    rollups_failed,
    rollups_recompute,
    rollups_refresh,
    rollups_rows,
)
from .schedule import (
    COALESCE_SECONDS,
    STALE_QUEUE,
    rollups_countdown,
    rollups_enqueue,
    rollups_reconcile,
    rollups_release,
    rollups_schedule,
    rollups_schedule_full,
)
from .types import VALUE_FIELDS, RowKey

__all__ = [
    "COALESCE_SECONDS",
    "STALE_QUEUE",
    "VALUE_FIELDS",
    "RowKey",
    "ledger_rebuild",
    "rollups_compute",
    "rollups_countdown",
    "rollups_enqueue",
    "rollups_failed",
    "rollups_job_progress",
    "rollups_job_run",
    "rollups_job_start",
    "rollups_job_status",
    "rollups_recompute",
    "rollups_reconcile",
    "rollups_refresh",
    "rollups_release",
    "rollups_rows",
    "rollups_running",
    "rollups_schedule",
    "rollups_schedule_full",
]
