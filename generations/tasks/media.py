import logging
from datetime import timedelta

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone

from .. import netsafe
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
    # A conditional-update claim, not a row lock: the decode runs outside any transaction, so
    # a verdict, delete or tag edit of the take never waits for it.
    take = take_services.take_claim_for_processing(take_id=take_id)
    if take is None:
        return "skipped"
    try:
        if not take.media and take.media_url:
            # Registered by URL through the API: fetch it first (checked address, byte cap).
            take = take_services.take_fetch_media(take=take)
            if take is None:
                return "skipped"
        done = take_services.take_process_media(take=take)
    except media.NotAVideo as exc:
        take_services.take_mark_broken(take_id=take_id, reason=str(exc))
        return "broken"
    except (netsafe.UnsafeURL, netsafe.FetchError) as exc:
        take_services.take_mark_broken(take_id=take_id, reason=f"Could not fetch the media: {exc}")
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
        try:  # give the claim back so the retry can take it; else it goes stale
            take_services.take_release_claim(take=take)
        except OperationalError:
            log.warning("could not release the processing claim of take %s", take_id)
        raise
    except Exception as exc:  # an unexpected decoder failure must not leave it "processing"
        log.exception("media processing failed for take %s", take_id)
        take_services.take_mark_broken(take_id=take_id, reason=f"Processing failed: {exc}")
        return "broken"
    return "ready" if done else "skipped"


@shared_task
def takes_requeue_stuck(older_than_minutes: int = 15) -> int:
    """Re-enqueue takes left in 'processing' (broker was down at upload, a worker died): not
    claimed by a run, or claimed so long ago that the run is presumed lost."""
    now = timezone.now()
    cutoff = now - timedelta(minutes=older_than_minutes)
    unclaimed = Q(processing_claimed_at__isnull=True) | Q(
        processing_claimed_at__lt=now - take_services.PROCESSING_CLAIM_STALE
    )
    ids = list(
        Take.objects.filter(unclaimed, status=TakeStatus.PROCESSING, added_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    for take_id in ids:
        take_process_media.delay(take_id)
    return len(ids)
