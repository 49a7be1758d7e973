"""Rollup tasks: thin wrappers over generations.services.rollups. They take a project id, are
idempotent (a refresh is a function of the data), ack late so a worker that dies mid-recompute
gives the message back, and retry transient database errors with backoff and jitter."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from ..models import JobState, Project
from ..services import rollups as services
from ..services.webhooks import webhooks_budget_check

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)
ROLLUP_TASK = dict(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=1,
    retry_backoff_max=30,
    retry_jitter=True,
    max_retries=8,
    ignore_result=True,
)


@shared_task(**ROLLUP_TASK)
def rollups_refresh(self, project_id: int) -> int | None:
    # Release the coalescing claim first: a write from now on enqueues the next refresh.
    services.rollups_release(project_id=project_id)
    try:
        written = services.rollups_refresh(project_id=project_id)
        webhooks_budget_check(project_id=project_id)  # spend is current: announce thresholds
        return written
    except SoftTimeLimitExceeded:
        # The project stays dirty; the reconciler enqueues it again.
        log.warning("rollups refresh of project %s hit the time limit", project_id)
        return None


@shared_task(**ROLLUP_TASK)
def rollups_recompute(self, project_id: int) -> int | None:
    """An owner's explicit full rebuild, reporting progress into the database."""
    try:
        written = services.rollups_job_run(project_id=project_id)
        webhooks_budget_check(project_id=project_id)
        return written
    except TRANSIENT:
        services.rollups_job_progress(
            project_id=project_id, percent=0, message="Interrupted; retrying…"
        )
        raise
    except Exception as exc:
        services.rollups_job_progress(
            project_id=project_id, percent=0, message=f"Failed: {exc}", state=JobState.FAILED
        )
        raise


@shared_task(ignore_result=True)
def rollups_reconcile() -> int:
    """Beat, every minute: projects left dirty with nothing queued (broker was down)."""
    return len(services.rollups_reconcile())


@shared_task(ignore_result=True)
def rollups_check_all() -> int:
    """Beat, nightly: refresh every project; a refresh of a clean project that changes rows
    means drift, which the refresh logs."""
    ids = list(Project.objects.values_list("pk", flat=True))
    for project_id in ids:
        rollups_check.delay(project_id)
    return len(ids)


@shared_task(**ROLLUP_TASK)
def rollups_check(self, project_id: int) -> int | None:
    written = services.rollups_check(project_id=project_id)
    return written
