"""A take's current verdict: its latest review (by time, then id), denormalised onto the take as
`current_review` and `current_verdict` so pages and rollups never search the history.

The rule lives here once. `review_record` and friends set it for one take; the manifest importer
sets it for thousands at once: for takes it creates, in the same INSERT (from `verdict_sql`), and
for takes that already existed, with `takes_current_refresh` (one statement)."""

from collections.abc import Iterable

from django.db import connection

from ..models import Review, Take
from ..models.reviews import JUDGEMENTS


def verdict_of(review_verdict: str | None) -> str:
    """What `current_verdict` holds for a latest review of this verdict: a judgement, or "" (a
    "clear" written by undo, or no review: unreviewed)."""
    return review_verdict if review_verdict in JUDGEMENTS else ""


def verdict_sql(column: str) -> str:
    """`verdict_of` as a SQL expression over a review-verdict column."""
    judgements = ", ".join(f"'{v}'" for v in JUDGEMENTS)
    return f"CASE WHEN {column} IN ({judgements}) THEN {column} ELSE '' END"


def take_current_set(*, take: Take, review: Review | None) -> None:
    """`review` is known to be the take's latest (or None: no review left)."""
    take.current_review = review
    take.current_verdict = verdict_of(review.verdict if review else None)
    take.save(update_fields=["current_review", "current_verdict"])


def take_current_refresh(*, take: Take) -> None:
    """Find the take's latest review and make it current."""
    take_current_set(take=take, review=take.reviews.order_by("-created_at", "-id").first())


def takes_current_refresh(*, take_ids: Iterable[int]) -> int:
    """Set-based `take_current_refresh` for many takes; returns how many changed. On
    PostgreSQL one UPDATE … FROM (DISTINCT ON); elsewhere one read and one bulk update."""
    ids = sorted(set(take_ids))
    if not ids:
        return 0
    take_t, review_t = Take._meta.db_table, Review._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                f"""
                UPDATE {take_t} t
                SET current_review_id = latest.id, current_verdict = {verdict_sql("latest.verdict")}
                FROM (
                    SELECT DISTINCT ON (r.take_id) r.take_id, r.id, r.verdict
                    FROM {review_t} r WHERE r.take_id = ANY(%s)
                    ORDER BY r.take_id, r.created_at DESC, r.id DESC
                ) latest
                WHERE t.id = latest.take_id AND t.current_review_id IS DISTINCT FROM latest.id
                """,
                [ids],
            )
            return cur.rowcount
    latest: dict[int, tuple] = {}
    for review_id, take_id, at, verdict in Review.objects.filter(take_id__in=ids).values_list(
        "id", "take_id", "created_at", "verdict"
    ):
        if take_id not in latest or (at, review_id) > latest[take_id][:2]:
            latest[take_id] = (at, review_id, verdict)
    updates = [
        Take(pk=take_id, current_review_id=review_id, current_verdict=verdict_of(verdict))
        for take_id, (_at, review_id, verdict) in latest.items()
    ]
    Take.objects.bulk_update(updates, ["current_review", "current_verdict"], batch_size=500)
    return len(updates)
