"""Rollup tasks: thin wrappers over generations.services.rollups. They take a project id, are
idempotent (a refresh is a function of the data), ack late so a worker that dies mid-recompute
gives the message back, and retry transient database errors with backoff and jitter.

A refresh that times out (the soft time limit, or PostgreSQL's statement or lock timeout, both
set below it) is a failure: recorded on the project, logged as an error, and retried. The
service cancels the query that was running, so nothing is left behind in the database."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
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
    soft_time_limit=settings.DAILIES_ROLLUP_SOFT_TIME_LIMIT,
    time_limit=settings.DAILIES_ROLLUP_TIME_LIMIT,
)
# After a time limit: wait a little before the retry (the data may be mid-import).
TIMEOUT_RETRY_SECONDS = 5


def _failed(project_id: int, exc: BaseException, what: str) -> None:
    reason = "time limit" if isinstance(exc, SoftTimeLimitExceeded) else str(exc).strip()
    log.error("rollups %s of project %s failed (%s); retrying", what, project_id, reason)
    try:
        services.rollups_failed(project_id=project_id, reason=f"{what} failed: {reason}")
    except Exception:  # the database may be what failed; the retry matters more
        log.warning("could not record the failed %s of project %s", what, project_id)


@shared_task(**ROLLUP_TASK)
def rollups_refresh(self, project_id: int) -> int | None:
    # Release the coalescing claim first: a write from now on enqueues the next refresh.
    services.rollups_release(project_id=project_id)
    try:
        written = services.rollups_refresh(project_id=project_id)
        webhooks_budget_check(project_id=project_id)  # spend is current: announce thresholds
        return written
    except SoftTimeLimitExceeded as exc:
        # Never a success: the project stays dirty and the task runs again.
        _failed(project_id, exc, "refresh")
        raise self.retry(exc=exc, countdown=TIMEOUT_RETRY_SECONDS) from exc
    except TRANSIENT as exc:  # statement or lock timeout, lost connection: autoretry
        _failed(project_id, exc, "refresh")
        raise


@shared_task(**ROLLUP_TASK)
def rollups_recompute(self, project_id: int) -> int | None:
    """An owner's explicit full rebuild, reporting progress into the database."""
    try:
        written = services.rollups_job_run(project_id=project_id)
        webhooks_budget_check(project_id=project_id)
        return written
    except (SoftTimeLimitExceeded, *TRANSIENT) as exc:
        _failed(project_id, exc, "recompute")
        services.rollups_job_progress(
            project_id=project_id, percent=0, message="Interrupted; retrying…"
        )
        if isinstance(exc, SoftTimeLimitExceeded):
            raise self.retry(exc=exc, countdown=TIMEOUT_RETRY_SECONDS) from exc
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
    written = services.rollups_recompute(project_id=project_id)
    return written
