"""The counting rules of SPEC §4 as one table: every rollup dimension, what it groups, how its
key and label are made. The three ways rows are computed all derive from this table:

- `sql`: the PostgreSQL statement that computes every row in one pass per source and inserts
  them set-based (`INSERT … SELECT`), for the full recompute;
- `compute`'s portable path: one ORM `values().annotate()` per dimension (SQLite, and the tests'
  second opinion);
- `ledger`: what one take contributes to each row, for the incremental refresh.

Each rule says its key in both languages side by side (an SQL expression over the grouped
columns, and a Python function over the same names), so a change to a rule is one line here.

Sources, and the numbers their rows carry (the other numbers are zero):
- TAKES: the project's takes; takes, reviewed (current verdict accept or reject), accepted,
  spend_usd (every take), accepted_seconds (accepted takes).
- TAGS: rejected takes × the failure tags of their current review; takes.
- PAIRS: rejected takes × each pair of those tags (slugs in order); takes.
- REVIEWERS: each reviewer's own judgements (reviews of kind `verdict`); reviewed, accepted,
  and agreement with the other reviewers of the same takes (pairs, agreed)."""

from collections.abc import Callable
from dataclasses import dataclass

from ...models import Dimension

TAKES, TAGS, PAIRS, REVIEWERS = "takes", "tags", "pairs", "reviewers"

# A grouped row as both sides see it: column name -> value. SQL groups the take columns and
# joins names after grouping; Python gets the same names from the ORM or a ledger entry.
#   version_id, version_number, shot_id, shot_name, model, pass_number, day (a date),
#   tag_slug, tag_name
Names = dict


@dataclass(frozen=True)
class Rule:
    dimension: str
    source: str
    # The take columns grouped (SQL GROUPING SETS and ORM values()), in the source's vocabulary.
    group: tuple[str, ...]
    # SQL expressions over the grouped CTE `g` and the joined names (s: shot, v: version,
    # f: failure tag): key, key2, label.
    sql_key: str
    sql_key2: str
    sql_label: str
    # The same in Python, over Names.
    key: Callable[[Names], tuple[str, str]]
    label: Callable[[Names], str]
    # The ledger has no tag names or reviewer e-mails: their labels are looked up on write.
    label_lookup: bool = False


def _version_label(n: Names) -> str:
    return f"{n['shot_name']} v{n['version_number']}"


RULES: tuple[Rule, ...] = (
    Rule(Dimension.PROJECT, TAKES, (), "''", "''", "''",
         lambda n: ("", ""), lambda n: ""),
    Rule(Dimension.SHOT, TAKES, ("shot_id",), "g.shot_id::text", "''", "s.name",
         lambda n: (str(n["shot_id"]), ""), lambda n: n["shot_name"]),
    Rule(Dimension.VERSION, TAKES, ("version_id", "shot_id"), "g.version_id::text",
         "g.shot_id::text", "s.name || ' v' || v.number",
         lambda n: (str(n["version_id"]), str(n["shot_id"])), _version_label),
    Rule(Dimension.MODEL, TAKES, ("model",), "g.model", "''", "g.model",
         lambda n: (n["model"], ""), lambda n: n["model"]),
    Rule(Dimension.PASS, TAKES, ("pass_number",), "g.pass_number::text", "''",
         "g.pass_number::text",
         lambda n: (str(n["pass_number"]), ""), lambda n: str(n["pass_number"])),
    Rule(Dimension.DAY, TAKES, ("day",), "to_char(g.day, 'YYYY-MM-DD')", "''",
         "to_char(g.day, 'YYYY-MM-DD')",
         lambda n: (n["day"].isoformat(), ""), lambda n: n["day"].isoformat()),
    Rule(Dimension.TAG, TAGS, ("tag_id",), "f.slug", "''", "COALESCE(NULLIF(f.name, ''), f.slug)",
         lambda n: (n["tag_slug"], ""), lambda n: n["tag_name"] or n["tag_slug"], True),
    Rule(Dimension.TAG_MODEL, TAGS, ("tag_id", "model"), "f.slug", "g.model", "f.slug",
         lambda n: (n["tag_slug"], n["model"]), lambda n: n["tag_slug"]),
    Rule(Dimension.TAG_PASS, TAGS, ("tag_id", "pass_number"), "f.slug", "g.pass_number::text",
         "f.slug",
         lambda n: (n["tag_slug"], str(n["pass_number"])), lambda n: n["tag_slug"]),
    Rule(Dimension.TAG_SHOT, TAGS, ("tag_id", "shot_id"), "f.slug", "s.name", "f.slug",
         lambda n: (n["tag_slug"], n["shot_name"]), lambda n: n["tag_slug"]),
    Rule(Dimension.TAG_PAIR, PAIRS, (), "g.first", "g.second", "g.first || ' + ' || g.second",
         lambda n: (n["first"], n["second"]), lambda n: f"{n['first']} + {n['second']}"),
    Rule(Dimension.REVIEWER, REVIEWERS, (), "g.reviewer_id::text", "''",
         "COALESCE(NULLIF(u.email, ''), NULLIF(u.username, ''), g.reviewer_id::text)",
         lambda n: (str(n["reviewer_id"]), ""), lambda n: n["reviewer_label"], True),
)  # fmt: skip
BY_DIMENSION = {rule.dimension: rule for rule in RULES}


def rules_of(source: str) -> tuple[Rule, ...]:
    return tuple(rule for rule in RULES if rule.source == source)
