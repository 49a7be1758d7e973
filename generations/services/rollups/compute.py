"""Rollup rows computed from scratch with grouped queries: one GROUP BY per dimension over the
project's takes, no loop over takes. This is the reference every other path must equal."""

from datetime import UTC
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from ...models import Dimension, FailureTag, Review, Take, Verdict
from ...models.reviews import JUDGEMENTS
from .types import VALUE_FIELDS, Progress, RowKey


def _take_stats(qs, *group_by: str):
    return qs.values(*group_by).annotate(
        n_takes=Count("id"),
        n_reviewed=Count("id", filter=Q(current_verdict__in=JUDGEMENTS)),
        n_accepted=Count("id", filter=Q(current_verdict=Verdict.ACCEPT)),
        spend=Sum("cost_usd"),
        seconds=Sum("duration_s", filter=Q(current_verdict=Verdict.ACCEPT)),
    )


def _row(dimension: str, key, key2="", label="", **values) -> tuple[RowKey, dict]:
    data = dict.fromkeys(VALUE_FIELDS, 0)
    data["label"] = str(label or key)[:300]
    data["spend_usd"] = Decimal("0")
    data["accepted_seconds"] = Decimal("0")
    data.update(values)
    return (dimension, str(key), str(key2)), data


def _from_group(g: dict) -> dict:
    return {
        "takes": g["n_takes"],
        "reviewed": g["n_reviewed"],
        "accepted": g["n_accepted"],
        "spend_usd": g["spend"] or Decimal("0"),
        "accepted_seconds": g["seconds"] or Decimal("0"),
    }


def _add(into: dict, values: dict) -> None:
    for field in ("takes", "reviewed", "accepted", "spend_usd", "accepted_seconds"):
        into[field] += values[field]


# Agreement without a self-join: per take, count the latest judgement of each reviewer and how
# many accepted; a reviewer then agrees with (same verdict count − 1) of the (n − 1) others.
_AGREEMENT_SQL = """
WITH judged AS (
    SELECT take_id, reviewer_id, verdict FROM (
        SELECT r.take_id, r.reviewer_id, r.verdict,
               ROW_NUMBER() OVER (PARTITION BY r.take_id, r.reviewer_id
                                  ORDER BY r.created_at DESC, r.id DESC) AS rn
        FROM {review} r JOIN {take} t ON t.id = r.take_id
        WHERE t.project_id = %s AND r.verdict IN ('accept', 'reject')
    ) ranked WHERE rn = 1
), per_take AS (
    SELECT take_id, COUNT(*) AS n, SUM(CASE WHEN verdict = 'accept' THEN 1 ELSE 0 END) AS acc
    FROM judged GROUP BY take_id HAVING COUNT(*) > 1
)
SELECT j.reviewer_id, SUM(p.n - 1),
       SUM(CASE WHEN j.verdict = 'accept' THEN p.acc - 1 ELSE p.n - p.acc - 1 END)
FROM judged j JOIN per_take p ON p.take_id = j.take_id
GROUP BY j.reviewer_id
"""

_PAIRS_SQL = """
SELECT a.failuretag_id, b.failuretag_id, COUNT(*)
FROM {take} t
JOIN {through} a ON a.review_id = t.current_review_id
JOIN {through} b ON b.review_id = t.current_review_id AND a.failuretag_id < b.failuretag_id
WHERE t.project_id = %s AND t.current_verdict = 'reject'
GROUP BY a.failuretag_id, b.failuretag_id
"""


def _steps(project_id: int):
    """(name, function returning rows) per dimension, in the order a progress bar shows them."""
    takes = Take.objects.filter(project_id=project_id).order_by()
    rejected = takes.filter(
        current_verdict=Verdict.REJECT, current_review__failure_tags__isnull=False
    )
    tag_slug = "current_review__failure_tags__slug"

    def versions():
        rows, shots = [], {}
        for g in _take_stats(
            takes, "prompt_version_id", "prompt_version__number", "shot_id", "shot__name"
        ):
            values = _from_group(g)
            label = f"{g['shot__name']} v{g['prompt_version__number']}"
            rows.append(
                _row(Dimension.VERSION, g["prompt_version_id"], g["shot_id"], label, **values)
            )
            shot = shots.setdefault(
                g["shot_id"], _row(Dimension.SHOT, g["shot_id"], "", g["shot__name"])
            )
            _add(shot[1], values)
        return rows + list(shots.values())

    def models():
        rows = []
        total = _row(Dimension.PROJECT, "")
        for g in _take_stats(takes, "model"):
            values = _from_group(g)
            rows.append(_row(Dimension.MODEL, g["model"], **values))
            _add(total[1], values)
        return [*rows, total]

    def passes():
        return [
            _row(Dimension.PASS, g["pass_number"], **_from_group(g))
            for g in _take_stats(takes, "pass_number")
        ]

    def days():
        day = TruncDate("created_at", tzinfo=UTC)
        return [
            _row(Dimension.DAY, g["day"].isoformat(), **_from_group(g))
            for g in _take_stats(takes.annotate(day=day), "day")
        ]

    def tags():
        rows, overall = [], {}
        for dimension, field in (
            (Dimension.TAG_MODEL, "model"),
            (Dimension.TAG_PASS, "pass_number"),
            (Dimension.TAG_SHOT, "shot__name"),
        ):
            for g in rejected.values(tag_slug, field).annotate(n=Count("id")):
                rows.append(_row(dimension, g[tag_slug], g[field], g[tag_slug], takes=g["n"]))
                if dimension == Dimension.TAG_MODEL:  # a take has one model: sums are exact
                    overall[g[tag_slug]] = overall.get(g[tag_slug], 0) + g["n"]
        names = dict(FailureTag.objects.filter(slug__in=overall).values_list("slug", "name"))
        rows += [
            _row(Dimension.TAG, slug, "", names.get(slug, slug), takes=n)
            for slug, n in overall.items()
        ]
        return rows

    def tag_pairs():
        sql = _PAIRS_SQL.format(
            take=Take._meta.db_table, through=Review.failure_tags.through._meta.db_table
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [project_id])
            found = cursor.fetchall()
        ids = {i for a, b, _ in found for i in (a, b)}
        slugs = dict(FailureTag.objects.filter(pk__in=ids).values_list("pk", "slug"))
        rows = []
        for a, b, n in found:
            first, second = sorted((slugs[a], slugs[b]))
            rows.append(_row(Dimension.TAG_PAIR, first, second, f"{first} + {second}", takes=n))
        return rows

    def reviewers():
        rows = {}
        judged = Review.objects.filter(
            take__project_id=project_id, verdict__in=JUDGEMENTS
        ).order_by()
        for g in judged.values("reviewer_id", "reviewer__email", "reviewer__username").annotate(
            n=Count("id"), ok=Count("id", filter=Q(verdict=Verdict.ACCEPT))
        ):
            label = g["reviewer__email"] or g["reviewer__username"]
            rows[g["reviewer_id"]] = _row(
                Dimension.REVIEWER, g["reviewer_id"], "", label, reviewed=g["n"], accepted=g["ok"]
            )
        sql = _AGREEMENT_SQL.format(review=Review._meta.db_table, take=Take._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(sql, [project_id])
            for reviewer_id, pairs, agreed in cursor.fetchall():
                if reviewer_id in rows:
                    rows[reviewer_id][1].update(pairs=pairs, agreed=int(agreed or 0))
        return list(rows.values())

    return [
        ("prompt versions and shots", versions),
        ("models", models),
        ("passes", passes),
        ("days", days),
        ("failure tags", tags),
        ("tags together", tag_pairs),
        ("reviewers", reviewers),
    ]


def rollups_compute(*, project_id: int, progress: Progress | None = None) -> dict[RowKey, dict]:
    """Every rollup row of a project, from the current data (reads only)."""
    rows: dict[RowKey, dict] = {}
    steps = _steps(project_id)
    for i, (name, step) in enumerate(steps):
        if progress:
            progress(int(100 * i / (len(steps) + 1)), f"Computing {name}…")
        rows.update(step())
    if progress:
        progress(int(100 * len(steps) / (len(steps) + 1)), "Writing rows…")
    return rows
