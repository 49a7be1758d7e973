"""The API's take listing: the review queue's filters, keyset (cursor) pagination."""

from datetime import datetime

from ..models import Review, Take, Verdict
from ..models.reviews import JUDGEMENTS
from .queue import _filtered as queue_filtered

PAGE_MAX = 200


def _after(qs, cursor: tuple[datetime, int] | None):
    if cursor is None:
        return qs
    at, pk = cursor
    # (created_at, id) > cursor, written so the index range starts at created_at >= at.
    return qs.filter(created_at__gte=at).exclude(created_at=at, id__lte=pk)


def takes_page(
    *, project, filters, cursor: tuple[datetime, int] | None = None, limit: int = 50
) -> tuple[list[Take], tuple[datetime, int] | None]:
    """One page of a project's takes, oldest first, after `cursor` (the last (created_at, id)
    seen), and the cursor of the next page (None at the end). Filters are the review queue's
    (selectors.queue.QueueFilters). One LIMITed walk of the (project, current_verdict,
    created_at, id) index per verdict, merged here, then one fetch and one query for the tags:
    the same few queries at a thousand takes or a million."""
    limit = max(1, min(limit, PAGE_MAX))
    base = _after(queue_filtered(project=project, filters=filters), cursor)
    if filters.unreviewed or filters.verdict == "unreviewed":
        verdicts = [""]
    elif filters.verdict:
        verdicts = [filters.verdict]
    else:
        verdicts = ["", *JUDGEMENTS]
    keys = sorted(
        row
        for verdict in verdicts
        for row in base.filter(current_verdict=verdict)
        .order_by("created_at", "id")
        .values_list("created_at", "id")[: limit + 1]
    )
    more = len(keys) > limit
    keys = keys[:limit]
    by_id = (
        Take.objects.select_related("shot", "prompt_version")
        .defer("provenance_manifest", "provenance_actions", "flicker_series")
        .in_bulk([pk for _at, pk in keys])
    )
    takes = [by_id[pk] for _at, pk in keys if pk in by_id]
    for take in takes:
        take.project = project  # their URLs need the slug: no query per take
    attach_current_tags(takes)
    return takes, (keys[-1] if more and keys else None)


def attach_current_tags(takes: list[Take]) -> None:
    """Set `current_tags` (slugs) on each take: the tags of its current verdict if a reject."""
    through = Review.failure_tags.through
    review_ids = [t.current_review_id for t in takes if t.current_verdict == Verdict.REJECT]
    tags: dict[int, list[str]] = {}
    if review_ids:
        for review_id, slug in (
            through.objects.filter(review_id__in=review_ids)
            .order_by("failuretag__position", "failuretag__slug")
            .values_list("review_id", "failuretag__slug")
        ):
            tags.setdefault(review_id, []).append(slug)
    for take in takes:
        take.current_tags = (
            tags.get(take.current_review_id, []) if take.current_verdict == Verdict.REJECT else []
        )
