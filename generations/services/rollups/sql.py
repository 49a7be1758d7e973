"""Every rollup row of a project in one PostgreSQL statement, generated from `rules.RULES`.

One scan per source: the takes with GROUPING SETS (all take dimensions at once), the rejected
takes' current tags with GROUPING SETS, the tag pairs, and the reviewers' judgements. Names
(shot, version, tag, reviewer) are joined after grouping, on the grouped rows only. The result
has the columns of a rollup row, so the full recompute writes it with `INSERT … SELECT`; no row
passes through Python.

Plans: every join is an equality on a primary key or on `project_id`, and the big inputs are
read by `project_id` (indexed), so without statistics the planner still picks hash joins or
index lookups; `rollups_plans` returns the EXPLAIN of each statement for the test on freshly
loaded tables, and the recompute analyzes tables whose statistics are missing or stale first."""

import re

from django.contrib.auth import get_user_model
from django.db import connection

from ...models import FailureTag, PromptVersion, Review, Shot, Take
from .rules import PAIRS, REVIEWERS, RULES, TAGS, TAKES, Rule

COLUMNS = (
    "dimension", "key", "key2", "label", "takes", "reviewed", "accepted", "spend_usd",
    "accepted_seconds", "pairs", "agreed",
)  # fmt: skip
# The grouped columns of each source, in GROUPING() argument order.
GROUPED = {
    TAKES: ("version_id", "shot_id", "model", "pass_number", "day"),
    TAGS: ("tag_id", "model", "pass_number", "shot_id"),
}
NUMBERS = {
    TAKES: "g.takes, g.reviewed, g.accepted, g.spend_usd, g.accepted_seconds, 0, 0",
    TAGS: "g.takes, 0, 0, 0, 0, 0, 0",
    PAIRS: "g.takes, 0, 0, 0, 0, 0, 0",
    REVIEWERS: "0, g.n, g.ok, 0, 0, g.pairs, g.agreed",
}
CTE = {TAKES: "tk", TAGS: "tg", PAIRS: "pr", REVIEWERS: "rv"}

_TAKES = """
tk AS (
    SELECT GROUPING({grouped}) AS gid, {grouped},
           COUNT(*) AS takes,
           COUNT(*) FILTER (WHERE current_verdict IN ('accept', 'reject')) AS reviewed,
           COUNT(*) FILTER (WHERE current_verdict = 'accept') AS accepted,
           COALESCE(SUM(cost_usd), 0) AS spend_usd,
           COALESCE(SUM(duration_s) FILTER (WHERE current_verdict = 'accept'), 0)
               AS accepted_seconds
    FROM (SELECT t.prompt_version_id AS version_id, t.shot_id, t.model, t.pass_number,
                 (t.created_at AT TIME ZONE 'UTC')::date AS day, t.current_verdict, t.cost_usd,
                 t.duration_s
          FROM {take} t WHERE t.project_id = %(project)s) t
    GROUP BY GROUPING SETS ({sets})
)"""

_TAGS = """
tg AS (
    SELECT GROUPING({grouped}) AS gid, {grouped}, COUNT(*) AS takes
    FROM (SELECT rt.failuretag_id AS tag_id, t.model, t.pass_number, t.shot_id
          FROM {take} t JOIN {through} rt ON rt.review_id = t.current_review_id
          WHERE t.project_id = %(project)s AND t.current_verdict = 'reject') t
    GROUP BY GROUPING SETS ({sets})
)"""

# Slugs ordered bytewise (COLLATE "C"), as Python's sorted() orders them in the ledger.
_PAIRS = """
pr AS (
    SELECT LEAST(fa.slug COLLATE "C", fb.slug COLLATE "C") AS first,
           GREATEST(fa.slug COLLATE "C", fb.slug COLLATE "C") AS second, COUNT(*) AS takes
    FROM {take} t
    JOIN {through} a ON a.review_id = t.current_review_id
    JOIN {through} b ON b.review_id = t.current_review_id AND a.failuretag_id < b.failuretag_id
    JOIN {tag} fa ON fa.id = a.failuretag_id
    JOIN {tag} fb ON fb.id = b.failuretag_id
    WHERE t.project_id = %(project)s AND t.current_verdict = 'reject'
    GROUP BY 1, 2
)"""

# Reviewer counts and agreement from one pass over the project's judgements (kind 'verdict');
# only takes judged by two or more reviewers go through the sort for "latest per reviewer".
# Agreement without a self-join: per take, count the latest judgement of each reviewer and how
# many accepted; a reviewer then agrees with (same verdict count − 1) of the (n − 1) others.
_REVIEWERS = """
base AS MATERIALIZED (
    SELECT r.id, r.take_id, r.reviewer_id, r.verdict, r.created_at
    FROM {review} r JOIN {take} t ON t.id = r.take_id
    WHERE t.project_id = %(project)s AND r.verdict IN ('accept', 'reject') AND r.kind = 'verdict'
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
), rv AS (
    SELECT c.reviewer_id, c.n, c.ok, COALESCE(a.pairs, 0) AS pairs,
           COALESCE(a.agreed, 0) AS agreed
    FROM (SELECT reviewer_id, COUNT(*) AS n, COUNT(*) FILTER (WHERE verdict = 'accept') AS ok
          FROM base GROUP BY reviewer_id) c
    LEFT JOIN agreement a ON a.reviewer_id = c.reviewer_id
)"""

_JOINS = (
    (re.compile(r"(?<![\w.])s\."), "JOIN {shot} s ON s.id = g.shot_id"),
    (re.compile(r"(?<![\w.])v\."), "JOIN {version} v ON v.id = g.version_id"),
    (re.compile(r"(?<![\w.])f\."), "JOIN {tag} f ON f.id = g.tag_id"),
    (re.compile(r"(?<![\w.])u\."), "LEFT JOIN {user} u ON u.id = g.reviewer_id"),
)


def _tables() -> dict[str, str]:
    return dict(
        take=Take._meta.db_table,
        through=Review.failure_tags.through._meta.db_table,
        tag=FailureTag._meta.db_table,
        shot=Shot._meta.db_table,
        version=PromptVersion._meta.db_table,
        review=Review._meta.db_table,
        user=get_user_model()._meta.db_table,
    )


def _gid(source: str, group: tuple[str, ...]) -> int:
    """GROUPING(...) of a rule's grouping set: a bit per column NOT grouped, first one highest."""
    columns = GROUPED[source]
    return sum(1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in group)


def _rule_select(rule: Rule) -> str:
    exprs = f"{rule.sql_key} {rule.sql_key2} {rule.sql_label}"
    joins = " ".join(join for pattern, join in _JOINS if pattern.search(exprs))
    where = f"WHERE g.gid = {_gid(rule.source, rule.group)}" if rule.source in GROUPED else ""
    label = f"LEFT(COALESCE(NULLIF({rule.sql_label}, ''), {rule.sql_key}), 300)"
    return (
        f"SELECT '{rule.dimension}', {rule.sql_key}, {rule.sql_key2}, {label}, "
        f"{NUMBERS[rule.source]} FROM {CTE[rule.source]} g {joins} {where}"
    )


def _sets(source: str) -> str:
    groups = {rule.group for rule in RULES if rule.source == source}
    ordered = sorted(groups, key=lambda group: (-len(group), group))
    return ", ".join(f"({', '.join(group)})" for group in ordered)


def rows_select() -> str:
    """SELECT every row (COLUMNS) of the project %(project)s."""
    ctes = [
        _TAKES.format(grouped=", ".join(GROUPED[TAKES]), sets=_sets(TAKES), **_tables()),
        _TAGS.format(grouped=", ".join(GROUPED[TAGS]), sets=_sets(TAGS), **_tables()),
        _PAIRS.format(**_tables()),
        _REVIEWERS.format(**_tables()),
    ]
    selects = "\nUNION ALL\n".join(_rule_select(rule).format(**_tables()) for rule in RULES)
    return "WITH " + ",".join(ctes) + "\n" + selects


def rows_fetch(project_id: int) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(rows_select(), {"project": project_id})
        return cursor.fetchall()


def rows_insert(table: str, project_id: int) -> int:
    """INSERT … SELECT every row into `table` (with COLUMNS); returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(COLUMNS)}) {rows_select()}", {"project": project_id}
        )
        return cursor.rowcount


def rollups_plans(*, project_id: int) -> dict[str, dict]:
    """EXPLAIN (FORMAT JSON) of the statements a full recompute runs on big tables, the rows
    and the ledger rebuild, with the planner settings it runs them with (tests check the plans
    on freshly loaded tables)."""
    import json

    from django.db import transaction

    from .guard import bulk_plans
    from .ledger import rebuild_select

    plans = {}
    with transaction.atomic(), bulk_plans(project_id), connection.cursor() as cursor:
        for name, sql in (("rows", rows_select()), ("ledger", rebuild_select())):
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", {"project": project_id})
            plan = cursor.fetchone()[0]
            plans[name] = (json.loads(plan) if isinstance(plan, str) else plan)[0]["Plan"]
    return plans
