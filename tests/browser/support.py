"""Helpers shared by the review tests (test client and browser)."""

from generations.models import FailureTag, ModelPrice
from generations.taxonomy import FAILURE_TAGS, seed_provider_prices, seed_reference_data


def seed_taxonomy() -> None:
    """The taxonomy comes from a data migration; a transactional test before ours (live server,
    worker) flushes it. Put it back, idempotently, as the migration does."""
    if FailureTag.objects.count() >= len(FAILURE_TAGS):
        return
    seed_reference_data(FailureTag, ModelPrice)
    seed_provider_prices(ModelPrice)
