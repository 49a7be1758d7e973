"""An owner's explicit recompute, reported as a progress bar."""

from django.db.models import Q
from django.utils import timezone

from ...models import JobState, ProjectRollup
from .refresh import rollups_rebuild
from .schedule import STALE_QUEUE


def rollups_job_start(*, project_id: int) -> bool:
    """Claim an explicit recompute; False when one is already queued or running."""
    ProjectRollup.objects.get_or_create(project_id=project_id)
    busy = Q(job_state__in=[JobState.QUEUED, JobState.RUNNING]) & Q(
        job_updated_at__gt=timezone.now() - STALE_QUEUE
    )
    return bool(
        ProjectRollup.objects.filter(project_id=project_id)
        .exclude(busy)
        .update(
            job_state=JobState.QUEUED,
            job_progress=0,
            job_message="Waiting for a worker…",
            job_updated_at=timezone.now(),
        )
    )


def rollups_job_progress(*, project_id: int, percent: int, message: str, state=JobState.RUNNING):
    # Autocommit outside the rows transaction, so the page sees the bar move.
    ProjectRollup.objects.filter(project_id=project_id).update(
        job_state=state,
        job_progress=max(0, min(100, percent)),
        job_message=message[:300],
        job_updated_at=timezone.now(),
    )


def rollups_job_run(*, project_id: int) -> int | None:
    def progress(percent: int, message: str) -> None:
        rollups_job_progress(project_id=project_id, percent=percent, message=message)

    progress(0, "Starting…")
    written = rollups_rebuild(project_id=project_id, progress=progress)
    rollups_job_progress(project_id=project_id, percent=100, message="Done.", state=JobState.DONE)
    return written
