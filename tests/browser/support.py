"""Helpers shared by the review tests (test client and browser)."""

from generations.models import FailureTag
from generations.taxonomy import FAILURE_TAGS


def seed_taxonomy() -> None:
    """The taxonomy comes from a data migration; a transactional test before ours (live server,
    worker) flushes it. Put it back, idempotently, as the migration does."""
    if FailureTag.objects.count() >= len(FAILURE_TAGS):
        return
    for position, (slug, name, group, definition, benchmark, remediation) in enumerate(
        FAILURE_TAGS, start=1
    ):
        FailureTag.objects.update_or_create(
            slug=slug,
            defaults={
                "name": name,
                "group": group,
                "definition": definition,
                "benchmark": benchmark,
                "remediation": remediation,
                "position": position,
            },
        )
