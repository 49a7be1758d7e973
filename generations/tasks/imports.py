"""Web import of a manifest: a thin task over generations.services.manifest_imports. It takes the
job id, acks late and is rejected when its worker is lost (the broker hands it out again), retries
transient database errors, and never leaves a job "running" when it fails."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError

from ..services import manifest_imports as services

log = logging.getLogger(__name__)

TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=5,
    ignore_result=True,
    soft_time_limit=settings.DAILIES_IMPORT_SOFT_TIME_LIMIT,
    time_limit=settings.DAILIES_IMPORT_TIME_LIMIT,
)
def manifest_import_task(self, job_id: int) -> None:
    try:
        services.manifest_import_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        services.manifest_import_fail(
            job_id=job_id,
            reason=f"Failed: took longer than {settings.DAILIES_IMPORT_SOFT_TIME_LIMIT} s. "
            "Nothing was written; split the file and upload the parts.",
        )
    except TRANSIENT as exc:
        # A statement timeout, a lost connection: nothing was written (one transaction).
        if self.request.retries >= self.max_retries:
            services.manifest_import_fail(job_id=job_id, reason=f"Failed: {exc}")
            return
        services.manifest_import_requeue(job_id=job_id, reason="Interrupted; retrying…")
        raise self.retry(exc=exc, countdown=min(60, 5 * 2**self.request.retries)) from exc
    except Exception as exc:
        log.exception("manifest import %s failed", job_id)
        services.manifest_import_fail(job_id=job_id, reason=f"Failed: {exc}")


@shared_task(ignore_result=True)
def manifest_imports_reclaim() -> int:
    """Beat, every minute: jobs never delivered, or whose worker died mid-import."""
    return len(services.manifest_imports_reclaim())
