"""Refreshing a project's rollup rows: incrementally from the change log and the contributions
ledger, or fully with the grouped queries of `compute`.

Refreshes of one project are serialized by a PostgreSQL advisory lock (not a lock on the
ProjectRollup row: writers bump that row, and must never wait for a refresh) and each runs in
one REPEATABLE READ snapshot, taken after the lock, so the rows, the ledger and the change log it
consumes all describe the same data. A change committed after the snapshot stays in the log for
the next refresh; a take processed twice contributes nothing the second time (the ledger holds
states, not deltas)."""

import logging
import time
from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ...models import Dimension, FailureTag, Project, ProjectRollup, RollupChange, RollupRow
from .compute import rollups_compute
from .ledger import contribution_delta, ledger_rebuild, ledger_swap
from .types import NUMBERS, VALUE_FIELDS, Progress, RowKey

log = logging.getLogger(__name__)

# pg_advisory_lock(class, project id): the class keeps our keys apart from other users'.
LOCK_CLASS = 7301
# Past this many changed takes a grouped recompute is cheaper than swapping their entries.
MAX_INCREMENTAL_TAKES = 20_000
ZERO = (0, 0, 0, Decimal(0), Decimal(0), 0, 0)


class LedgerDrift(Exception):
    """The ledger and the rows disagree (data written without a change log entry)."""


def _postgres() -> bool:
    return connection.vendor == "postgresql"


@contextmanager
def _serialized(project_id: int):
    """One refresh of this project at a time, in one snapshot taken after the lock."""
    if not _postgres():
        with transaction.atomic():
            yield
        return
    if connection.in_atomic_block:  # inside a caller's transaction (tests): its snapshot
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, project_id])
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, project_id])
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, project_id])
        except DatabaseError:  # the session is gone, and its lock with it
            log.warning("could not release the rollups lock of project %s", project_id)


# --- writing rows --------------------------------------------------------------------------


def _existing(project_id: int, only: Q | None = None) -> dict[RowKey, RollupRow]:
    rows = RollupRow.objects.filter(project_id=project_id)
    if only is not None:
        rows = rows.filter(only)
    return {(r.dimension, r.key, r.key2): r for r in rows.select_for_update()}


def _numbers(values) -> tuple:
    if isinstance(values, RollupRow):
        return tuple(getattr(values, f) for f in NUMBERS)
    return tuple(values[f] for f in NUMBERS)


def _kept(key: RowKey, values) -> bool:
    """Whether the grouped queries produce this row: any group with a take or a review, and
    always the project total (zeros for an empty project)."""
    return key[0] == Dimension.PROJECT or any(values)


def _same(row: RollupRow, data: dict) -> bool:
    return all(getattr(row, f) == data[f] for f in VALUE_FIELDS)


def _write_diff(project_id: int, rows: dict[RowKey, dict], existing: dict) -> int:
    """Insert new rows, update changed ones, delete the ones that no longer exist."""
    existing = dict(existing)
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


def _labels(labels: dict[RowKey, str | None]) -> dict[RowKey, str]:
    """The labels `compute` gives: tag names and reviewer emails need one lookup each."""
    tags = {k[1] for k, label in labels.items() if label is None and k[0] == "tag"}
    users = {k[1] for k, label in labels.items() if label is None and k[0] == "reviewer"}
    names = dict(FailureTag.objects.filter(slug__in=tags).values_list("slug", "name"))
    people = {
        str(pk): email or username
        for pk, email, username in get_user_model()
        .objects.filter(pk__in=[int(u) for u in users])
        .values_list("pk", "email", "username")
    }
    out = {}
    for key, label in labels.items():
        if label is None:
            label = names.get(key[1], key[1]) if key[0] == "tag" else people.get(key[1], "")
        out[key] = str(label or key[1])[:300]
    return out


def _apply_delta(project_id: int, delta: dict[RowKey, list], labels: dict) -> int:
    """Add each row's delta; insert rows that appear, delete rows that fall to zero (the
    grouped queries produce no row for an empty group)."""
    touched = {key: numbers for key, numbers in delta.items() if any(numbers)}
    if not touched:
        return 0
    keys_by_dimension: dict[str, set[str]] = defaultdict(set)
    for dimension, key, _ in touched:
        keys_by_dimension[dimension].add(key)
    only = Q()
    for dimension, keys in keys_by_dimension.items():
        only |= Q(dimension=dimension, key__in=keys)
    existing = _existing(project_id, only)
    labels = _labels({k: v for k, v in labels.items() if k in touched})
    new, changed, gone = [], [], []
    for key, numbers in touched.items():
        row = existing.get(key)
        current = _numbers(row) if row else ZERO
        values = [a + b for a, b in zip(current, numbers, strict=True)]
        if any(v < 0 for v in values) or (row is None and key not in labels):
            raise LedgerDrift(f"project {project_id}: row {key} would become {values}")
        if not _kept(key, values):
            gone.append(row.pk)
            continue
        if row is None:
            row = RollupRow(project_id=project_id, dimension=key[0], key=key[1], key2=key[2])
            new.append(row)
        else:
            changed.append(row)
        for field, value in zip(NUMBERS, values, strict=True):
            setattr(row, field, value)
        if key in labels:
            row.label = labels[key]
    RollupRow.objects.bulk_create(new)
    RollupRow.objects.bulk_update(changed, VALUE_FIELDS)
    if gone:
        RollupRow.objects.filter(pk__in=gone).delete()
    return len(new) + len(changed) + len(gone)


# --- the two paths -------------------------------------------------------------------------


def _pending(project_id: int, limit: int | None = None) -> list[tuple[int, int]]:
    changes = RollupChange.objects.filter(project_id=project_id).order_by("id")
    changes = changes.values_list("id", "take_id")
    return list(changes[:limit] if limit else changes)


def _consume(changes: list[tuple[int, int]]) -> None:
    # By id, not "id <= max": a writer holding a lower id may commit after our snapshot.
    ids = [change_id for change_id, _ in changes]
    for start in range(0, len(ids), 10_000):
        RollupChange.objects.filter(pk__in=ids[start : start + 10_000]).delete()


def _incremental(project_id: int) -> int | None:
    """Fold the logged changes into the rows; None when only a full recompute can (no ledger
    yet, or too many changes to be worth it). Raises LedgerDrift (rolled back)."""
    with _serialized(project_id):
        state = ProjectRollup.objects.filter(project_id=project_id).values("ledger_at").first()
        if state is None or state["ledger_at"] is None:
            return None
        changes = _pending(project_id, limit=MAX_INCREMENTAL_TAKES + 1)
        take_ids = sorted({take_id for _, take_id in changes})
        if len(changes) > MAX_INCREMENTAL_TAKES:
            return None
        if not take_ids:
            return 0
        old, new = ledger_swap(project_id=project_id, take_ids=take_ids)
        written = _apply_delta(project_id, *contribution_delta(old, new))
        _consume(changes)
        return written


def _full(
    project_id: int, *, write_all: bool, rebuild_ledger: bool, progress: Progress
) -> tuple[int, bool] | None:
    """Every row from the grouped queries. The ledger follows in the same snapshot: the entries
    of the logged takes are swapped, and if the rows that gives differ from the grouped ones
    (drift) or there is no ledger yet, it is rebuilt from SQL. Returns (rows written, rebuilt).
    `progress` is called inside the snapshot, so it must not write to the database."""
    with _serialized(project_id):
        # The project may have been deleted meanwhile: nothing to write then.
        state = ProjectRollup.objects.filter(project_id=project_id).values("ledger_at").first()
        if state is None or not Project.objects.filter(pk=project_id).exists():
            return None
        # The grouped queries are most of the work: 10–70% of the bar.
        rows = rollups_compute(
            project_id=project_id, progress=lambda p, message: progress(10 + p * 6 // 10, message)
        )
        progress(70, "Checking the contributions ledger…")
        existing = _existing(project_id)
        rebuilt = False
        if not _postgres():
            RollupChange.objects.filter(project_id=project_id).delete()
        else:
            changes = _pending(project_id)
            take_ids = sorted({take_id for _, take_id in changes})
            fresh = (
                state["ledger_at"] is not None
                and not rebuild_ledger
                and len(take_ids) <= MAX_INCREMENTAL_TAKES
            )
            if fresh:
                # Stored rows plus the logged changes must give the grouped rows; otherwise
                # something was written without a change log entry: rebuild the ledger.
                delta = {}
                if take_ids:
                    old, new = ledger_swap(project_id=project_id, take_ids=take_ids)
                    delta, _ = contribution_delta(old, new)
                expected = {key: _numbers(row) for key, row in existing.items()}
                for key, numbers in delta.items():
                    current = expected.get(key, ZERO)
                    expected[key] = tuple(a + b for a, b in zip(current, numbers, strict=True))
                expected = {key: values for key, values in expected.items() if _kept(key, values)}
                fresh = expected == {key: _numbers(data) for key, data in rows.items()}
                if not fresh:
                    log.warning("rollups ledger of project %s drifted: rebuilding it", project_id)
            if fresh:
                _consume(changes)
            else:
                progress(75, "Rebuilding the contributions ledger…")
                ledger_rebuild(project_id=project_id)
                # Everything the snapshot shows is in the new ledger; later changes stay.
                RollupChange.objects.filter(project_id=project_id).delete()
                rebuilt = True
        progress(90, "Writing rows…")
        if write_all:
            written = _write_all(project_id, rows)
        else:
            written = _write_diff(project_id, rows, existing)
    return written, rebuilt


def _refresh(
    *, project_id: int, full: bool, write_all: bool = False, rebuild_ledger: bool = False,
    progress: Progress | None = None,
) -> int | None:  # fmt: skip
    started = time.perf_counter()
    if not Project.objects.filter(pk=project_id).exists():
        return None
    state, _ = ProjectRollup.objects.get_or_create(project_id=project_id)
    seen_changes = state.changes
    written, rebuilt = None, False
    if not full and _postgres() and state.ledger_at is not None:
        try:
            written = _incremental(project_id)
        except LedgerDrift as exc:
            log.warning("rollups ledger drift (%s): full recompute", exc)
            rebuild_ledger = True
    if written is None:
        result = _full(
            project_id,
            write_all=write_all,
            rebuild_ledger=rebuild_ledger,
            progress=progress or (lambda percent, message: None),
        )
        if result is None:
            return None
        written, rebuilt = result
    now = timezone.now()
    ProjectRollup.objects.filter(project_id=project_id).update(
        revision=F("revision") + 1,
        computed_at=now,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        rows_changed=written,
        **({"ledger_at": now} if rebuilt else {}),
    )
    # Writes that arrived while we computed keep the project dirty (their refresh is queued).
    ProjectRollup.objects.filter(project_id=project_id, changes=seen_changes).update(dirty=False)
    return written


def rollups_refresh(*, project_id: int, progress: Progress | None = None) -> int | None:
    """Fold the changes logged since the last refresh into the rows (a full recompute when the
    project has no ledger yet). Returns how many rows were written, or None if it is gone."""
    return _refresh(project_id=project_id, full=False, progress=progress)


def rollups_rebuild(
    *, project_id: int, progress: Progress | None = None, ledger: bool = False
) -> int | None:
    """Delete and re-insert every row from the grouped queries (the reference the incremental
    refresh must equal). `ledger=True` also rebuilds the contributions ledger from SQL, which
    otherwise happens only when it is missing or has drifted."""
    return _refresh(
        project_id=project_id, full=True, write_all=True, rebuild_ledger=ledger, progress=progress
    )


def rollups_full_refresh(*, project_id: int) -> int | None:
    """A full recompute that writes only the rows that differ (the nightly drift check)."""
    return _refresh(project_id=project_id, full=True)


def rollups_rows(*, project_id: int) -> dict[RowKey, dict]:
    """The stored rows as comparable dicts (tests, the nightly drift check)."""
    return {
        (r["dimension"], r["key"], r["key2"]): {f: r[f] for f in VALUE_FIELDS}
        for r in RollupRow.objects.filter(project_id=project_id).values(
            "dimension", "key", "key2", *VALUE_FIELDS
        )
    }


def rollups_check(*, project_id: int) -> int | None:
    """Nightly: a full recompute, reporting drift (rows that changed although nothing was
    dirty)."""
    state = ProjectRollup.objects.filter(project_id=project_id).first()
    was_dirty = state is None or state.dirty
    written = rollups_full_refresh(project_id=project_id)
    if written and not was_dirty:
        log.warning("rollups of project %s drifted: %s rows corrected", project_id, written)
    return written
