"""PostgreSQL's writer: records COPYed straight into their tables, a chunk at a time.

Per chunk, a few set-based statements resolve what the rows point to: shots (`INSERT … ON
CONFLICT DO NOTHING` with the ids back in the same statement), prompt versions (ids drawn first,
so each is inserted with its parent already set), and, for a project that had takes before,
which takes exist (one indexed lookup). Then take and review ids are drawn from their sequences
and the takes (with their current verdict already set), reviews, tag links and notes go in by
COPY, each row written once.

Foreign keys: a role that may (see `_may_skip_triggers`) writes with PostgreSQL's per-row
foreign-key triggers off, having locked every row it points to; any other role gets them, each
COPY's checked as it ends (a take's `current_review` points at a review COPYed after it, so
that one stays deferred to commit).

The rows come from `feed`, parsed in a process of its own, their columns already in COPY's
text format: the writer adds the ids and costs and sends the text on.

Everything happens in one transaction: an import is all or nothing, and a line the parser
refused never reaches it. Memory holds a chunk and two integers per new take (to name the
first line of a duplicate), whatever the file's size."""

import time
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from datetime import datetime

import psycopg
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction

from ..models import FailureTag, Note, Project, Review, Take
from ..services.verdicts import takes_current_refresh
from .feed import (
    COST,
    CREATED,
    CURRENT,
    DURATION,
    EXTERNAL_ID,
    LINE,
    MODEL,
    NOTE_TEXT_COLUMNS,
    NULL,
    PROJECT,
    R_AT,
    R_NOTES,
    R_REVIEWER,
    R_TAGS,
    R_TEXT,
    REVIEW_TEXT_COLUMNS,
    REVIEWS,
    SHOT,
    TAKE_TEXT,
    TAKE_TEXT_COLUMNS,
    VERSION,
    copy_value,
)
from .lineage import Lineage, defaults, ints, texts
from .report import ImportReport
from .resolve import (
    INCREMENTAL_MAX,
    Prices,
    projects_resolve,
    reviewers_join,
    rollups_mark,
    tags_resolve,
    users_resolve,
)

# Lines per round: enough that a round's dozen statements are cheap next to its COPYs, few
# enough that the parsed chunks in flight stay a few MB.
CHUNK = 5000

# The writer's columns first, then the ones each row carries as text (feed.py).
TAKE_COLUMNS = (
    "id", "project_id", "shot_id", "prompt_version_id", "current_review_id", "cost_usd",
    "cost_source", "price_usd_per_second", "added_at", *TAKE_TEXT_COLUMNS,
)  # fmt: skip
REVIEW_COLUMNS = ("id", "take_id", "reviewer_id", *REVIEW_TEXT_COLUMNS)
NOTE_COLUMNS = ("take_id", "review_id", "author_id", "tag_id", *NOTE_TEXT_COLUMNS, "created_at")
Row = tuple  # a feed row, read by the indexes feed.py names


def _tail(defaults: tuple[tuple[str, ...], tuple]) -> str:
    """The default columns' values as the end of a COPY line."""
    return "".join("\t" + copy_value(v) for v in defaults[1])


def _may_skip_triggers(cur) -> bool:
    """Whether a chunk's writes (shots, versions, and the COPYs) may run with
    `session_replication_role = replica`, which skips PostgreSQL's per-row foreign-key
    triggers: about half the server's work in a bulk load, and what pg_restore skips too. Only
    a superuser, or a role granted SET on that parameter (PostgreSQL 15+), may; any other role
    gets the checked path. It is safe because every row written there points either to a row
    made in this transaction or to one this import holds FOR KEY SHARE, the lock the skipped
    check would have taken."""
    cur.execute(
        "SELECT current_setting('is_superuser') = 'on' OR (current_setting('server_version_num')"
        "::int >= 150000 AND has_parameter_privilege('session_replication_role', 'SET'))"
    )
    return cur.fetchone()[0]


class CopyWriter:
    def __init__(self, *, report: ImportReport, owner, progress, timeout: int | None):
        self.report = report
        self.owner = owner
        self.progress = progress
        self.timeout = timeout
        self.prices = Prices(report)
        self.projects: dict = {}  # slug → Project
        self.pids: dict[str, int] = {}  # slug → project id
        self.empty: set[str] = set()  # projects that had no takes when the import began
        self.users: dict[str, int] = {}
        self.tags: dict[str, int] = {}
        self.members: set[tuple[int, int]] = set()
        # Takes this import created, ids ascending (sequences only grow), with their lines.
        self.created_ids = array("q")
        self.created_lines = array("q")
        self.changed: dict[int, list[int] | int] = {}
        self.take_t, self.review_t = Take._meta.db_table, Review._meta.db_table
        self.through_t = Review.failure_tags.through._meta.db_table
        self.note_t = Note._meta.db_table
        self.take_defaults = defaults(Take, TAKE_COLUMNS)
        self.review_defaults = defaults(Review, REVIEW_COLUMNS)
        self.note_defaults = defaults(Note, NOTE_COLUMNS)
        # Their values as the end of each COPY line, worked out once per import.
        self.take_tail = _tail(self.take_defaults)
        self.review_tail = _tail(self.review_defaults)
        self.note_tail_defaults = _tail(self.note_defaults)

    def write(self, chunks: Iterable[tuple]) -> int:
        """Write feed chunks: (lines read so far, rows, line errors, finished)."""
        report, read = self.report, 0
        with transaction.atomic(), connection.cursor() as cur:
            self.cur = cur
            if self.timeout:
                for setting in ("statement_timeout", "lock_timeout"):
                    cur.execute("SELECT set_config(%s, %s, true)", [setting, f"{self.timeout}s"])
            self._prepare()
            for lines, rows, errors, _ in chunks:
                for line, reason in errors:
                    report.error(line, reason)
                report.lines = max(report.lines, lines)
                if rows:
                    self._chunk(rows)
                if self.progress:
                    self.progress(lines - read)
                read = lines
            self.lineage.link_pending()
            rollups_mark(self.changed)
            # Back to Django's deferred checks for whatever else the caller's transaction does.
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
        return self.report.takes_created + self.report.reviews_created

    def _timed(self, step: str, started: float) -> float:
        now = time.perf_counter()
        timings = self.report.timings
        timings[step] = timings.get(step, 0.0) + now - started
        return now

    def _prepare(self) -> None:
        """Sequences, the transaction's time, and how foreign keys get checked."""
        cur = self.cur
        cur.execute(
            "SELECT now(), pg_get_serial_sequence(%s, 'id'), pg_get_serial_sequence(%s, 'id')",
            [self.take_t, self.review_t],
        )
        self.now, self.take_seq, self.review_seq = cur.fetchone()
        self.lineage = Lineage(cur, now=self.now, pids=self.pids)
        self.now_text = copy_value(self.now)
        # Where the triggers run, check each COPY's foreign keys as it ends (an error names its
        # chunk) rather than a million at commit. `current_review` points forward: deferred.
        cur.execute(
            """
            SELECT c.conname FROM pg_constraint c
            JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
            WHERE c.conrelid = %s::regclass AND c.contype = 'f' AND a.attname = 'current_review_id'
            """,
            [self.take_t],
        )
        forward = [connection.ops.quote_name(row[0]) for row in cur.fetchall()]
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        if forward:
            cur.execute(f"SET CONSTRAINTS {', '.join(forward)} DEFERRED")
        self.trusted = _may_skip_triggers(cur)
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS manifest_seen (take_id bigint PRIMARY KEY, line int)"
            " ON COMMIT DROP"
        )
        cur.execute("TRUNCATE manifest_seen")

    # One chunk ----------------------------------------------------------------------------------

    def _chunk(self, chunk: list[Row]) -> None:
        started = time.perf_counter()
        self._lookups(chunk)
        if self.trusted:
            # From here to the chunk's last COPY every row written points to a row locked or
            # made by this import (see _may_skip_triggers); set_config(…, true) is undone with
            # the transaction or savepoint if anything fails.
            self.cur.execute("SELECT set_config('session_replication_role', 'replica', true)")
        shots = self.lineage.shots(chunk)
        versions = self.lineage.versions(chunk, shots)
        started = self._timed("shots and versions", started)
        lines = self._once_per_chunk(chunk)
        if all(r[PROJECT] in self.empty for r in lines):
            # Projects with no takes when the import began: nothing to look up. A line that
            # repeats an earlier chunk's external_id makes the unique index refuse the COPY;
            # then the chunk's takes are written again, the careful way.
            unpriced = self.report.unpriced.copy()
            try:
                with transaction.atomic():
                    self._takes((lines, []), shots, versions)
                return
            except (IntegrityError, psycopg.errors.UniqueViolation):
                self.report.unpriced = unpriced
                timings = self.report.timings
                timings["chunks written twice"] = timings.get("chunks written twice", 0) + 1
        self._takes(self._stored(lines), shots, versions)

    def _takes(self, split, shots, versions) -> None:
        """Ids drawn, then the COPYs; on failure nothing of the chunk's takes is kept here."""
        started = time.perf_counter()
        fresh, existing = split
        old_reviews = self._reviews_of_existing(existing)
        review_count = sum(len(r[REVIEWS]) for r in fresh) + len(old_reviews)
        # Trusted: the COPYs skip the per-row foreign-key triggers (see _may_skip_triggers).
        self.cur.execute(
            "SELECT ARRAY(SELECT nextval(%s::regclass) FROM generate_series(1, %s)),"
            " ARRAY(SELECT nextval(%s::regclass) FROM generate_series(1, %s)),"
            " set_config('session_replication_role', %s, true)",
            [
                self.take_seq,
                len(fresh),
                self.review_seq,
                review_count,
                "replica" if self.trusted else "origin",
            ],
        )
        take_ids, review_ids, _ = self.cur.fetchone()
        started = self._timed("ids", started)
        # On an error the transaction (or the chunk's savepoint) is rolled back, and the role
        # with it: set_config(…, true) is transactional.
        touched = self._copy(fresh, take_ids, review_ids, shots, versions, old_reviews)
        if self.trusted:
            self.cur.execute("SELECT set_config('session_replication_role', 'origin', true)")
        if touched:  # stored takes with new reviews: their current verdict may have changed
            takes_current_refresh(take_ids=touched)
        self._timed("copy", started)

    def _lookups(self, chunk: list[Row]) -> None:
        """Projects (locked for this import), reviewers, tags and memberships the chunk names
        that earlier chunks did not."""
        report = self.report
        slugs = {r[PROJECT] for r in chunk} - self.projects.keys()
        if slugs:
            # Overlapping imports of one project wait for each other.
            for slug in sorted(slugs):
                self.cur.execute(
                    "SELECT pg_advisory_xact_lock(7, hashtext(%s))", [f"manifest-import:{slug}"]
                )
            found = projects_resolve(slugs, owner=self.owner, report=report)
            self.projects.update(found)
            self.pids.update({slug: project.pk for slug, project in found.items()})
            self._hold(Project, [project.pk for project in found.values()])
            self.cur.execute(
                f"SELECT p.slug FROM {Project._meta.db_table} p WHERE p.id = ANY(%s::bigint[])"
                f" AND NOT EXISTS (SELECT 1 FROM {self.take_t} t WHERE t.project_id = p.id)",
                [ints(project.pk for project in found.values())],
            )
            self.empty.update(row[0] for row in self.cur.fetchall())
        emails = {v[R_REVIEWER] for r in chunk for v in r[REVIEWS]} - self.users.keys()
        if emails:
            found = users_resolve(emails, report)
            self.users.update(found)
            self._hold(get_user_model(), list(found.values()))
        tags = {t for r in chunk for v in r[REVIEWS] for t in v[R_TAGS]}
        tags |= {tag for r in chunk for v in r[REVIEWS] for tag, _ in v[R_NOTES] if tag}
        tags -= self.tags.keys()
        if tags:
            found = tags_resolve(tags, report)
            self.tags.update(found)
            self._hold(FailureTag, list(found.values()))
        pairs = {
            (self.pids[r[PROJECT]], self.users[v[R_REVIEWER]]) for r in chunk for v in r[REVIEWS]
        } - self.members
        if pairs:
            reviewers_join(pairs)
            self.members |= pairs

    def _hold(self, model, ids: list[int]) -> None:
        """Rows the COPYs will point to, locked as PostgreSQL's own check would lock them (FOR
        KEY SHARE: nobody deletes them or changes their id until we commit)."""
        if self.trusted and ids:
            self.cur.execute(
                f"SELECT 1 FROM {model._meta.db_table} WHERE id = ANY(%s::bigint[]) FOR KEY SHARE",
                [ints(ids)],
            )

    def _once_per_chunk(self, chunk: list[Row]) -> list[Row]:
        """The chunk without lines that repeat an external_id of an earlier line of it."""
        first: dict[tuple[int, str], int] = {}
        lines: list[Row] = []
        pids = self.pids
        for r in chunk:
            line = first.setdefault((pids[r[PROJECT]], r[EXTERNAL_ID]), r[LINE])
            if line != r[LINE]:
                self.report.error(r[LINE], f"duplicate external_id (first on line {line})")
            else:
                lines.append(r)
        return lines

    def _stored(self, lines: list[Row]):
        """Split the lines: those of new takes, and (line, take id) of takes already stored.
        A line with the external_id of an earlier chunk's line is an error. One index probe per
        line (LATERAL: see lineage.py), whatever the planner thinks of the table's size."""
        report = self.report
        keys = [(self.pids[r[PROJECT]], r[EXTERNAL_ID]) for r in lines]
        self.cur.execute(
            f"""
            SELECT w.external_id, w.project_id, t.id
            FROM unnest(%s::bigint[], %s::text[]) AS w(project_id, external_id)
            CROSS JOIN LATERAL (
                SELECT t.id FROM {self.take_t} t
                WHERE t.project_id = w.project_id AND t.external_id = w.external_id
                FOR KEY SHARE
            ) t
            """,
            [ints(k[0] for k in keys), texts(k[1] for k in keys)],
        )
        stored = {(pid, ext): take_id for ext, pid, take_id in self.cur.fetchall()}
        if not stored:
            return lines, []
        fresh, existing = [], []
        for r in lines:
            take_id = stored.get((self.pids[r[PROJECT]], r[EXTERNAL_ID]))
            if take_id is None:
                fresh.append(r)
                continue
            at = bisect_left(self.created_ids, take_id)
            if at < len(self.created_ids) and self.created_ids[at] == take_id:
                report.error(
                    r[LINE], f"duplicate external_id (first on line {self.created_lines[at]})"
                )
            else:
                existing.append((r, take_id))
        return fresh, self._first_sight(existing)

    def _first_sight(self, existing: list[tuple[Row, int]]):
        """Stored takes met for the first time in this file; a later line naming one again is
        a duplicate (the server keeps the list, which may be as long as the file)."""
        if not existing:
            return []
        self.cur.execute(
            """
            WITH met AS (
                INSERT INTO manifest_seen (take_id, line)
                SELECT * FROM unnest(%s::bigint[], %s::int[])
                ON CONFLICT (take_id) DO NOTHING RETURNING take_id
            )
            SELECT s.take_id, s.line FROM manifest_seen s
            WHERE s.take_id = ANY(%s::bigint[]) AND s.take_id NOT IN (SELECT take_id FROM met)
            """,
            [ints(t for _, t in existing), ints(r[LINE] for r, _ in existing)]
            + [ints(t for _, t in existing)],
        )
        earlier = dict(self.cur.fetchall())
        first = []
        for r, take_id in existing:
            if take_id in earlier:
                self.report.error(
                    r[LINE], f"duplicate external_id (first on line {earlier[take_id]})"
                )
            else:
                self.report.takes_existing += 1
                self._price(r)  # the report's unpriced-model warning counts it too
                first.append((r, take_id))
        return first

    def _price(self, r: Row):
        return self.prices.price(
            project=r[PROJECT],
            model=r[MODEL],
            duration_s=r[DURATION],
            cost_usd=r[COST],
            created_at=lambda: datetime.fromisoformat(r[CREATED]),
        )

    def _reviews_of_existing(self, existing: list[tuple[Row, int]]) -> list[tuple]:
        """(take id, parsed review, project id) for reviews of stored takes not stored yet."""
        if not existing:
            return []
        self.cur.execute(
            f"SELECT take_id, reviewer_id, created_at FROM {self.review_t}"
            " WHERE take_id = ANY(%s::bigint[])",
            [ints(take_id for _, take_id in existing)],
        )
        known = set(self.cur.fetchall())
        new = []
        for r, take_id in existing:
            for review in r[REVIEWS]:
                at = datetime.fromisoformat(review[R_AT])
                key = (take_id, self.users[review[R_REVIEWER]], at)
                if key not in known:
                    known.add(key)
                    new.append((take_id, review, self.pids[r[PROJECT]]))
        return new

    # The COPYs ----------------------------------------------------------------------------------

    def _copy(self, fresh, take_ids, review_ids, shots, versions, old_reviews) -> set[int]:
        """The chunk's COPY lines: the writer's columns, then the row's text as it came."""
        report, users, tags, pids = self.report, self.users, self.tags, self.pids
        take_tail, review_tail = self.take_tail, self.review_tail
        note_tail = f"\t{self.now_text}{self.note_tail_defaults}\n"
        take_lines, review_lines, tag_lines, note_lines = [], [], [], []
        next_review = iter(review_ids).__next__
        now = self.now_text

        def add_review(take_id, review) -> int:
            review_id = next_review()
            reviewer = users[review[R_REVIEWER]]
            review_lines.append(
                f"{review_id}\t{take_id}\t{reviewer}\t{review[R_TEXT]}{review_tail}\n"
            )
            for slug in review[R_TAGS]:
                tag_lines.append(f"{review_id}\t{tags[slug]}\n")
            for tag, text in review[R_NOTES]:
                tag_id = tags[tag] if tag else NULL
                note_lines.append(
                    f"{take_id}\t{review_id}\t{reviewer}\t{tag_id}\t{text}{note_tail}"
                )
            return review_id

        changed_ids: dict[int, list[int]] = {}
        for r, take_id in zip(fresh, take_ids, strict=True):
            project_id = pids[r[PROJECT]]
            shot_id = shots[(project_id, r[SHOT])]
            cost, source, price = self._price(r)
            current, current_id = r[CURRENT], NULL
            for i, review in enumerate(r[REVIEWS]):
                review_id = add_review(take_id, review)
                if i == current:
                    current_id = review_id
            take_lines.append(
                f"{take_id}\t{project_id}\t{shot_id}\t{versions[(shot_id, r[VERSION])]}\t"
                f"{current_id}\t{cost}\t{source}\t{NULL if price is None else price}\t{now}\t"
                f"{r[TAKE_TEXT]}{take_tail}\n"
            )
            changed_ids.setdefault(project_id, []).append(take_id)
        touched: set[int] = set()
        for take_id, review, project_id in old_reviews:
            add_review(take_id, review)
            if take_id not in touched:
                touched.add(take_id)
                changed_ids.setdefault(project_id, []).append(take_id)

        for table, columns, lines in (
            (self.take_t, TAKE_COLUMNS + self.take_defaults[0], take_lines),
            (self.review_t, REVIEW_COLUMNS + self.review_defaults[0], review_lines),
            (self.through_t, ("review_id", "failuretag_id"), tag_lines),
            (self.note_t, NOTE_COLUMNS + self.note_defaults[0], note_lines),
        ):
            if lines:
                with self.cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    copy.write("".join(lines))
        # Only now, with every COPY through: a refused chunk leaves no trace in the writer.
        self.created_ids.extend(take_ids)
        self.created_lines.extend(r[LINE] for r in fresh)
        report.takes_created += len(take_lines)
        report.reviews_created += len(review_lines)
        report.notes_created += len(note_lines)

        for project_id, ids in changed_ids.items():
            so_far = self.changed.get(project_id, [])
            if isinstance(so_far, int) or len(so_far) + len(ids) > INCREMENTAL_MAX:
                # Past this many, the rollups recompute in full: a count is enough.
                count = so_far if isinstance(so_far, int) else len(so_far)
                self.changed[project_id] = count + len(ids)
            else:
                so_far.extend(ids)
                self.changed[project_id] = so_far
        return touched
