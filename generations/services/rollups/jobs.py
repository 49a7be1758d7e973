"""An owner's explicit recompute, reported as a progress bar.

The recompute runs in one REPEATABLE READ snapshot, so progress written to the database inside it
would be invisible until commit (and would lock the row writers bump). Each step is reported to
the cache instead, which web and workers share; the database keeps the durable record (queued,
running, done or failed), written outside the snapshot. The page shows whichever is newer."""

import logging
import time

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from ...models import JobState, ProjectRollup
from .refresh import rollups_recompute
from .schedule import STALE_QUEUE

log = logging.getLogger(__name__)

# Longer than the task's hard time limit; after that the database record speaks alone.
CACHE_SECONDS = 3600


def _cache_key(project_id: int) -> str:
    return f"rollups:job:{project_id}"


def _report(project_id: int, percent: int, message: str, state: str) -> None:
    report = {"state": state, "percent": percent, "message": message, "at": time.time()}
    try:
        cache.set(_cache_key(project_id), report, CACHE_SECONDS)
    except Exception:  # a cache outage must not fail the recompute; the bar just moves less
        log.warning("could not report recompute progress of project %s", project_id)


def rollups_job_start(*, project_id: int) -> bool:
    """Claim an explicit recompute; False when one is already queued or running."""
    ProjectRollup.objects.get_or_create(project_id=project_id)
    busy = Q(job_state__in=[JobState.QUEUED, JobState.RUNNING]) & Q(
        job_updated_at__gt=timezone.now() - STALE_QUEUE
    )
    message = "Waiting for a worker…"
    claimed = bool(
        ProjectRollup.objects.filter(project_id=project_id)
        .exclude(busy)
        .update(
            job_state=JobState.QUEUED,
            job_progress=0,
            job_message=message,
            job_updated_at=timezone.now(),
        )
    )
    if claimed:
        _report(project_id, 0, message, JobState.QUEUED)
    return claimed


def rollups_job_progress(*, project_id: int, percent: int, message: str, state=JobState.RUNNING):
    """The durable record, in autocommit (never call it inside the refresh snapshot)."""
    percent, message = max(0, min(100, percent)), message[:300]
    ProjectRollup.objects.filter(project_id=project_id).update(
        job_state=state, job_progress=percent, job_message=message, job_updated_at=timezone.now()
    )
    _report(project_id, percent, message, state)


def rollups_job_status(*, project_id: int, state: ProjectRollup | None) -> dict:
    """What the progress bar shows: the newer of the cache's last step and the database record
    (`state`, the project's ProjectRollup or None)."""
    job = {"state": "", "percent": 0, "message": "", "at": 0.0}
    if state is not None and state.job_state:
        job = {
            "state": state.job_state,
            "percent": state.job_progress,
            "message": state.job_message,
            "at": state.job_updated_at.timestamp() if state.job_updated_at else 0.0,
        }
    try:
        cached = cache.get(_cache_key(project_id))
    except Exception:
        cached = None
    if cached and cached["at"] >= job["at"]:
        job = cached
    running = job["state"] in (JobState.QUEUED, JobState.RUNNING)
    # No progress for longer than a new recompute waits for (its worker node died, and the
    # broker would give the message back only after its visibility timeout): stale, not running.
    stale = running and job["at"] < time.time() - STALE_QUEUE.total_seconds()
    label = "Stalled" if stale else JobState(job["state"]).label
    if stale:
        minutes = int((time.time() - job["at"]) // 60)
        job = {
            **job,
            "message": f"No progress for {minutes} minutes: the worker may have stopped. "
            "Start the recompute again.",
        }
    return {**job, "label": label, "running": running and not stale, "stale": stale}


def rollups_job_run(*, project_id: int) -> int | None:
    def progress(percent: int, message: str) -> None:
        # Called inside the snapshot: cache only.
        _report(project_id, max(0, min(100, percent)), message[:300], JobState.RUNNING)

    rollups_job_progress(project_id=project_id, percent=0, message="Starting…")
    written = rollups_recompute(project_id=project_id, progress=progress)
    rollups_job_progress(project_id=project_id, percent=100, message="Done.", state=JobState.DONE)
    return written
