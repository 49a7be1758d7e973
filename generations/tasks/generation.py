"""Generation tasks: thin wrappers over services/generation/jobs.py. They take a job id, work
out what to do from the row (so running one twice is harmless), ack late so a killed worker's
message comes back, and schedule the next step themselves (poll again after a backoff with
jitter, or after the provider's Retry-After). Every query runs under statement and lock
timeouts well below the task's time limit; whatever is left half-way (a lost message, a dead
worker) is found by the beat reconciler, so no job stays pending forever."""

import contextlib
import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection

from ..models import GenerationJob, GenerationStatus
from ..services import generation as services

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)
GENERATION_TASK = dict(
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


@contextlib.contextmanager
def db_timeouts():
    """Session statement and lock timeouts for this task's queries (PostgreSQL), reset after:
    a blocked or runaway query fails (and the task retries) long before the time limit."""
    if connection.vendor != "postgresql":
        yield
        return
    statement = int(getattr(settings, "DAILIES_TASK_STATEMENT_TIMEOUT_MS", 15_000))
    lock = int(getattr(settings, "DAILIES_TASK_LOCK_TIMEOUT_MS", 5_000))
    with connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {statement}; SET lock_timeout = {lock}")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout; RESET lock_timeout")
        except TRANSIENT:
            connection.close()  # a broken connection is not reused with the settings on it


def _schedule(job_id: int, step) -> None:
    if step is None:
        return
    task = generation_submit if step.task == "submit" else generation_poll
    task.apply_async((job_id,), countdown=max(step.delay, 0))


@shared_task(**GENERATION_TASK)
def generation_submit(self, job_id: int) -> None:
    try:
        with db_timeouts():
            step = services.job_submit(job_id=job_id)
    except SoftTimeLimitExceeded:
        # The job stays "submitting": the reconciler decides, by the provider's idempotency.
        log.warning("generation job %s: submission hit the time limit", job_id)
        return
    _schedule(job_id, step)


@shared_task(**GENERATION_TASK)
def generation_poll(self, job_id: int) -> None:
    try:
        with db_timeouts():
            step = services.job_poll(job_id=job_id)
    except SoftTimeLimitExceeded:
        # A download that ran out of time: back to polling, the output is still there.
        GenerationJob.objects.filter(pk=job_id, status=GenerationStatus.DOWNLOADING).update(
            status=GenerationStatus.RUNNING, claimed_at=None, last_error="Download too slow."
        )
        step = services.Step("poll", services.jobs.backoff(4))
    _schedule(job_id, step)


@shared_task(**GENERATION_TASK)
def generation_cancel_remote(self, job_id: int) -> None:
    with db_timeouts():
        services.job_cancel_remote(job_id=job_id)


@shared_task(ignore_result=True)
def generations_reconcile() -> int:
    """Beat, every minute: jobs whose message or worker was lost."""
    with db_timeouts():
        found = services.jobs_reconcile()
    for job_id in found["submit"]:
        generation_submit.delay(job_id)
    for job_id in found["poll"]:
        generation_poll.delay(job_id)
    return len(found["submit"]) + len(found["poll"])
