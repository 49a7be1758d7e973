import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError, transaction
from django.utils import timezone

from ..models import Take, TakeStatus
from ..services import media
from ..services import takes as take_services

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, OSError),
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
)
def take_process_media(self, take_id: int) -> str:
    try:
        with transaction.atomic():
            take = take_services.take_claim_for_processing(take_id=take_id)
            if take is None:
                return "skipped"
            take_services.take_process_media(take=take)
    except media.NotAVideo as exc:
        take_services.take_mark_broken(take_id=take_id, reason=str(exc))
        return "broken"
    except SoftTimeLimitExceeded:
        take_services.take_mark_broken(take_id=take_id, reason="Processing took too long.")
        return "broken"
    except (OperationalError, OSError):
        if self.request.retries >= self.max_retries:
            take_services.take_mark_broken(
                take_id=take_id, reason="Processing failed repeatedly; re-upload the file."
            )
            return "broken"
        raise
    except Exception as exc:  # an unexpected decoder failure must not leave it "processing"
        log.exception("media processing failed for take %s", take_id)
        take_services.take_mark_broken(take_id=take_id, reason=f"Processing failed: {exc}")
        return "broken"
    return "ready"


@shared_task
def takes_requeue_stuck(older_than_minutes: int = 15) -> int:
    """Re-enqueue takes left in 'processing' (broker was down at upload, a worker died)."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    ids = list(
        Take.objects.filter(status=TakeStatus.PROCESSING, added_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:500]
    )
    for take_id in ids:
        take_process_media.delay(take_id)
    return len(ids)
