"""Webhook tasks: thin wrappers over generations.services.webhooks. They take a delivery id,
claim it with a conditional update (a redelivered message does nothing twice), and schedule
their own retries in the delivery row, so a failed send never raises into Celery."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from ..services import webhooks as services

log = logging.getLogger(__name__)

# The HTTP call is capped at SEND_TIMEOUT; the database work at the statement and lock
# timeouts of services.webhooks.delivery (5 s, 2 s): both well below the soft limit.
SEND_TIMEOUT = 10.0
SOFT_LIMIT = 45
TRANSIENT = (OperationalError, InterfaceError)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=TRANSIENT,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=5,
    soft_time_limit=SOFT_LIMIT,
    time_limit=SOFT_LIMIT + 15,
    ignore_result=True,
)
def webhook_deliver(self, delivery_id: int) -> str:
    try:
        return services.webhook_attempt(delivery_id=delivery_id, send_timeout=SEND_TIMEOUT)
    except SoftTimeLimitExceeded:
        # The claim goes stale and the dispatcher gives the delivery back within minutes.
        log.warning("webhook delivery %s hit the time limit", delivery_id)
        raise


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT,
    retry_backoff=5,
    max_retries=3,
    soft_time_limit=SOFT_LIMIT,
    ignore_result=True,
)
def webhooks_dispatch_due() -> int:
    """Beat, every minute: deliveries whose next attempt is due, and lost claims."""
    return services.webhooks_dispatch_due()
