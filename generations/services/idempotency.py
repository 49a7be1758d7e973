"""Idempotency-Key for API POSTs (the IETF httpapi draft's semantics): the first request with a
key runs and its answer is kept; a retry with the same key and the same request gets that answer
again without running twice; the same key on a different request is refused (422), and a retry
while the first is still running is told to wait (409)."""

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import IdempotencyKey
from .projects import ServiceError

# A first request that has not finished after this long died with its process: take it over.
IN_FLIGHT_STALE = timedelta(minutes=5)


class IdempotencyConflict(ServiceError):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def idempotency_begin(*, user, key: str, fingerprint: str) -> tuple[IdempotencyKey, bool]:
    """(record, replay). replay=True: answer `record.status_code` / `record.response` as is.
    replay=False: run the request, then `idempotency_finish` (or `idempotency_release` if it
    failed, so the client may retry with the same key)."""
    now = timezone.now()
    expired = now - timedelta(hours=settings.DAILIES_IDEMPOTENCY_HOURS)
    IdempotencyKey.objects.filter(user=user, key=key, created_at__lt=expired).delete()
    IdempotencyKey.objects.filter(
        user=user, key=key, status_code__isnull=True, created_at__lt=now - IN_FLIGHT_STALE
    ).delete()
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(user=user, key=key, fingerprint=fingerprint), False
    except IntegrityError:
        pass
    record = IdempotencyKey.objects.filter(user=user, key=key).first()
    if record is None:  # released between our insert and this read: the client may retry
        raise IdempotencyConflict("A request with this Idempotency-Key just failed; retry.", 409)
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different request.", 422
        )
    if record.status_code is None:
        raise IdempotencyConflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.", 409
        )
    return record, True


def idempotency_finish(*, record: IdempotencyKey, status_code: int, response: dict) -> None:
    IdempotencyKey.objects.filter(pk=record.pk).update(status_code=status_code, response=response)


def idempotency_release(*, record: IdempotencyKey) -> None:
    IdempotencyKey.objects.filter(pk=record.pk, status_code__isnull=True).delete()
