"""Outgoing webhooks (Standard Webhooks): endpoints, the events writers announce, and signed
delivery with retries. See `delivery` for the design."""

from .delivery import (
    backoff_delay,
    backoff_schedule,
    max_attempts,
    sign_headers,
    webhook_attempt,
    webhook_redeliver,
    webhook_test_send,
    webhooks_deliveries_write,
    webhooks_dispatch_due,
    webhooks_emit,
    webhooks_enqueue,
    webhooks_listening,
)
from .endpoints import (
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_update,
)
from .events import (
    BUDGET_THRESHOLDS,
    webhooks_budget_check,
    webhooks_import_finished,
    webhooks_review_recorded,
    webhooks_reviews_recorded,
    webhooks_take_broken,
    webhooks_take_ready,
)

__all__ = [
    "BUDGET_THRESHOLDS",
    "backoff_delay",
    "backoff_schedule",
    "max_attempts",
    "sign_headers",
    "webhook_attempt",
    "webhook_endpoint_create",
    "webhook_endpoint_delete",
    "webhook_endpoint_rotate_secret",
    "webhook_endpoint_update",
    "webhook_redeliver",
    "webhook_test_send",
    "webhooks_budget_check",
    "webhooks_dispatch_due",
    "webhooks_deliveries_write",
    "webhooks_emit",
    "webhooks_enqueue",
    "webhooks_import_finished",
    "webhooks_listening",
    "webhooks_review_recorded",
    "webhooks_reviews_recorded",
    "webhooks_take_broken",
    "webhooks_take_ready",
]
