"""Shots and prompt versions for the COPY writer's chunks: made where missing, found where
stored, each version inserted with its parent already set.

Per chunk, one `INSERT … ON CONFLICT DO NOTHING` gives the shots' ids (existing ones read FOR
KEY SHARE in the same statement). Versions: stored ones are looked up, new ones get ids drawn
from the sequence first, so a parent in the same chunk is known before either row exists; a
parent that arrives in a later chunk is linked at the end (`link_pending`).

Stored rows are read one index probe per key (`CROSS JOIN LATERAL`), never by a join the
planner may choose to hash: during a bulk load the statistics lag, and a hash join read the
whole shot table for every chunk (1M takes: 26 s of the import in lookups, growing per chunk)."""

import json

from django.db import connection
from django.db.models import JSONField

from ..models import PromptVersion, Shot
from .feed import PARENT, PROJECT, PROMPT, SHOT, VERSION

CHANGE_NOTE = "Imported from a manifest"


def defaults(model, given: tuple[str, ...]) -> tuple[tuple[str, ...], tuple]:
    """The model's other NOT NULL columns and their Python defaults as COPY values (Django's
    defaults are not database defaults), so a migration that adds a field keeps COPY working."""
    columns, values = [], []
    for f in model._meta.concrete_fields:
        if f.column in given or f.primary_key or f.null:
            continue
        default = f.get_default()
        if default is None:
            continue
        columns.append(f.column)
        if isinstance(f, JSONField):
            values.append(json.dumps(default))
        else:
            values.append(f.get_db_prep_save(default, connection))
    return tuple(columns), tuple(values)


def ints(values) -> str:
    """A bigint[]/int[] literal: psycopg adapts a list element by element in Python, which
    costs more than the statement for the few thousand values of a chunk."""
    return "{" + ",".join(map(str, values)) + "}"


def texts(values) -> str:
    """A text[] literal (the parser has refused NUL bytes; quotes and backslashes escaped)."""
    return (
        "{"
        + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
        + "}"
    )


class Lineage:
    def __init__(self, cur, *, now, pids: dict[str, int]):
        self.cur, self.now, self.pids = cur, now, pids
        self.shot_t, self.version_t = Shot._meta.db_table, PromptVersion._meta.db_table
        self.shot_defaults = defaults(Shot, ("project_id", "name", "created_at"))
        self.version_defaults = defaults(
            PromptVersion,
            ("id", "shot_id", "number", "text", "negative_prompt", "parameters", "change_note")
            + ("created_at", "parent_id"),
        )
        cur.execute("SELECT pg_get_serial_sequence(%s, 'id')", [self.version_t])
        self.version_seq = cur.fetchone()[0]
        self.pending: list[tuple[int, int, int]] = []  # (shot, version, parent) not arrived yet

    def link_pending(self) -> None:
        """Link the versions whose parent arrived in a later chunk (or never: left unset)."""
        self.link(self.pending)
        self.pending = []

    def _upsert(self, sql: str, params: list, keys: list[tuple], fetch_missing: str) -> dict:
        """Run an INSERT … ON CONFLICT DO NOTHING that returns (id, *key) for the rows it made and
        the ones that were there; keys a concurrent writer committed meanwhile are read again."""
        self.cur.execute(sql, params)
        found = {tuple(row[1:]): row[0] for row in self.cur.fetchall()}
        missing = [k for k in keys if k not in found]
        if missing:
            columns = list(zip(*missing, strict=True))
            self.cur.execute(
                fetch_missing,
                [ints(c) if isinstance(c[0], int) else texts(c) for c in columns],
            )
            found.update({tuple(row[1:]): row[0] for row in self.cur.fetchall()})
        return found

    def shots(self, chunk: list[tuple]) -> dict[tuple[int, str], int]:
        pids = self.pids
        keys = sorted({(pids[r[PROJECT]], r[SHOT]) for r in chunk})
        columns, values = self.shot_defaults
        extra = "".join(f", {c}" for c in columns)
        wanted = "SELECT * FROM unnest(%s::bigint[], %s::text[]) AS w(project_id, name)"
        return self._upsert(
            f"""
            WITH wanted AS ({wanted}),
            made AS (
                INSERT INTO {self.shot_t} (project_id, name, created_at{extra})
                SELECT project_id, name, %s{", %s" * len(values)} FROM wanted
                ON CONFLICT (project_id, name) DO NOTHING
                RETURNING id, project_id, name
            ),
            stored AS (
                SELECT s.* FROM wanted w CROSS JOIN LATERAL (
                    SELECT s.id, s.project_id, s.name FROM {self.shot_t} s
                    WHERE s.project_id = w.project_id AND s.name = w.name FOR KEY SHARE
                ) s
            )
            SELECT id, project_id, name FROM made UNION ALL SELECT * FROM stored
            """,
            [ints(k[0] for k in keys), texts(k[1] for k in keys), self.now, *values],
            keys,
            f"""SELECT s.id, s.project_id, s.name FROM {self.shot_t} s
                JOIN ({wanted}) w ON w.project_id = s.project_id AND w.name = s.name""",
        )

    def versions(self, chunk: list[tuple], shots: dict) -> dict[tuple[int, int], int]:
        """Each version from its first line, inserted with its parent (named by its first line
        that names one) already set: ids are drawn first, so a parent in the same chunk is
        known before either row exists. A parent that has not arrived is linked at the end."""
        first: dict[tuple[int, int], tuple] = {}  # the chunk's first line of each version
        links: dict[tuple[int, int], int] = {}
        pids = self.pids
        for r in chunk:
            key = (shots[(pids[r[PROJECT]], r[SHOT])], r[VERSION])
            if r[PROMPT] is not None:  # feed.py sends the prompt on that line only
                first.setdefault(key, r)
            if r[PARENT]:
                links.setdefault(key, r[PARENT])
        keys = sorted(first)
        outside = sorted({(s, p) for (s, _), p in links.items()} - first.keys())
        look = keys + outside
        self.cur.execute(
            f"""
            SELECT v.* FROM unnest(%s::bigint[], %s::int[]) AS w(shot_id, number)
            CROSS JOIN LATERAL (
                SELECT v.id, v.shot_id, v.number, v.parent_id FROM {self.version_t} v
                WHERE v.shot_id = w.shot_id AND v.number = w.number FOR KEY SHARE
            ) v
            """,
            [ints(k[0] for k in look), ints(k[1] for k in look)],
        )
        found, unlinked = {}, set()
        for version_id, shot_id, number, parent_id in self.cur.fetchall():
            found[(shot_id, number)] = version_id
            if parent_id is None:
                unlinked.add((shot_id, number))
        new = [k for k in keys if k not in found]
        fresh = set(new)
        if new:
            self.cur.execute(
                "SELECT ARRAY(SELECT nextval(%s::regclass) FROM generate_series(1, %s))",
                [self.version_seq, len(new)],
            )
            found.update(zip(new, self.cur.fetchone()[0], strict=True))
        relink = []
        for key, parent_number in links.items():
            if key in unlinked or key in fresh:
                parent = found.get((key[0], parent_number))
                if parent is None:
                    self.pending.append((*key, parent_number))
                elif key in unlinked:
                    relink.append((*key, parent_number))
        if new:
            self._insert(new, first, links, found)
        if relink:  # stored without a parent, whose parent is stored now
            self.link(relink)
        return found

    def _insert(self, new, first, links, found) -> None:
        columns, values = self.version_defaults
        extra = "".join(f", {c}" for c in columns)
        prompts = [first[k][PROMPT] for k in new]  # (prompt, negative prompt, parameters)
        parents = [
            found.get((k[0], links[k])) if k in links else None for k in new
        ]  # None: no parent, or one still to come
        self.cur.execute(
            f"""
            INSERT INTO {self.version_t} (id, shot_id, number, text, negative_prompt,
                parameters, change_note, created_at, parent_id{extra})
            SELECT id, shot_id, number, text, negative_prompt, parameters::jsonb, %s, %s,
                parent_id{", %s" * len(values)}
            FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::text[], %s::text[],
                %s::text[], %s::bigint[])
                AS w(id, shot_id, number, text, negative_prompt, parameters, parent_id)
            ORDER BY number
            """,
            [
                CHANGE_NOTE,
                self.now,
                *values,
                ints(found[k] for k in new),
                ints(k[0] for k in new),
                ints(k[1] for k in new),
                texts(p[0] for p in prompts),
                texts(p[1] for p in prompts),
                texts(p[2] for p in prompts),
                "{" + ",".join("NULL" if p is None else str(p) for p in parents) + "}",
            ],
        )

    def link(self, links: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
        """Set parent_id where it is unset; returns the links whose parent is not stored (yet:
        a file may list a child before its parent, so these are tried again at the end)."""
        if not links:
            return []
        self.cur.execute(
            f"""
            WITH link AS (
                SELECT * FROM unnest(%s::bigint[], %s::int[], %s::int[])
                    AS l(shot_id, number, parent)
            ),
            parent AS (
                SELECT p.id, link.shot_id, link.number FROM link JOIN {self.version_t} p
                    ON p.shot_id = link.shot_id AND p.number = link.parent
                FOR KEY SHARE OF p
            ),
            linked AS (
                UPDATE {self.version_t} pv SET parent_id = parent.id FROM parent
                WHERE pv.shot_id = parent.shot_id AND pv.number = parent.number
                    AND pv.parent_id IS NULL
                RETURNING 1
            )
            SELECT l.shot_id, l.number, l.parent FROM link l
            WHERE NOT EXISTS (SELECT 1 FROM {self.version_t} parent
                WHERE parent.shot_id = l.shot_id AND parent.number = l.parent)
            """,
            [ints(col) for col in zip(*links, strict=True)],
        )
        return [tuple(row) for row in self.cur.fetchall()]
