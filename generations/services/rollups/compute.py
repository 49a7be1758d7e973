"""Rollup rows computed from scratch with grouped queries: one GROUP BY per dimension over the
project's takes, no loop over takes. This is the reference every other path must equal."""

from datetime import UTC
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from ...models import (
    Dimension,
    FailureTag,
    PromptVersion,
    Review,
    ReviewKind,
    Shot,
    Take,
    Verdict,
)
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
# Reviewer rows count only judgements (kind 'verdict'): the reviews an undo or a bulk tag edit
# writes move the current verdict but are nobody's judgement.
_AGREEMENT_SQL = """
WITH judged AS (
    SELECT take_id, reviewer_id, verdict FROM (
        SELECT r.take_id, r.reviewer_id, r.verdict,
               ROW_NUMBER() OVER (PARTITION BY r.take_id, r.reviewer_id
                                  ORDER BY r.created_at DESC, r.id DESC) AS rn
        FROM {review} r JOIN {take} t ON t.id = r.take_id
        WHERE t.project_id = %s AND r.verdict IN ('accept', 'reject') AND r.kind = 'verdict'
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


# PostgreSQL: every take dimension in one scan (GROUPING SETS), ids only; names come after.
_TAKES_SQL = """
SELECT GROUPING(t.prompt_version_id), GROUPING(t.model), GROUPING(t.pass_number),
       t.prompt_version_id, t.shot_id, t.model, t.pass_number,
       (t.created_at AT TIME ZONE 'UTC')::date,
       COUNT(*), COUNT(*) FILTER (WHERE t.current_verdict IN ('accept', 'reject')),
       COUNT(*) FILTER (WHERE t.current_verdict = 'accept'), SUM(t.cost_usd),
       SUM(t.duration_s) FILTER (WHERE t.current_verdict = 'accept')
FROM {take} t WHERE t.project_id = %s
GROUP BY GROUPING SETS ((t.prompt_version_id, t.shot_id), (t.model), (t.pass_number),
                        ((t.created_at AT TIME ZONE 'UTC')::date))
"""

# PostgreSQL: the three failure-tag breakdowns in one scan of the rejected takes.
_TAGS_SQL = """
SELECT GROUPING(t.model), GROUPING(t.pass_number), f.slug, t.model, t.pass_number, s.name,
       COUNT(*)
FROM {take} t
JOIN {through} rt ON rt.review_id = t.current_review_id
JOIN {tag} f ON f.id = rt.failuretag_id
JOIN {shot} s ON s.id = t.shot_id
WHERE t.project_id = %s AND t.current_verdict = 'reject'
GROUP BY GROUPING SETS ((f.slug, t.model), (f.slug, t.pass_number), (f.slug, s.name))
"""


# PostgreSQL: reviewer counts and agreement from one pass over the project's judgements (kind
# 'verdict', as above); only takes judged by two or more reviewers go through the sort for
# "latest per reviewer".
_REVIEWERS_SQL = """
WITH base AS MATERIALIZED (
    SELECT r.id, r.take_id, r.reviewer_id, r.verdict, r.created_at
    FROM {review} r JOIN {take} t ON t.id = r.take_id
    WHERE t.project_id = %s AND r.verdict IN ('accept', 'reject') AND r.kind = 'verdict'
), multi AS (
    SELECT take_id FROM base GROUP BY take_id HAVING MIN(reviewer_id) <> MAX(reviewer_id)
), judged AS (
    SELECT DISTINCT ON (b.take_id, b.reviewer_id) b.take_id, b.reviewer_id, b.verdict
    FROM base b JOIN multi m ON m.take_id = b.take_id
    ORDER BY b.take_id, b.reviewer_id, b.created_at DESC, b.id DESC
), per_take AS (
    SELECT take_id, COUNT(*) AS n, COUNT(*) FILTER (WHERE verdict = 'accept') AS acc
    FROM judged GROUP BY take_id
), agreement AS (
    SELECT j.reviewer_id, SUM(p.n - 1) AS pairs,
           SUM(CASE WHEN j.verdict = 'accept' THEN p.acc - 1 ELSE p.n - p.acc - 1 END) AS agreed
    FROM judged j JOIN per_take p ON p.take_id = j.take_id
    GROUP BY j.reviewer_id
), counts AS (
    SELECT reviewer_id, COUNT(*) AS n, COUNT(*) FILTER (WHERE verdict = 'accept') AS ok
    FROM base GROUP BY reviewer_id
)
SELECT c.reviewer_id, c.n, c.ok, COALESCE(a.pairs, 0), COALESCE(a.agreed, 0)
FROM counts c LEFT JOIN agreement a ON a.reviewer_id = c.reviewer_id
"""


def _fetch(sql: str, project_id: int) -> list[tuple]:
    tables = dict(
        take=Take._meta.db_table,
        through=Review.failure_tags.through._meta.db_table,
        tag=FailureTag._meta.db_table,
        shot=Shot._meta.db_table,
        review=Review._meta.db_table,
    )
    with connection.cursor() as cursor:
        cursor.execute(sql.format(**tables), [project_id])
        return cursor.fetchall()


def _takes_in_one_scan(project_id: int) -> list:
    """Versions, shots, models, the total, passes and days: the rows of the ORM steps below."""
    groups = _fetch(_TAKES_SQL, project_id)
    version_ids = {g[3] for g in groups if g[0] == 0}
    names = {
        pk: (number, shot)
        for pk, number, shot in PromptVersion.objects.filter(pk__in=version_ids).values_list(
            "pk", "number", "shot__name"
        )
    }
    rows, shots = [], {}
    total = _row(Dimension.PROJECT, "")
    for by_version, by_model, by_pass, version, shot_id, model, pass_, day, *numbers in groups:
        n_takes, n_reviewed, n_accepted, spend, seconds = numbers
        values = {
            "takes": n_takes,
            "reviewed": n_reviewed,
            "accepted": n_accepted,
            "spend_usd": spend or Decimal("0"),
            "accepted_seconds": seconds or Decimal("0"),
        }
        if by_version == 0:
            number, shot_name = names[version]
            label = f"{shot_name} v{number}"
            rows.append(_row(Dimension.VERSION, version, shot_id, label, **values))
            shot = shots.setdefault(shot_id, _row(Dimension.SHOT, shot_id, "", shot_name))
            _add(shot[1], values)
        elif by_model == 0:
            rows.append(_row(Dimension.MODEL, model, **values))
            _add(total[1], values)
        elif by_pass == 0:
            rows.append(_row(Dimension.PASS, pass_, **values))
        else:
            rows.append(_row(Dimension.DAY, day.isoformat(), **values))
    return [*rows, *shots.values(), total]


def _tags_in_one_scan(project_id: int) -> list:
    rows, overall = [], {}
    for by_model, by_pass, slug, model, pass_, shot, n in _fetch(_TAGS_SQL, project_id):
        if by_model == 0:
            rows.append(_row(Dimension.TAG_MODEL, slug, model, slug, takes=n))
            overall[slug] = overall.get(slug, 0) + n  # a take has one model: sums are exact
        elif by_pass == 0:
            rows.append(_row(Dimension.TAG_PASS, slug, pass_, slug, takes=n))
        else:
            rows.append(_row(Dimension.TAG_SHOT, slug, shot, slug, takes=n))
    names = dict(FailureTag.objects.filter(slug__in=overall).values_list("slug", "name"))
    rows += [
        _row(Dimension.TAG, slug, "", names.get(slug, slug), takes=n) for slug, n in overall.items()
    ]
    return rows


def _reviewers_in_one_scan(project_id: int) -> list:
    found = _fetch(_REVIEWERS_SQL, project_id)
    people = {
        pk: email or username
        for pk, email, username in get_user_model()
        .objects.filter(pk__in=[g[0] for g in found])
        .values_list("pk", "email", "username")
    }
    return [
        _row(Dimension.REVIEWER, reviewer_id, "", people.get(reviewer_id, ""), reviewed=n,
             accepted=ok, pairs=int(pairs), agreed=int(agreed))
        for reviewer_id, n, ok, pairs, agreed in found
    ]  # fmt: skip


def _steps(project_id: int, portable: bool = False):
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
            take__project_id=project_id, verdict__in=JUDGEMENTS, kind=ReviewKind.VERDICT
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

    if connection.vendor == "postgresql" and not portable:
        return [
            ("takes by version, model, pass and day", lambda: _takes_in_one_scan(project_id)),
            ("failure tags", lambda: _tags_in_one_scan(project_id)),
            ("tags together", tag_pairs),
            ("reviewers", lambda: _reviewers_in_one_scan(project_id)),
        ]
    return [
        ("prompt versions and shots", versions),
        ("models", models),
        ("passes", passes),
        ("days", days),
        ("failure tags", tags),
        ("tags together", tag_pairs),
        ("reviewers", reviewers),
    ]


def rollups_compute(
    *, project_id: int, progress: Progress | None = None, portable: bool = False
) -> dict[RowKey, dict]:
    """Every rollup row of a project, from the current data (reads only). On PostgreSQL a few
    GROUPING SETS scans; `portable=True` runs the one-GROUP-BY-per-dimension ORM queries that
    other databases use (tests check both agree)."""
    rows: dict[RowKey, dict] = {}
    steps = _steps(project_id, portable)
    for i, (name, step) in enumerate(steps):
        if progress:
            progress(int(100 * i / (len(steps) + 1)), f"Computing {name}…")
        rows.update(step())
    if progress:
        progress(int(100 * len(steps) / (len(steps) + 1)), "Every dimension computed.")
    return rows
