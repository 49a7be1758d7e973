"""Analytics rollups: marking a project dirty, coalescing refreshes, and rebuilding its rows.

Every write calls `rollups_schedule` inside its own transaction. That bumps the project's change
counter in the same transaction (so the dirty mark commits with the write, even if the broker is
down) and, after commit, enqueues one refresh per project at a time (the `queued` claim), a short
countdown later: a burst of 500 verdicts costs a handful of refreshes, not 500.

A refresh computes every dimension with grouped queries (one GROUP BY per dimension, no loop over
takes), then writes only the rows that differ, in one transaction. `rollups_rebuild` deletes and
re-inserts everything; both must leave identical rows (tests/test_rollups_incremental.py)."""

import logging
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..models import (
    Dimension,
    FailureTag,
    JobState,
    ProjectRollup,
    Review,
    RollupRow,
    Take,
    Verdict,
)
from ..models.reviews import JUDGEMENTS

log = logging.getLogger(__name__)

# Seconds a refresh waits in the queue so a burst of writes folds into it; short enough that a
# verdict reaches the dashboards within the 2 s of SPEC §5.
COALESCE_SECONDS = getattr(settings, "DAILIES_ROLLUP_COALESCE_SECONDS", 0.5)
# A queued claim older than this is presumed lost (worker died before ack): re-enqueue.
STALE_QUEUE = timedelta(minutes=2)

VALUE_FIELDS = (
    "label",
    "takes",
    "reviewed",
    "accepted",
    "spend_usd",
    "accepted_seconds",
    "pairs",
    "agreed",
)
RowKey = tuple[str, str, str]
Progress = Callable[[int, str], None]


# --- scheduling ----------------------------------------------------------------------------


def rollups_schedule(*, project_id: int) -> None:
    """Mark the project dirty (in the caller's transaction) and enqueue a refresh after commit."""
    now = timezone.now()
    bumped = ProjectRollup.objects.filter(project_id=project_id).update(
        dirty=True, changes=F("changes") + 1, dirty_at=now
    )
    if not bumped:
        try:
            with transaction.atomic():
                ProjectRollup.objects.create(project_id=project_id, changes=1, dirty_at=now)
        except IntegrityError:  # created by a concurrent writer just now
            ProjectRollup.objects.filter(project_id=project_id).update(
                dirty=True, changes=F("changes") + 1, dirty_at=now
            )
    transaction.on_commit(lambda: rollups_enqueue(project_id=project_id))


def rollups_enqueue(*, project_id: int, countdown: float | None = None) -> bool:
    """Enqueue one refresh unless one is already waiting. Never raises: a write must not fail
    because the broker is down; the project stays dirty and the reconciler catches up."""
    from ..tasks import rollups_refresh

    claimed = ProjectRollup.objects.filter(project_id=project_id, queued=False).update(
        queued=True, queued_at=timezone.now()
    )
    if not claimed:
        return False
    try:
        rollups_refresh.apply_async(
            args=[project_id], countdown=COALESCE_SECONDS if countdown is None else countdown
        )
    except Exception:
        log.warning("could not enqueue rollups refresh for project %s", project_id)
        ProjectRollup.objects.filter(project_id=project_id).update(queued=False)
        return False
    return True


def rollups_release(*, project_id: int) -> None:
    """Called when a refresh starts: writes from now on may enqueue the next one."""
    ProjectRollup.objects.filter(project_id=project_id).update(queued=False)


def rollups_reconcile(*, now=None) -> list[int]:
    """Projects left dirty with nothing queued (broker was down, a claim went stale)."""
    now = now or timezone.now()
    stale = Q(queued=False) | Q(queued_at__lt=now - STALE_QUEUE)
    ids = list(ProjectRollup.objects.filter(stale, dirty=True).values_list("project_id", flat=True))
    from ..models import Project

    # Projects that never had a write through rollups_schedule (created by fixtures or SQL).
    ids += list(Project.objects.filter(rollup__isnull=True).values_list("pk", flat=True))
    for project_id in ids:
        ProjectRollup.objects.get_or_create(project_id=project_id)
        ProjectRollup.objects.filter(project_id=project_id).update(queued=False)
        rollups_enqueue(project_id=project_id, countdown=0)
    return ids


# --- computing -----------------------------------------------------------------------------


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


def _existing(project_id: int) -> dict[RowKey, RollupRow]:
    return {
        (r.dimension, r.key, r.key2): r
        for r in RollupRow.objects.filter(project_id=project_id).select_for_update()
    }


def _same(row: RollupRow, data: dict) -> bool:
    return all(getattr(row, f) == data[f] for f in VALUE_FIELDS)


def _write_diff(project_id: int, rows: dict[RowKey, dict]) -> int:
    """Insert new rows, update changed ones, delete the ones that no longer exist."""
    existing = _existing(project_id)
    new, changed = [], []
    for key, data in rows.items():
        row = existing.pop(key, None)
        if row is None:
            new.append(
                RollupRow(project_id=project_id, dimension=key[0], key=key[1], key2=key[2], **data)
            )
        elif not _same(row, data):
            for field, value in data.items():
                setattr(row, field, value)
            changed.append(row)
    RollupRow.objects.bulk_create(new, batch_size=2000)
    RollupRow.objects.bulk_update(changed, VALUE_FIELDS, batch_size=2000)
    if existing:
        RollupRow.objects.filter(pk__in=[r.pk for r in existing.values()]).delete()
    return len(new) + len(changed) + len(existing)


def _write_all(project_id: int, rows: dict[RowKey, dict]) -> int:
    RollupRow.objects.filter(project_id=project_id).delete()
    RollupRow.objects.bulk_create(
        [
            RollupRow(project_id=project_id, dimension=k[0], key=k[1], key2=k[2], **d)
            for k, d in rows.items()
        ],
        batch_size=2000,
    )
    return len(rows)


def _refresh(*, project_id: int, full: bool, progress: Progress | None) -> int | None:
    from ..models import Project

    started = time.perf_counter()
    if not Project.objects.filter(pk=project_id).exists():
        return None
    state, _ = ProjectRollup.objects.get_or_create(project_id=project_id)
    seen_changes = state.changes
    rows = rollups_compute(project_id=project_id, progress=progress)
    with transaction.atomic():
        # The project may have been deleted while we computed: nothing to write then.
        if not ProjectRollup.objects.select_for_update().filter(project_id=project_id).exists():
            return None
        written = _write_all(project_id, rows) if full else _write_diff(project_id, rows)
        ProjectRollup.objects.filter(project_id=project_id).update(
            revision=F("revision") + 1,
            computed_at=timezone.now(),
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            rows_changed=written,
        )
        # Writes that arrived while we computed keep the project dirty (their refresh is queued).
        ProjectRollup.objects.filter(project_id=project_id, changes=seen_changes).update(
            dirty=False
        )
    return written


def rollups_refresh(*, project_id: int, progress: Progress | None = None) -> int | None:
    """Recompute a project and write the rows that changed. Returns how many rows were written,
    or None if the project is gone."""
    return _refresh(project_id=project_id, full=False, progress=progress)


def rollups_rebuild(*, project_id: int, progress: Progress | None = None) -> int | None:
    """Delete and re-insert every row of a project (the reference the refresh must equal)."""
    return _refresh(project_id=project_id, full=True, progress=progress)


# --- an owner's recompute, with progress --------------------------------------------------


def rollups_job_start(*, project_id: int) -> bool:
    """Claim an explicit recompute; False when one is already queued or running."""
    ProjectRollup.objects.get_or_create(project_id=project_id)
    busy = Q(job_state__in=[JobState.QUEUED, JobState.RUNNING]) & Q(
        job_updated_at__gt=timezone.now() - STALE_QUEUE
    )
    return bool(
        ProjectRollup.objects.filter(project_id=project_id)
        .exclude(busy)
        .update(
            job_state=JobState.QUEUED,
            job_progress=0,
            job_message="Waiting for a worker…",
            job_updated_at=timezone.now(),
        )
    )


def rollups_job_progress(*, project_id: int, percent: int, message: str, state=JobState.RUNNING):
    # Autocommit outside the rows transaction, so the page sees the bar move.
    ProjectRollup.objects.filter(project_id=project_id).update(
        job_state=state,
        job_progress=max(0, min(100, percent)),
        job_message=message[:300],
        job_updated_at=timezone.now(),
    )


def rollups_job_run(*, project_id: int) -> int | None:
    def progress(percent: int, message: str) -> None:
        rollups_job_progress(project_id=project_id, percent=percent, message=message)

    progress(0, "Starting…")
    written = rollups_rebuild(project_id=project_id, progress=progress)
    rollups_job_progress(project_id=project_id, percent=100, message="Done.", state=JobState.DONE)
    return written


def rollups_rows(*, project_id: int) -> dict[RowKey, dict]:
    """The stored rows as comparable dicts (tests, the nightly drift check)."""
    return {
        (r["dimension"], r["key"], r["key2"]): {f: r[f] for f in VALUE_FIELDS}
        for r in RollupRow.objects.filter(project_id=project_id).values(
            "dimension", "key", "key2", *VALUE_FIELDS
        )
    }


def rollups_check(*, project_id: int) -> int | None:
    """Nightly: refresh and report drift (rows that changed although nothing was dirty)."""
    state = ProjectRollup.objects.filter(project_id=project_id).first()
    was_dirty = state is None or state.dirty
    written = rollups_refresh(project_id=project_id)
    if written and not was_dirty:
        log.warning("rollups of project %s drifted: %s rows corrected", project_id, written)
    return written
