"""Celery tasks: thin interfaces over services. They take ids, return early when the row is
gone, are safe to run twice, and never leave a row stuck in 'processing'."""

from .media import take_process_media, takes_requeue_stuck
from .rollups import rollups_refresh

__all__ = ["rollups_refresh", "take_process_media", "takes_requeue_stuck"]
