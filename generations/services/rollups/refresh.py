"""Refreshing a project's rollup rows: incrementally from the change log and the contributions
ledger, or fully with the grouped queries of `compute`.

Refreshes of one project run one at a time, each in one REPEATABLE READ snapshot taken after
the project's advisory lock (`guard`), so the rows, the ledger and the change log it consumes
all describe the same data. A change committed after the snapshot stays in the log for
the next refresh; a take processed twice contributes nothing the second time (the ledger holds
states, not deltas)."""

import logging
import time

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F
from django.utils import timezone

from ...models import (
    Project,
    ProjectRollup,
    Review,
    RollupChange,
    RollupCount,
    RollupRow,
    Shot,
    Take,
    TakeContribution,
)
from . import sql
from .compute import rollups_compute
from .guard import bulk_plans, postgres, serialized
from .ledger import contribution_delta, ledger_rebuild, ledger_swap
from .types import VALUE_FIELDS, Progress, RowKey
from .write import LedgerDrift, apply_delta, existing_rows, rows_write_all, rows_write_diff

log = logging.getLogger(__name__)

# Past this many changed takes a grouped recompute is cheaper than swapping their entries.
MAX_INCREMENTAL_TAKES = 20_000


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
    with serialized(project_id):
        state = ProjectRollup.objects.filter(project_id=project_id).values("ledger_at").first()
        if state is None or state["ledger_at"] is None:
            return None
        if not RollupCount.objects.filter(project_id=project_id).exists():
            return None  # rows older than the counts: one full recompute writes them
        changes = _pending(project_id, limit=MAX_INCREMENTAL_TAKES + 1)
        take_ids = sorted({take_id for _, take_id in changes})
        if len(changes) > MAX_INCREMENTAL_TAKES:
            return None
        if not take_ids:
            return 0
        old, new = ledger_swap(project_id=project_id, take_ids=take_ids)
        written = apply_delta(project_id, *contribution_delta(old, new))
        _consume(changes)
        return written


def _full(
    project_id: int, *, write_all: bool, rebuild_ledger: bool, progress: Progress
) -> tuple[int, bool] | None:
    """Every row from the grouped queries, in one snapshot. Returns (rows written, whether the
    ledger was rebuilt), None if the project is gone. `progress` is called inside the
    snapshot, so it must not write to the database."""
    with serialized(project_id):
        # The project may have been deleted meanwhile: nothing to write then.
        state = ProjectRollup.objects.filter(project_id=project_id).values("ledger_at").first()
        if state is None or not Project.objects.filter(pk=project_id).exists():
            return None
        if postgres():
            return _full_sql(
                project_id,
                has_ledger=state["ledger_at"] is not None,
                write_all=write_all,
                rebuild_ledger=rebuild_ledger,
                progress=progress,
            )
        rows = rollups_compute(
            project_id=project_id, progress=lambda p, message: progress(10 + p * 7 // 10, message)
        )
        progress(85, "Writing rows…")
        existing = existing_rows(project_id)
        RollupChange.objects.filter(project_id=project_id).delete()
        if write_all:
            return rows_write_all(project_id, rows), False
        return rows_write_diff(project_id, rows, existing), False


def _full_sql(
    project_id: int, *, has_ledger: bool, write_all: bool, rebuild_ledger: bool,
    progress: Progress,
) -> tuple[int, bool]:  # fmt: skip
    """PostgreSQL: the logged changes are folded in through the ledger first; the grouped
    rows then go into a temporary table with one INSERT … SELECT, are compared with the stored
    rows (any difference in the numbers means the ledger drifted: it is rebuilt from SQL), and
    are written set-based: every row (`write_all`), or only the ones that differ."""
    drift = rebuild_ledger or not has_ledger
    changes: list[tuple[int, int]] = []
    if not drift:
        progress(5, "Folding in the logged changes…")
        changes = _pending(project_id, limit=MAX_INCREMENTAL_TAKES + 1)
        take_ids = sorted({take_id for _, take_id in changes})
        if len(changes) > MAX_INCREMENTAL_TAKES:
            drift = True  # rebuilding the ledger costs less than swapping this many entries
        elif take_ids:
            try:
                with transaction.atomic():
                    apply_delta(project_id, *contribution_delta(*ledger_swap(
                        project_id=project_id, take_ids=take_ids
                    )))  # fmt: skip
            except LedgerDrift as exc:
                log.warning("rollups ledger drift (%s): rebuilding it", exc)
                drift = True
    progress(15, "Computing every dimension…")
    row_t, count_t = RollupRow._meta.db_table, RollupCount._meta.db_table
    values = ", ".join(sql.COLUMNS[4:])
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS rollup_new, rollup_diff;"
            f" CREATE TEMP TABLE rollup_new ON COMMIT DROP AS"
            f" SELECT {', '.join(sql.COLUMNS)} FROM {row_t} WITH NO DATA"
        )
        with bulk_plans(project_id):
            new_rows = sql.rows_insert("rollup_new", project_id)
        compare = not (drift and write_all)
        differing: list[str] = []
        counts: dict[str, int] | None = None
        if compare:
            progress(55, "Comparing with the stored rows…")
            with bulk_plans(project_id):
                differing, counts = _differing_dimensions(cursor, project_id)
        if differing:
            # Only the dimensions whose fingerprints differ are joined row by row.
            n_values = ", ".join(f"n.{c}" for c in sql.COLUMNS[4:])
            r_values = ", ".join(f"r.{c}" for c in sql.COLUMNS[4:])
            cursor.execute(
                f"""
                CREATE TEMP TABLE rollup_diff ON COMMIT DROP AS
                SELECT r.id AS old_id, n.*, ({n_values}) IS DISTINCT FROM ({r_values})
                           AS numbers_differ
                FROM (SELECT * FROM rollup_new WHERE dimension = ANY(%(dims)s)) n
                FULL JOIN (SELECT * FROM {row_t} WHERE project_id = %(project)s
                           AND dimension = ANY(%(dims)s)) r
                  ON r.dimension = n.dimension AND r.key = n.key AND r.key2 = n.key2
                WHERE r.id IS NULL OR n.dimension IS NULL
                   OR (n.label, {n_values}) IS DISTINCT FROM (r.label, {r_values})
                """,
                {"project": project_id, "dims": differing},
            )
            cursor.execute("SELECT count(*) FROM rollup_diff WHERE numbers_differ")
            if not drift and cursor.fetchone()[0]:
                # Something was written without a change log entry: rebuild the ledger.
                log.warning("rollups ledger of project %s drifted: rebuilding it", project_id)
                drift = True
        if drift:
            progress(65, "Rebuilding the contributions ledger…")
            with bulk_plans(project_id):
                ledger_rebuild(project_id=project_id)
            # Everything the snapshot shows is in the new ledger; later changes stay.
            RollupChange.objects.filter(project_id=project_id).delete()
        else:
            _consume(changes)
        progress(85, "Writing rows…")
        params = {"project": project_id}
        if write_all:
            cursor.execute(f"DELETE FROM {row_t} WHERE project_id = %(project)s", params)
            cursor.execute(
                f"INSERT INTO {row_t} (project_id, dimension, key, key2, label, {values})"
                f" SELECT %(project)s, dimension, key, key2, label, {values} FROM rollup_new",
                params,
            )
            written = new_rows
        elif not differing:
            written = 0
        else:
            cursor.execute(
                f"DELETE FROM {row_t} WHERE id IN"
                " (SELECT old_id FROM rollup_diff WHERE dimension IS NULL)"
            )
            written = cursor.rowcount
            updates = ", ".join(f"{c} = d.{c}" for c in sql.COLUMNS[3:])
            cursor.execute(
                f"UPDATE {row_t} r SET {updates} FROM rollup_diff d"
                " WHERE r.id = d.old_id AND d.dimension IS NOT NULL"
            )
            written += cursor.rowcount
            cursor.execute(
                f"INSERT INTO {row_t} (project_id, dimension, key, key2, label, {values})"
                f" SELECT %(project)s, dimension, key, key2, label, {values} FROM rollup_diff"
                " WHERE old_id IS NULL",
                params,
            )
            written += cursor.rowcount
        if counts is None:
            cursor.execute("SELECT dimension, count(*) FROM rollup_new GROUP BY dimension")
            counts = dict(cursor.fetchall())
        cursor.execute(f"DELETE FROM {count_t} WHERE project_id = %(project)s", params)
        RollupCount.objects.bulk_create(
            [RollupCount(project_id=project_id, dimension=d, rows=n) for d, n in counts.items()]
        )
        cursor.execute("DROP TABLE IF EXISTS rollup_new, rollup_diff")
        if written > ANALYZE_ROWS:
            # A bulk write (a first recompute, a big import): the pages read these rows by
            # index, and without statistics the planner scans a dimension instead.
            cursor.execute(f"ANALYZE {row_t}")
    return written, drift


# Rows written by one recompute past which the rollup table is analyzed.
ANALYZE_ROWS = 50_000


def _differing_dimensions(cursor, project_id: int) -> tuple[list[str], dict[str, int]]:
    """The dimensions whose new rows differ from the stored ones, and how many new rows each
    dimension has. Compared by a fingerprint: how many
    rows, and the sum of a 64-bit hash of each whole row (key, label, numbers). One streaming
    pass over each side with a dozen groups, where a row-by-row join of two million rows hashes
    both sides into memory (and spills to disk at the default work_mem); only the dimensions
    that differ are then joined. Equal fingerprints with different rows would need a 64-bit
    collision in a sum."""
    row_t = RollupRow._meta.db_table
    whole = f"hashtextextended(({', '.join(sql.COLUMNS[1:])})::text, 0)"
    cursor.execute(
        f"""
        SELECT COALESCE(n.dimension, r.dimension), n.rows,
               (n.rows, n.hash) IS DISTINCT FROM (r.rows, r.hash)
        FROM (SELECT dimension, count(*) AS rows, sum({whole}) AS hash
              FROM rollup_new GROUP BY dimension) n
        FULL JOIN (SELECT dimension, count(*) AS rows, sum({whole}) AS hash
                   FROM {row_t} WHERE project_id = %(project)s GROUP BY dimension) r
          ON r.dimension = n.dimension
        """,
        {"project": project_id},
    )
    found = cursor.fetchall()
    differing = sorted(dimension for dimension, _rows, differ in found if differ)
    return differing, {dimension: rows for dimension, rows, _differ in found if rows}


def _analyze_stale() -> None:
    """ANALYZE the tables a full recompute reads when their statistics are missing or stale
    (a bulk load since the last ANALYZE: the table grew by a fifth, or many rows changed).
    Autovacuum is off on some servers and always lags a bulk load; without statistics the
    planner may pick a plan that runs for minutes instead of a second. Small tables (under
    1 MB) are left alone: any plan is fast there. Each ANALYZE waits at most 5 s for its lock
    and is skipped rather than fail the recompute."""
    tables = [
        model._meta.db_table
        for model in (Take, Review, Review.failure_tags.through, TakeContribution, Shot)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname FROM pg_class c
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.relname = ANY(%s) AND c.relkind = 'r'
              AND pg_relation_size(c.oid) > 128 * 8192 AND (
                c.reltuples < 0
                OR pg_relation_size(c.oid) / 8192 > 1.2 * c.relpages + 128
                OR COALESCE(s.n_mod_since_analyze, 0) > 0.1 * GREATEST(c.reltuples, 0) + 1000)
            """,
            [tables],
        )
        stale = [table for (table,) in cursor.fetchall()]
    for table in stale:
        log.info("analyzing %s: its planner statistics are missing or stale", table)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true)",
                    [f"{settings.DAILIES_ROLLUP_STATEMENT_TIMEOUT}s"],
                )
                cursor.execute(f'ANALYZE "{table}"')
        except DatabaseError as exc:
            log.warning("could not analyze %s (%s): recomputing anyway", table, exc)


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
    if not full and postgres() and state.ledger_at is not None:
        try:
            written = _incremental(project_id)
        except LedgerDrift as exc:
            log.warning("rollups ledger drift (%s): full recompute", exc)
            rebuild_ledger = True
    if written is None:
        if postgres():
            _analyze_stale()
        result = _full(
            project_id,
            write_all=write_all,
            rebuild_ledger=rebuild_ledger,
            progress=progress or (lambda percent, message: None),
        )
        if result is None:
            return None
        written, rebuilt = result
    _refresh_finished(
        project_id,
        written=written,
        seen_changes=seen_changes,
        rebuilt=rebuilt,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return written


def _refresh_finished(
    project_id: int, *, written: int, seen_changes: int, rebuilt: bool, duration_ms: float
) -> None:
    """The one place where a refresh of a project (incremental or full) has completed and its
    rows are committed: bump the revision the dashboards poll, clear a recorded failure, and
    clear the dirty mark unless writes arrived meanwhile. Hooks that react to new numbers
    (budget alerts, webhooks) belong here."""
    now = timezone.now()
    ProjectRollup.objects.filter(project_id=project_id).update(
        revision=F("revision") + 1,
        computed_at=now,
        duration_ms=duration_ms,
        rows_changed=written,
        failure="",
        **({"ledger_at": now} if rebuilt else {}),
    )
    # Writes that arrived while we computed keep the project dirty (their refresh is queued).
    ProjectRollup.objects.filter(project_id=project_id, changes=seen_changes).update(dirty=False)


def rollups_failed(*, project_id: int, reason: str) -> None:
    """Record a refresh that did not complete (time limit, statement or lock timeout, lost
    connection): the dashboards show it until a refresh succeeds. The project stays dirty."""
    ProjectRollup.objects.filter(project_id=project_id).update(
        failed_at=timezone.now(), failure=reason[:300]
    )


def rollups_refresh(*, project_id: int, progress: Progress | None = None) -> int | None:
    """Fold the changes logged since the last refresh into the rows (a full recompute when the
    project has no ledger yet). Returns how many rows were written, or None if it is gone."""
    return _refresh(project_id=project_id, full=False, progress=progress)


def rollups_recompute(
    *, project_id: int, ledger: bool = False, write_all: bool = False,
    progress: Progress | None = None,
) -> int | None:  # fmt: skip
    """Recompute every row from the grouped queries (the reference the incremental refresh
    must equal) and write the ones that differ, or every row with `write_all`. The
    contributions ledger is checked against the result and rebuilt from SQL when it is missing
    or has drifted, or always with `ledger=True`. A clean project whose rows change here had
    drifted: that is logged. Returns how many rows were written, or None if it is gone."""
    state = ProjectRollup.objects.filter(project_id=project_id).values("dirty").first()
    written = _refresh(
        project_id=project_id, full=True, write_all=write_all, rebuild_ledger=ledger,
        progress=progress,
    )  # fmt: skip
    if written and not write_all and state is not None and not state["dirty"]:
        log.warning("rollups of project %s drifted: %s rows corrected", project_id, written)
    return written


def rollups_rows(*, project_id: int) -> dict[RowKey, dict]:
    """The stored rows as comparable dicts (tests, the nightly drift check)."""
    return {
        (r["dimension"], r["key"], r["key2"]): {f: r[f] for f in VALUE_FIELDS}
        for r in RollupRow.objects.filter(project_id=project_id).values(
            "dimension", "key", "key2", *VALUE_FIELDS
        )
    }
