"""Celery tasks: thin interfaces over services. They take ids, return early when the row is
gone, are safe to run twice, and never leave a row stuck in 'processing'."""

from .generation import (
    generation_cancel_remote,
    generation_poll,
    generation_submit,
    generations_reconcile,
)
from .imports import manifest_import_task, manifest_imports_reclaim
from .media import take_process_media, takes_requeue_stuck
from .rollups import (
    rollups_check,
    rollups_check_all,
    rollups_recompute,
    rollups_reconcile,
    rollups_refresh,
)
from .webhooks import webhook_deliver, webhooks_dispatch_due

__all__ = [
    "generation_cancel_remote",
    "generation_poll",
    "generation_submit",
    "generations_reconcile",
    "manifest_import_task",
    "manifest_imports_reclaim",
    "rollups_check",
    "rollups_check_all",
    "rollups_reconcile",
    "rollups_recompute",
    "rollups_refresh",
    "take_process_media",
    "takes_requeue_stuck",
    "webhook_deliver",
    "webhooks_dispatch_due",
]
