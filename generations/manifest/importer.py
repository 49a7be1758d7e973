"""The manifest writer: parsed records (parse.py) into projects, shots, prompt versions, takes,
reviews, tag links and notes.

Two paths with one outcome. On PostgreSQL the records stream, a chunk at a time, through COPY
into temporary staging tables, and a dozen set-based statements write everything in one
transaction: memory stays flat whatever the file's size, and the time is close to COPY's own
(bench/imports.py measures both). Take and review ids are drawn from their sequences while
parsing, so a new take is inserted with its current verdict already set (no second pass over
the takes). SQLite, the embedded demo, writes batches through the ORM.

Idempotency: `(project, external_id)` for takes, `(take, reviewer, time)` for reviews; a line
the parser refused never reaches a writer, so a re-import of the same file, bad lines included,
changes nothing. Two imports touching the same project serialise on an advisory lock per
project (PostgreSQL), so overlapping files running at once create no duplicates."""

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, Q

from ..models import (
    FailureTag,
    Membership,
    Note,
    Project,
    PromptVersion,
    Review,
    Role,
    Shot,
    Take,
)
from ..services.rollups import rollups_schedule, rollups_schedule_full
from ..services.takes import PriceBook
from ..services.verdicts import takes_current_refresh, verdict_of
from .parse import LineInvalid, ParsedTake, parse_lines
from .report import ImportReport

log = logging.getLogger(__name__)

BATCH_SIZE = 1000  # lines per ORM batch
# Lines per COPY round (ids drawn, rows buffered, then copied): large enough that round trips
# to the server are few (each one waits for a scheduler slot on a busy machine), small enough
# that the buffered rows stay a few tens of MB whatever the file's size.
COPY_CHUNK = 20_000
# Above this many changed takes in a project, a full recompute of its rollups is cheaper than
# logging every take for the incremental refresh.
INCREMENTAL_MAX = 5000
# After writing this many rows, refresh the planner's statistics: autovacuum lags a bulk load
# (and is off on our machines), and a plan made for empty tables can take minutes.
ANALYZE_MIN = 10_000
CHANGE_NOTE = "Imported from a manifest"

Progress = Callable[[int], None] | None


class _Timer:
    """Seconds per step, kept in the report (the benchmark prints them)."""

    def __init__(self, report: ImportReport):
        self.report, self.last = report, time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.report.timings[step] = self.report.timings.get(step, 0.0) + now - self.last
        self.last = now


class _TimedCursor:
    """The cursor, timing each statement into the report (keyed by its first words)."""

    def __init__(self, cur, report: ImportReport, progress: Progress):
        self.cur, self.report, self.progress = cur, report, progress

    def execute(self, sql: str, params=None):
        started = time.perf_counter()
        self.cur.execute(sql, params)
        key = " ".join(sql.split()[:4])[:40]
        self.report.timings[key] = self.report.timings.get(key, 0.0) + time.perf_counter() - started
        if self.progress:
            self.progress(0)  # a heartbeat: the write phase reads no lines

    def __getattr__(self, name):
        return getattr(self.cur, name)


class _Prices:
    """The price book of each project named in the file, loaded once per project."""

    def __init__(self, report: ImportReport):
        self.report = report
        self.books: dict[str, PriceBook] = {}

    def resolve(self, item: ParsedTake):
        book = self.books.get(item.project)
        if book is None:
            project = Project.objects.filter(slug=item.project).first()
            book = self.books[item.project] = PriceBook(project=project)
        cost, source, price = book.resolve(
            model=item.model, duration_s=item.duration_s, at=item.created_at, reported=item.cost_usd
        )
        if source == "unknown":
            self.report.unpriced[item.model] += 1
        return cost, source, price


def _records(
    source, report: ImportReport, *, only_project: str | None, progress: Progress
) -> Iterator[ParsedTake]:
    pending = 0
    for number, item in parse_lines(source):
        pending += number - report.lines
        report.lines = number
        if isinstance(item, LineInvalid):
            report.error(number, str(item))
        elif only_project is not None and item.project != only_project:
            report.error(
                number,
                f"belongs to project {item.project!r}; this import writes only to {only_project!r}",
            )
        else:
            yield item
        if progress and pending >= 1000:
            progress(pending)
            pending = 0
    if progress and pending:
        progress(pending)


def manifest_write(
    *,
    source: Iterable,
    owner=None,
    only_project: str | None = None,
    progress: Progress = None,
    writer: str | None = None,
    batch_size: int = BATCH_SIZE,
    statement_timeout_s: int | None = None,
) -> ImportReport:
    """Parse and write a whole manifest. `writer` is "copy" (PostgreSQL only) or "orm"; by
    default the database decides. `statement_timeout_s` bounds each statement and lock wait of
    the write (a background import must fail rather than hang)."""
    report = ImportReport()
    writer = writer or ("copy" if connection.vendor == "postgresql" else "orm")
    records = _records(source, report, only_project=only_project, progress=progress)
    if writer == "copy":
        changed = _CopyWriter(
            report=report, owner=owner, progress=progress, timeout=statement_timeout_s
        ).write(records)
    else:
        changed = _OrmWriter(report=report, owner=owner).write(records, batch_size)
    report.errors.sort(key=lambda e: e.line)
    if changed >= ANALYZE_MIN and connection.vendor == "postgresql":
        _analyze()
    return report


def _analyze() -> None:
    tables = [m._meta.db_table for m in (Shot, PromptVersion, Take, Review, Note, Membership)] + [
        Review.failure_tags.through._meta.db_table
    ]
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"ANALYZE {table}")


# --- shared steps ----------------------------------------------------------------------------


def _projects(slugs: Iterable[str], *, owner, report: ImportReport) -> dict[str, Project]:
    found = {p.slug: p for p in Project.objects.filter(slug__in=set(slugs))}
    for slug in sorted(set(slugs) - set(found)):
        try:
            with transaction.atomic():
                found[slug] = Project.objects.create(
                    slug=slug, name=slug.replace("-", " ").title(), created_by=owner
                )
            report.projects_created.append(slug)
        except IntegrityError:  # created by a concurrent import just now
            found[slug] = Project.objects.get(slug=slug)
    if owner is not None:
        for project in found.values():
            membership, created = Membership.objects.get_or_create(
                project=project, user=owner, defaults={"role": Role.LEAD, "is_owner": True}
            )
            if not created and not membership.is_owner:
                Membership.objects.filter(pk=membership.pk).update(is_owner=True)
    report.projects |= set(found)
    return found


def _users(emails: set[str], report: ImportReport) -> dict[str, int]:
    """Reviewers by e-mail (matched on username or e-mail, case-insensitively); unknown ones
    become users without a password (SPEC §3)."""
    User = get_user_model()
    if not emails:
        return {}

    def fetch() -> dict[str, int]:
        found: dict[str, int] = {}
        lookup = Q()
        for email in emails:
            lookup |= Q(username__iexact=email) | Q(email__iexact=email)
        rows = User.objects.filter(lookup).order_by("pk").values_list("pk", "username", "email")
        for pk, username, email in rows:
            for key in (username.lower(), (email or "").lower()):
                if key in emails:
                    found.setdefault(key, pk)
        return found

    users = fetch()
    missing = sorted(emails - set(users))
    if missing:
        new = []
        for email in missing:
            user = User(username=email, email=email)
            user.set_unusable_password()
            new.append(user)
        User.objects.bulk_create(new, ignore_conflicts=True)
        report.users_created.extend(missing)
        users = fetch()
    return users


def _tags(slugs: set[str], report: ImportReport) -> dict[str, int]:
    """Failure tags by slug; unknown slugs join the taxonomy marked as imported, so an owner
    can merge or rename them."""
    tags = dict(FailureTag.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    missing = sorted(slugs - set(tags))
    if missing:
        FailureTag.objects.bulk_create(
            [
                FailureTag(slug=s, name=s.replace("-", " ").capitalize(), is_imported=True)
                for s in missing
            ],
            ignore_conflicts=True,
        )
        report.tags_created.extend(missing)
        tags = dict(FailureTag.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    return tags


def _reviewers_join(pairs: set[tuple[int, int]]) -> None:
    """A reviewer must be able to open the project they reviewed: they become editors."""
    Membership.objects.bulk_create(
        [Membership(project_id=p, user_id=u, role=Role.EDITOR) for p, u in sorted(pairs)],
        ignore_conflicts=True,
    )


def _schedule(changed: dict[int, list[int] | int]) -> None:
    """Mark each project dirty once: the changed takes for the incremental refresh, or, past
    INCREMENTAL_MAX of them, a full recompute (cheaper than logging every take)."""
    full = []
    for project_id, takes in sorted(changed.items()):
        if isinstance(takes, int) or len(takes) > INCREMENTAL_MAX:
            full.append(project_id)
        elif takes:
            rollups_schedule(project_id=project_id, take_ids=takes)
    if full:
        rollups_schedule_full(project_ids=full)


# --- PostgreSQL: COPY into staging, then set-based statements ------------------------------


def _other_columns(model, given: set[str]) -> tuple[str, str, list]:
    """The model's remaining NOT NULL columns with their Python defaults (Django's defaults are
    not database defaults), so these INSERTs keep working when a migration adds a field."""
    columns, values, params = [], [], []
    for f in model._meta.concrete_fields:
        if f.column in given or f.primary_key or f.null:
            continue
        default = f.get_default()
        if default is None:
            continue
        if isinstance(f, JSONField):
            values.append("%s::jsonb")
            params.append(json.dumps(default))
        else:
            values.append("%s")
            params.append(f.get_db_prep_save(default, connection))
        columns.append(f.column)
    return "".join(f", {c}" for c in columns), "".join(f", {v}" for v in values), params


STAGING = """
CREATE TEMP TABLE stg_take (
    line int, take_id bigint, project text, shot text, version int, pass_number int,
    model text, parameters jsonb, seed bigint, external_id text, media_url text,
    duration_s numeric, fps numeric, width int, height int, cost_usd numeric, cost_source text,
    price numeric, created_at timestamptz, current_review_id bigint, current_verdict text
) ON COMMIT DROP;
CREATE TEMP TABLE stg_version (
    line int, project text, shot text, version int, parent_version int, prompt text,
    negative_prompt text, parameters jsonb
) ON COMMIT DROP;
CREATE TEMP TABLE stg_review (
    review_id bigint, line int, take_id bigint, reviewer text, verdict text, kind text,
    comment text, at timestamptz
) ON COMMIT DROP;
CREATE TEMP TABLE stg_review_tag (review_id bigint, slug text) ON COMMIT DROP;
CREATE TEMP TABLE stg_note (
    review_id bigint, seconds numeric, frame int, tag text, text text
) ON COMMIT DROP;
CREATE TEMP TABLE s_project (slug text, id bigint) ON COMMIT DROP;
CREATE TEMP TABLE s_user (email text, id bigint) ON COMMIT DROP;
CREATE TEMP TABLE s_tag (slug text, id bigint) ON COMMIT DROP;
CREATE TEMP TABLE s_inserted (id bigint) ON COMMIT DROP;
"""
TEMP_TABLES = (
    "stg_take", "stg_version", "stg_review", "stg_review_tag", "stg_note", "s_project", "s_user",
    "s_tag", "s_inserted", "s_shot", "s_version", "s_other", "s_existing", "s_review",
)  # fmt: skip
TAKE_STAGED = (
    "line, take_id, project, shot, version, pass_number, model, parameters, seed, external_id, "
    "media_url, duration_s, fps, width, height, cost_usd, cost_source, price, created_at, "
    "current_review_id, current_verdict"
)


@dataclass
class _Buffers:
    takes: list = field(default_factory=list)
    versions: list = field(default_factory=list)
    reviews: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    notes: list = field(default_factory=list)


class _CopyWriter:
    def __init__(self, *, report: ImportReport, owner, progress: Progress, timeout: int | None):
        self.report = report
        self.owner = owner
        self.progress = progress
        self.timeout = timeout
        self.staged = 0  # lines copied to staging
        self.prices = _Prices(report)
        self.projects: set[str] = set()
        self.emails: set[str] = set()
        self.slugs: set[str] = set()
        self.reviewers: set[tuple[str, str]] = set()  # (project, e-mail)
        self.take_t = Take._meta.db_table
        self.review_t = Review._meta.db_table

    def write(self, records: Iterator[ParsedTake]) -> int:
        with transaction.atomic(), connection.cursor() as raw:
            self.cur = cur = _TimedCursor(raw, self.report, self.progress)
            if self.timeout:
                for setting in ("statement_timeout", "lock_timeout"):
                    cur.execute("SELECT set_config(%s, %s, true)", [setting, f"{self.timeout}s"])
            # ON COMMIT DROP cleans up after a commit; inside a caller's transaction (tests, a
            # second import in one request) the tables of the previous import still exist.
            cur.execute(f"DROP TABLE IF EXISTS {', '.join(TEMP_TABLES)}")
            cur.execute(STAGING)
            self._stage(records)
            changed = self._apply() if self.projects else 0
            cur.execute(f"DROP TABLE IF EXISTS {', '.join(TEMP_TABLES)}")
        return changed

    # Staging: parse, draw ids, COPY -----------------------------------------------------------

    def _ids(self, takes: int, reviews: int) -> tuple[list[int], list[int]]:
        """Ids for the chunk's takes and reviews, from their sequences, in one round trip."""
        self.cur.execute(
            f"""SELECT ARRAY(SELECT nextval(pg_get_serial_sequence('{self.take_t}', 'id'))
                             FROM generate_series(1, %s)),
                       ARRAY(SELECT nextval(pg_get_serial_sequence('{self.review_t}', 'id'))
                             FROM generate_series(1, %s))""",
            [takes, reviews],
        )
        return self.cur.fetchone()

    def _stage(self, records: Iterator[ParsedTake]) -> None:
        chunk: list[ParsedTake] = []
        timer = _Timer(self.report)
        for item in records:
            chunk.append(item)
            if len(chunk) >= COPY_CHUNK:
                timer("parse")
                self._copy(chunk)
                timer("copy to staging")
                chunk = []
        timer("parse")
        self._copy(chunk)
        timer("copy to staging")
        for table in ("stg_take", "stg_version", "stg_review"):
            self.cur.execute(f"ANALYZE {table}")

    def _copy(self, chunk: list[ParsedTake]) -> None:
        if not chunk:
            return
        take_ids, review_ids = map(iter, self._ids(len(chunk), sum(len(i.reviews) for i in chunk)))
        self.staged += len(chunk)
        buf = _Buffers()
        last_version = None
        for item in chunk:
            take_id = next(take_ids)
            cost, source, price = self.prices.resolve(item)
            current = item.current
            current_id = None
            self.projects.add(item.project)
            for review in item.reviews:
                review_id = next(review_ids)
                if review is current:
                    current_id = review_id
                buf.reviews.append(
                    (
                        review_id,
                        item.line,
                        take_id,
                        review.reviewer,
                        review.verdict,
                        review.kind,
                        review.comment,
                        review.at,
                    )
                )
                self.emails.add(review.reviewer)
                self.reviewers.add((item.project, review.reviewer))
                for slug in review.tags:
                    buf.tags.append((review_id, slug))
                    self.slugs.add(slug)
                for note in review.notes:
                    buf.notes.append((review_id, note.seconds, note.frame, note.tag, note.text))
                    if note.tag:
                        self.slugs.add(note.tag)
            parameters = json.dumps(item.parameters) if item.parameters else "{}"
            buf.takes.append(
                (
                    item.line,
                    take_id,
                    item.project,
                    item.shot,
                    item.version,
                    item.pass_number,
                    item.model,
                    parameters,
                    item.seed,
                    item.external_id,
                    item.media_url,
                    item.duration_s,
                    item.fps,
                    item.width,
                    item.height,
                    cost,
                    source,
                    price,
                    item.created_at,
                    current_id,
                    verdict_of(current.verdict if current else None),
                )
            )
            # Versions: the first line of each (and lines that differ); SQL keeps the first.
            key = (item.project, item.shot, item.version, item.parent_version)
            if key != last_version:
                last_version = key
                buf.versions.append(
                    (
                        item.line,
                        item.project,
                        item.shot,
                        item.version,
                        item.parent_version,
                        item.prompt,
                        item.negative_prompt,
                        parameters,
                    )
                )
        for table, columns, rows in (
            ("stg_take", TAKE_STAGED, buf.takes),
            (
                "stg_version",
                "line, project, shot, version, parent_version, prompt, negative_prompt, parameters",
                buf.versions,
            ),
            (
                "stg_review",
                "review_id, line, take_id, reviewer, verdict, kind, comment, at",
                buf.reviews,
            ),
            ("stg_review_tag", "review_id, slug", buf.tags),
            ("stg_note", "review_id, seconds, frame, tag, text", buf.notes),
        ):
            if rows:
                with self.cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)

    # Set-based writes ---------------------------------------------------------------------------

    def _apply(self) -> int:
        cur, report = self.cur, self.report
        shot_t, version_t = Shot._meta.db_table, PromptVersion._meta.db_table
        take_t, review_t = self.take_t, self.review_t
        through_t = Review.failure_tags.through._meta.db_table
        note_t = Note._meta.db_table
        # Overlapping imports of one project wait for each other (sorted: no deadlock).
        for slug in sorted(self.projects):
            cur.execute(
                "SELECT pg_advisory_xact_lock(7, hashtext(%s))", [f"manifest-import:{slug}"]
            )
        projects = _projects(self.projects, owner=self.owner, report=report)
        self._fill("s_project", [(s, p.pk) for s, p in projects.items()])
        users = _users(self.emails, report)
        self._fill("s_user", list(users.items()))
        tags = _tags(self.slugs, report)
        self._fill("s_tag", list(tags.items()))
        _reviewers_join({(projects[p].pk, users[e]) for p, e in self.reviewers})

        cols, vals, params = _other_columns(Shot, {"project_id", "name", "created_at"})
        cur.execute(
            f"""
            INSERT INTO {shot_t} (project_id, name, created_at{cols})
            SELECT DISTINCT p.id, v.shot COLLATE "C", now(){vals}
            FROM stg_version v JOIN s_project p ON p.slug = v.project
            ORDER BY 1, 2
            ON CONFLICT (project_id, name) DO NOTHING
            """,
            params,
        )
        cur.execute(
            f"""
            CREATE TEMP TABLE s_shot ON COMMIT DROP AS
            SELECT sh.id, sh.project_id, p.slug AS project, sh.name
            FROM {shot_t} sh JOIN s_project p ON p.id = sh.project_id;
            ANALYZE s_shot;
            """
        )
        given = {"shot_id", "number", "text", "negative_prompt", "parameters", "change_note"}
        cols, vals, params = _other_columns(PromptVersion, given | {"created_at"})
        cur.execute(
            f"""
            INSERT INTO {version_t} (shot_id, number, text, negative_prompt, parameters,
                change_note, created_at{cols})
            SELECT DISTINCT ON (sh.id, v.version) sh.id, v.version, v.prompt,
                v.negative_prompt, v.parameters, %s, now(){vals}
            FROM stg_version v JOIN s_shot sh ON sh.project = v.project AND sh.name = v.shot
            ORDER BY sh.id, v.version, v.line
            ON CONFLICT (shot_id, number) DO NOTHING
            """,
            [CHANGE_NOTE, *params],
        )
        # Link each version to its parent (given by its first line that names one), also when
        # the parent arrived after the child, in this file or an earlier one.
        cur.execute(
            f"""
            UPDATE {version_t} pv SET parent_id = parent.id
            FROM (
                SELECT DISTINCT ON (sh.id, v.version) sh.id AS shot_id, v.version,
                    v.parent_version
                FROM stg_version v JOIN s_shot sh ON sh.project = v.project AND sh.name = v.shot
                WHERE v.parent_version IS NOT NULL
                ORDER BY sh.id, v.version, v.line
            ) link JOIN {version_t} parent
                ON parent.shot_id = link.shot_id AND parent.number = link.parent_version
            WHERE pv.shot_id = link.shot_id AND pv.number = link.version AND pv.parent_id IS NULL
            """
        )
        cur.execute(
            f"""
            CREATE TEMP TABLE s_version ON COMMIT DROP AS
            SELECT pv.id, sh.project_id, pv.shot_id, sh.project, sh.name AS shot, pv.number
            FROM {version_t} pv JOIN s_shot sh ON sh.id = pv.shot_id;
            ANALYZE s_version;
            """
        )

        # Takes: the staged id, and the current verdict computed while parsing. A take that
        # exists (or a second line with the same external_id) conflicts and is left alone.
        given = {
            "id", "project_id", "shot_id", "prompt_version_id", "pass_number", "model",
            "parameters", "seed", "external_id", "media_url", "duration_s", "fps", "width",
            "height", "cost_usd", "cost_source", "price_usd_per_second", "current_review_id",
            "current_verdict", "created_at", "added_at",
        }  # fmt: skip
        cols, vals, params = _other_columns(Take, given)
        cur.execute(
            f"""
            INSERT INTO {take_t} (id, project_id, shot_id, prompt_version_id, pass_number,
                model, parameters, seed, external_id, media_url, duration_s, fps, width,
                height, cost_usd, cost_source, price_usd_per_second, current_review_id,
                current_verdict, created_at, added_at{cols})
            SELECT s.take_id, v.project_id, v.shot_id, v.id, s.pass_number, s.model,
                s.parameters, s.seed, s.external_id, s.media_url, s.duration_s, s.fps,
                s.width, s.height, s.cost_usd, s.cost_source, s.price, s.current_review_id,
                s.current_verdict, s.created_at, now(){vals}
            FROM stg_take s JOIN s_version v
                ON v.project = s.project AND v.shot = s.shot AND v.number = s.version
            ORDER BY s.line
            ON CONFLICT (project_id, external_id) DO NOTHING
            """,
            params,
        )
        report.takes_created = cur.rowcount
        existing = self.staged > report.takes_created
        if existing:
            # Which staged ids made it (the common case, all of them, needs no list).
            cur.execute(
                f"INSERT INTO s_inserted SELECT s.take_id FROM stg_take s "
                f"JOIN {take_t} t ON t.id = s.take_id"
            )
            self._classify()
        else:
            cur.execute("CREATE TEMP TABLE s_existing (line int, take_id bigint) ON COMMIT DROP")

        # Reviews of the new takes, all of them; of existing takes, those not stored yet.
        cols, vals, params = _other_columns(
            Review,
            {"id", "take_id", "reviewer_id", "verdict", "kind", "comment", "created_at"},
        )
        select = f"""
            SELECT r.review_id, {{take}}, u.id, r.verdict, r.kind, r.comment, r.at{vals}
            FROM stg_review r JOIN s_user u ON u.email = r.reviewer {{join}}
        """
        insert = (
            f"INSERT INTO {review_t} (id, take_id, reviewer_id, verdict, kind, comment, "
            f"created_at{cols})"
        )
        if not existing:
            cur.execute(insert + select.format(take="r.take_id", join=""), params)
            report.reviews_created = cur.rowcount
            kept, take = "", "r.take_id"
        else:
            new_takes = select.format(
                take="r.take_id", join="JOIN s_inserted i ON i.id = r.take_id"
            )
            old_takes = select.format(
                take="e.take_id", join="JOIN s_existing e ON e.line = r.line"
            ) + (
                f""" WHERE NOT EXISTS (SELECT 1 FROM {review_t} x WHERE x.take_id = e.take_id
                    AND x.reviewer_id = u.id AND x.created_at = r.at)"""
            )
            cur.execute("CREATE TEMP TABLE s_review (id bigint, take_id bigint) ON COMMIT DROP")
            cur.execute(
                f"""
                WITH inserted AS ({insert} {new_takes} UNION ALL {old_takes}
                    RETURNING id, take_id)
                INSERT INTO s_review SELECT id, take_id FROM inserted
                """,
                params + params,
            )
            report.reviews_created = cur.rowcount
            # Tags and notes only of the reviews just stored, on the take they went to.
            kept, take = "JOIN s_review sr ON sr.id = x.review_id", "sr.take_id"
        cur.execute(
            f"""
            INSERT INTO {through_t} (review_id, failuretag_id)
            SELECT x.review_id, t.id FROM stg_review_tag x JOIN s_tag t ON t.slug = x.slug {kept}
            """
        )
        cols, vals, params = _other_columns(
            Note,
            {"take_id", "review_id", "author_id", "seconds", "frame", "tag_id", "text"}
            | {"created_at"},
        )
        cur.execute(
            f"""
            INSERT INTO {note_t} (take_id, review_id, author_id, seconds, frame, tag_id, text,
                created_at{cols})
            SELECT {take}, x.review_id, u.id, x.seconds, x.frame, t.id, x.text, now(){vals}
            FROM stg_note x JOIN stg_review r ON r.review_id = x.review_id
                JOIN s_user u ON u.email = r.reviewer
                LEFT JOIN s_tag t ON t.slug = x.tag {kept}
            """,
            params,
        )
        report.notes_created = cur.rowcount

        changed: dict[int, list[int] | int] = {}
        if existing:
            cur.execute("SELECT DISTINCT take_id FROM s_review WHERE take_id NOT IN "
                        "(SELECT id FROM s_inserted)")  # fmt: skip
            old = [row[0] for row in cur.fetchall()]
            takes_current_refresh(take_ids=old)
            cur.execute(
                f"SELECT project_id, array_agg(id) FROM {take_t} WHERE id = ANY(%s) GROUP BY 1",
                [old],
            )
            changed.update({pid: list(ids) for pid, ids in cur.fetchall()})
        inserted = "JOIN s_inserted i ON i.id = s.take_id" if existing else ""
        cur.execute(
            f"""
            SELECT p.id, count(*) FROM stg_take s JOIN s_project p ON p.slug = s.project
            {inserted} GROUP BY 1
            """
        )
        for project_id, count in cur.fetchall():
            if count > INCREMENTAL_MAX:
                changed[project_id] = count
            else:
                cur.execute(
                    f"SELECT s.take_id FROM stg_take s {inserted} "
                    "JOIN s_project p ON p.slug = s.project WHERE p.id = %s",
                    [project_id],
                )
                ids = [row[0] for row in cur.fetchall()]
                previous = changed.get(project_id, [])
                changed[project_id] = ids + (previous if isinstance(previous, list) else [])
        _schedule(changed)
        return report.takes_created + report.reviews_created

    def _classify(self) -> None:
        """Lines whose take was not inserted: the take existed (its reviews may still be new),
        or an earlier line of this file has the same external_id (an error)."""
        cur, report = self.cur, self.report
        cur.execute(
            f"""
            CREATE TEMP TABLE s_other ON COMMIT DROP AS
            SELECT s.line, t.id AS take_id
            FROM stg_take s JOIN s_project p ON p.slug = s.project
                JOIN {self.take_t} t ON t.project_id = p.id AND t.external_id = s.external_id
            WHERE NOT EXISTS (SELECT 1 FROM s_inserted i WHERE i.id = s.take_id);
            ANALYZE s_other;
            CREATE TEMP TABLE s_existing ON COMMIT DROP AS
            SELECT line, take_id FROM (
                SELECT line, take_id, min(line) OVER (PARTITION BY take_id) AS first
                FROM (
                    SELECT line, take_id FROM s_other
                    UNION ALL
                    SELECT s.line, s.take_id FROM stg_take s JOIN s_inserted i
                        ON i.id = s.take_id
                    WHERE s.take_id IN (SELECT take_id FROM s_other)
                ) every_line
            ) ranked
            WHERE line = first AND take_id NOT IN (SELECT id FROM s_inserted);
            ANALYZE s_existing;
            """
        )
        cur.execute("SELECT count(*) FROM s_existing")
        report.takes_existing = cur.fetchone()[0]
        cur.execute(
            """
            SELECT line, first FROM (
                SELECT line, min(line) OVER (PARTITION BY take_id) AS first
                FROM (
                    SELECT line, take_id FROM s_other
                    UNION ALL
                    SELECT s.line, s.take_id FROM stg_take s JOIN s_inserted i
                        ON i.id = s.take_id
                    WHERE s.take_id IN (SELECT take_id FROM s_other)
                ) every_line
            ) ranked WHERE line <> first
            """
        )
        for line, first in cur.fetchall():
            report.error(line, f"duplicate external_id (first on line {first})")

    def _fill(self, table: str, rows: list[tuple]) -> None:
        if rows:
            with self.cur.copy(f"COPY {table} FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self.cur.execute(f"ANALYZE {table}")


# --- the ORM path (SQLite, and the reference the tests compare the fast path with) ------------


class _OrmWriter:
    def __init__(self, *, report: ImportReport, owner):
        self.report = report
        self.owner = owner
        self.prices = _Prices(report)
        self.projects: dict[str, Project] = {}
        self.seen: dict[tuple[str, str], int] = {}  # (project, external_id) → first line
        self.changed = 0

    def write(self, records: Iterator[ParsedTake], batch_size: int) -> int:
        batch: list[ParsedTake] = []
        for item in records:
            first = self.seen.setdefault((item.project, item.external_id), item.line)
            if first != item.line:
                self.report.error(item.line, f"duplicate external_id (first on line {first})")
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                self._batch(batch)
                batch = []
        if batch:
            self._batch(batch)
        return self.changed

    def _batch(self, batch: list[ParsedTake]) -> None:
        with transaction.atomic():
            missing = {i.project for i in batch} - set(self.projects)
            if missing:
                self.projects.update(_projects(missing, owner=self.owner, report=self.report))
            emails = {r.reviewer for i in batch for r in i.reviews}
            users = _users(emails, self.report)
            slugs = {t for i in batch for r in i.reviews for t in r.tags}
            slugs |= {n.tag for i in batch for r in i.reviews for n in r.notes if n.tag}
            tags = _tags(slugs, self.report)
            _reviewers_join(
                {(self.projects[i.project].pk, users[r.reviewer]) for i in batch for r in i.reviews}
            )
            shots = self._shots(batch)
            versions = self._versions(batch, shots)
            takes, created = self._takes(batch, shots, versions)
            reviewed = self._reviews(batch, takes, users, tags)
            changed: dict[int, set[int]] = defaultdict(set)
            for take in created:
                changed[take.project_id].add(take.pk)
            for take in reviewed:
                changed[take.project_id].add(take.pk)
            for project_id, take_ids in changed.items():
                rollups_schedule(project_id=project_id, take_ids=take_ids)
            self.changed += len(created) + len(reviewed)

    def _shots(self, batch) -> dict[tuple[int, str], Shot]:
        keys = {(self.projects[i.project].pk, i.shot) for i in batch}

        def fetch():
            rows = Shot.objects.filter(
                project_id__in={k[0] for k in keys}, name__in={k[1] for k in keys}
            )
            return {(s.project_id, s.name): s for s in rows}

        found = fetch()
        if keys - set(found):
            Shot.objects.bulk_create(
                [Shot(project_id=p, name=n) for p, n in sorted(keys - set(found))],
                ignore_conflicts=True,
            )
            found = fetch()
        return found

    def _versions(self, batch, shots) -> dict[tuple[int, int], PromptVersion]:
        first: dict[tuple[int, int], ParsedTake] = {}
        parents: dict[tuple[int, int], int] = {}
        for item in batch:
            shot = shots[(self.projects[item.project].pk, item.shot)]
            first.setdefault((shot.pk, item.version), item)
            if item.parent_version:
                parents.setdefault((shot.pk, item.version), item.parent_version)
        shot_ids = {k[0] for k in first}

        def fetch():
            return {
                (v.shot_id, v.number): v for v in PromptVersion.objects.filter(shot_id__in=shot_ids)
            }

        found = fetch()
        missing = set(first) - set(found)
        if missing:
            PromptVersion.objects.bulk_create(
                [
                    PromptVersion(
                        shot_id=shot_id,
                        number=number,
                        text=first[(shot_id, number)].prompt,
                        negative_prompt=first[(shot_id, number)].negative_prompt,
                        parameters=first[(shot_id, number)].parameters,
                        change_note=CHANGE_NOTE,
                    )
                    for shot_id, number in sorted(missing)
                ],
                ignore_conflicts=True,
            )
            found = fetch()
        # Link each version to its parent once both exist (a parent may arrive later).
        linked = []
        for key, parent_number in parents.items():
            version, parent = found[key], found.get((key[0], parent_number))
            if parent is not None and version.parent_id is None:
                version.parent = parent
                linked.append(version)
        if linked:
            PromptVersion.objects.bulk_update(linked, ["parent"])
        return found

    def _takes(self, batch, shots, versions):
        by_project: dict[int, set[str]] = defaultdict(set)
        for item in batch:
            by_project[self.projects[item.project].pk].add(item.external_id)
        existing: dict[tuple[int, str], Take] = {}
        for project_id, ids in by_project.items():
            for take in Take.objects.filter(project_id=project_id, external_id__in=ids).only(
                "id", "project_id", "external_id"
            ):
                existing[(project_id, take.external_id)] = take
        new = []
        for item in batch:
            project = self.projects[item.project]
            if (project.pk, item.external_id) in existing:
                self.report.takes_existing += 1
                continue
            shot = shots[(project.pk, item.shot)]
            cost, source, price = self.prices.resolve(item)
            new.append(
                Take(
                    project=project,
                    shot=shot,
                    prompt_version=versions[(shot.pk, item.version)],
                    pass_number=item.pass_number,
                    model=item.model,
                    parameters=dict(item.parameters),
                    seed=item.seed,
                    external_id=item.external_id,
                    media_url=item.media_url,
                    duration_s=item.duration_s,
                    fps=item.fps,
                    width=item.width,
                    height=item.height,
                    cost_usd=cost,
                    cost_source=source,
                    price_usd_per_second=price,
                    created_at=item.created_at,
                )
            )
        Take.objects.bulk_create(new)
        self.report.takes_created += len(new)
        for take in new:
            existing[(take.project_id, take.external_id)] = take
        takes = {
            item.line: existing[(self.projects[item.project].pk, item.external_id)]
            for item in batch
        }
        return takes, new

    def _reviews(self, batch, takes, users, tags) -> list[Take]:
        """Append the new reviews; returns the takes that got one."""
        take_ids = [takes[i.line].pk for i in batch if i.reviews]
        if not take_ids:
            return []
        known = set(
            Review.objects.filter(take_id__in=take_ids).values_list(
                "take_id", "reviewer_id", "created_at"
            )
        )
        pending = []
        for item in batch:
            take = takes[item.line]
            for parsed in item.reviews:
                key = (take.pk, users[parsed.reviewer], parsed.at)
                if key in known:
                    continue
                known.add(key)
                review = Review(
                    take_id=take.pk,
                    reviewer_id=users[parsed.reviewer],
                    verdict=parsed.verdict,
                    kind=parsed.kind,
                    comment=parsed.comment,
                    created_at=parsed.at,
                )
                pending.append((review, parsed, take))
        if not pending:
            return []
        Review.objects.bulk_create([r for r, _, _ in pending])
        through = Review.failure_tags.through
        through.objects.bulk_create(
            [
                through(review_id=review.pk, failuretag_id=tags[slug])
                for review, parsed, _ in pending
                for slug in parsed.tags
            ],
            ignore_conflicts=True,
        )
        notes = [
            Note(
                take_id=take.pk,
                review_id=review.pk,
                author_id=review.reviewer_id,
                seconds=n.seconds,
                frame=n.frame,
                tag_id=tags[n.tag] if n.tag else None,
                text=n.text,
            )
            for review, parsed, take in pending
            for n in parsed.notes
        ]
        Note.objects.bulk_create(notes)
        self.report.reviews_created += len(pending)
        self.report.notes_created += len(notes)
        touched = {take.pk: take for _, _, take in pending}
        takes_current_refresh(take_ids=touched)
        return list(touched.values())
