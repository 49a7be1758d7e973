"""The contributions ledger: what each take currently adds to its project's rollup rows.

Invariant: for every project, each RollupRow equals the sum of its takes' contributions. An
incremental refresh swaps the ledger entries of the changed takes (old out, new in, two
statements) and applies the difference to the rows; nothing it does scans the project.

A contribution mirrors the grouped queries of `compute._steps` exactly: take dimensions count
the take once, tag dimensions count a rejected take once per tag of its current review (and
once per pair of them), reviewer rows count every accept/reject review of kind `verdict` (a
reviewer's own judgement: not the reviews written by undo or a bulk tag edit), and agreement
counts the latest such judgement of each reviewer of the take against the other reviewers'
latest ones. The per-take `reviews` column holds only judgements, so `contribution_parts` needs
no filter of its own."""

import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import combinations

from django.db import connection

from ...models import (
    FailureTag,
    PromptVersion,
    Review,
    Shot,
    Take,
    TakeContribution,
    Verdict,
)
from ...models.reviews import JUDGEMENTS
from .rules import PAIRS, REVIEWERS, TAGS, TAKES, rules_of
from .types import RowKey

COLUMNS = (
    "take_id",
    "project_id",
    "shot_id",
    "shot_name",
    "version_id",
    "version_number",
    "model",
    "pass_number",
    "day",
    "verdict",
    "cost_usd",
    "duration_s",
    "tags",
    "reviews",
)

# One row per take, in COLUMNS order; the per-take subqueries use the take's own indexes, so
# filtering by take id costs a few index lookups per take.
_SELECT = """
SELECT t.id, t.project_id, t.shot_id, s.name, t.prompt_version_id, v.number, t.model,
       t.pass_number, (t.created_at AT TIME ZONE 'UTC')::date, t.current_verdict, t.cost_usd,
       t.duration_s,
       CASE WHEN t.current_verdict = 'reject' THEN COALESCE((
           SELECT jsonb_agg(f.slug ORDER BY f.slug)
           FROM {through} rt JOIN {tag} f ON f.id = rt.failuretag_id
           WHERE rt.review_id = t.current_review_id), '[]'::jsonb)
       ELSE '[]'::jsonb END,
       COALESCE((
           SELECT jsonb_object_agg(j.reviewer_id::text, jsonb_build_array(j.n, j.ok, j.latest))
           FROM (SELECT r.reviewer_id, COUNT(*) AS n,
                        COUNT(*) FILTER (WHERE r.verdict = 'accept') AS ok,
                        (ARRAY_AGG(r.verdict ORDER BY r.created_at DESC, r.id DESC))[1] AS latest
                 FROM {review} r
                 WHERE r.take_id = t.id AND r.verdict IN ('accept', 'reject')
                   AND r.kind = 'verdict'
                 GROUP BY r.reviewer_id) j), '{{}}'::jsonb)
FROM {take} t
JOIN {shot} s ON s.id = t.shot_id
JOIN {version} v ON v.id = t.prompt_version_id
WHERE {where}
"""


# The whole project at once: the same columns as _SELECT, with set-based joins instead of
# per-take subqueries (hash aggregates over the project's reviews and current tags).
_REBUILD = """
INSERT INTO {ledger} ({columns})
SELECT t.id, t.project_id, t.shot_id, s.name, t.prompt_version_id, v.number, t.model,
       t.pass_number, (t.created_at AT TIME ZONE 'UTC')::date, t.current_verdict, t.cost_usd,
       t.duration_s, COALESCE(tg.tags, '[]'::jsonb), COALESCE(rv.reviews, '{{}}'::jsonb)
FROM {take} t
JOIN {shot} s ON s.id = t.shot_id
JOIN {version} v ON v.id = t.prompt_version_id
LEFT JOIN (
    SELECT rt.review_id, jsonb_agg(f.slug ORDER BY f.slug) AS tags
    FROM {take} c
    JOIN {through} rt ON rt.review_id = c.current_review_id
    JOIN {tag} f ON f.id = rt.failuretag_id
    WHERE c.project_id = %(project)s AND c.current_verdict = 'reject'
    GROUP BY rt.review_id
) tg ON tg.review_id = t.current_review_id AND t.current_verdict = 'reject'
LEFT JOIN (
    SELECT j.take_id,
           jsonb_object_agg(j.reviewer_id::text, jsonb_build_array(j.n, j.ok, j.latest)) AS reviews
    FROM (SELECT r.take_id, r.reviewer_id, COUNT(*) AS n,
                 COUNT(*) FILTER (WHERE r.verdict = 'accept') AS ok,
                 (ARRAY_AGG(r.verdict ORDER BY r.created_at DESC, r.id DESC))[1] AS latest
          FROM {review} r JOIN {take} rt ON rt.id = r.take_id
          WHERE rt.project_id = %(project)s AND r.verdict IN ('accept', 'reject')
            AND r.kind = 'verdict'
          GROUP BY r.take_id, r.reviewer_id) j
    GROUP BY j.take_id
) rv ON rv.take_id = t.id
WHERE t.project_id = %(project)s
"""


def _sql(template: str, **extra) -> str:
    return template.format(
        ledger=TakeContribution._meta.db_table,
        columns=", ".join(COLUMNS),
        through=Review.failure_tags.through._meta.db_table,
        tag=FailureTag._meta.db_table,
        review=Review._meta.db_table,
        take=Take._meta.db_table,
        shot=Shot._meta.db_table,
        version=PromptVersion._meta.db_table,
        **extra,
    )


def rebuild_select() -> str:
    """The SELECT of the ledger rebuild (for EXPLAIN)."""
    sql = _sql(_REBUILD)
    return sql[sql.index("SELECT") :]


def ledger_rebuild(*, project_id: int) -> int:
    """Replace the project's ledger from the current data: two statements, no loop over takes,
    then ANALYZE the ledger (a bulk write: autovacuum may be off or late, and the incremental
    refresh looks entries up by take)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql("DELETE FROM {ledger} WHERE project_id = %s"), [project_id])
        cursor.execute(_sql(_REBUILD), {"project": project_id})
        written = cursor.rowcount
        cursor.execute(_sql("ANALYZE {ledger}"))
        return written


def ledger_swap(*, project_id: int, take_ids: list[int]) -> tuple[list[dict], list[dict]]:
    """Replace the ledger entries of these takes with their current contributions. Returns
    (old, new); a deleted take has an old entry and no new one."""
    with connection.cursor() as cursor:
        cursor.execute(
            _sql("DELETE FROM {ledger} WHERE take_id = ANY(%s::bigint[]) RETURNING {columns}"),
            [take_ids],
        )
        old = [_entry(row) for row in cursor.fetchall()]
        cursor.execute(
            _sql(
                "INSERT INTO {ledger} ({columns}) " + _SELECT + " RETURNING {columns}",
                where="t.id = ANY(%s::bigint[]) AND t.project_id = %s",
            ),
            [take_ids, project_id],
        )
        new = [_entry(row) for row in cursor.fetchall()]
    return old, new


def _entry(row) -> dict:
    entry = dict(zip(COLUMNS, row, strict=True))
    for field in ("tags", "reviews"):
        if isinstance(entry[field], str):  # Django hands jsonb to raw cursors as text
            entry[field] = json.loads(entry[field])
    return entry


# A contribution part: (row key, label or None when it needs a lookup, the NUMBERS it adds).
Part = tuple[RowKey, str | None, tuple]
ONE = (1, 0, 0, Decimal(0), Decimal(0), 0, 0)


def _part(rule, names: dict, numbers: tuple) -> Part:
    key, key2 = rule.key(names)
    return (rule.dimension, key, key2), None if rule.label_lookup else rule.label(names), numbers


def contribution_parts(entry: dict) -> Iterator[Part]:
    """What one take adds to each row, by the same rules (`rules.RULES`) as the grouped
    queries."""
    verdict = entry["verdict"]
    reviewed, accepted = int(verdict in JUDGEMENTS), int(verdict == Verdict.ACCEPT)
    seconds = (entry["duration_s"] or Decimal(0)) if accepted else Decimal(0)
    take = (1, reviewed, accepted, entry["cost_usd"], seconds, 0, 0)
    names = {
        "version_id": entry["version_id"],
        "version_number": entry["version_number"],
        "shot_id": entry["shot_id"],
        "shot_name": entry["shot_name"],
        "model": entry["model"],
        "pass_number": entry["pass_number"],
        "day": entry["day"],
    }
    for rule in rules_of(TAKES):
        yield _part(rule, names, take)
    tags = sorted(entry["tags"]) if verdict == Verdict.REJECT else []
    for slug in tags:
        for rule in rules_of(TAGS):
            yield _part(rule, {**names, "tag_slug": slug, "tag_name": None}, ONE)
    for first, second in combinations(tags, 2):
        for rule in rules_of(PAIRS):
            yield _part(rule, {"first": first, "second": second}, ONE)
    judged = entry["reviews"]
    n = len(judged)
    agreeing = sum(1 for _, _, latest in judged.values() if latest == Verdict.ACCEPT)
    for reviewer_id, (count, ok, latest) in judged.items():
        pairs = agreed = 0
        if n > 1:
            pairs = n - 1
            agreed = agreeing - 1 if latest == Verdict.ACCEPT else n - agreeing - 1
        for rule in rules_of(REVIEWERS):
            yield _part(rule, {"reviewer_id": reviewer_id}, (0, count, ok, 0, 0, pairs, agreed))


def contribution_delta(
    old: Iterable[dict], new: Iterable[dict]
) -> tuple[dict[RowKey, list], dict[RowKey, str | None]]:
    """Per row: the NUMBERS to add (new minus old), and the labels the new contributions give."""
    delta: dict[RowKey, list] = {}
    labels: dict[RowKey, str | None] = {}
    for entries, sign in ((old, -1), (new, 1)):
        for entry in entries:
            for key, label, numbers in contribution_parts(entry):
                into = delta.setdefault(key, [0, 0, 0, Decimal(0), Decimal(0), 0, 0])
                for i, value in enumerate(numbers):
                    into[i] += sign * value
                if sign > 0:
                    labels[key] = label
    return delta, labels
