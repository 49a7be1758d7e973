"""Refreshes of one project run one at a time, with timeouts, and leave nothing behind.

A PostgreSQL advisory lock per project serializes them (not a lock on the ProjectRollup row:
writers bump that row, and must never wait for a refresh), and each runs in one REPEATABLE READ
snapshot taken after the lock. Every statement has a statement timeout and a lock timeout below
the task's soft time limit; a refresh interrupted while a query runs cancels that query in the
server; and if the worker dies outright, the server notices the closed connection within a
second (client_connection_check_interval) and ends the query, releasing the lock."""

import logging
from contextlib import contextmanager

from django.conf import settings
from django.db import DatabaseError, connection, transaction

log = logging.getLogger(__name__)

# pg_advisory_lock(class, project id): the class keeps our keys apart from other users'.
LOCK_CLASS = 7301
# Past this many changed takes a grouped recompute is cheaper than swapping their entries.


def postgres() -> bool:
    return connection.vendor == "postgresql"


def _timeouts(cursor, *, local: bool) -> None:
    """Statement and lock timeouts below the task's soft time limit (studio/settings.py)."""
    # client_connection_check_interval: if the worker dies outright (SIGKILL, OOM), the server
    # notices the closed socket within a second and ends the query instead of running it on.
    cursor.execute(
        "SELECT set_config('statement_timeout', %s, %s), set_config('lock_timeout', %s, %s),"
        " set_config('client_connection_check_interval', '1s', %s)",
        [
            f"{settings.DAILIES_ROLLUP_STATEMENT_TIMEOUT}s", local,
            f"{settings.DAILIES_ROLLUP_LOCK_TIMEOUT}s", local, local,
        ],
    )  # fmt: skip


RESET = "RESET statement_timeout; RESET lock_timeout; RESET client_connection_check_interval"


def rollups_running(*, project_ids) -> set[int]:
    """Projects whose refresh holds its advisory lock right now (a live session runs it)."""
    if not postgres():
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
            " AND objsubid = 2 AND granted AND objid = ANY(%s::oid[])"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [LOCK_CLASS, list(project_ids)],
        )
        return {int(row[0]) for row in cursor.fetchall()}


def _abandon_running_query() -> None:
    """Called when the refresh is interrupted from outside (the task's soft time limit raises
    inside a running query): cancel that query in the server now. Without this the statement
    would run on after the task gave up, holding the snapshot and the project's advisory lock.
    The transaction's rollback then fails on the busy connection and Django drops it, which
    ends the session and releases its lock."""
    raw = connection.connection
    pgconn = getattr(raw, "pgconn", None)
    if pgconn is None:
        return
    from psycopg import pq

    if pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
        try:
            raw.cancel_safe(timeout=5)
        except Exception:  # the session may be gone already
            log.warning("could not cancel the running rollups query")
        connection.close()


@contextmanager
def serialized(project_id: int):
    """One refresh of this project at a time, in one snapshot taken after the lock, with
    statement and lock timeouts; an interrupted refresh leaves no query running."""
    if not postgres():
        with transaction.atomic():
            yield
        return
    if connection.in_atomic_block:  # inside a caller's transaction (tests): its snapshot
        with transaction.atomic(), connection.cursor() as cursor:
            _timeouts(cursor, local=True)
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_CLASS, project_id])
            yield
        return
    with connection.cursor() as cursor:
        _timeouts(cursor, local=False)
        try:  # waits behind a running refresh of this project, up to the lock timeout
            cursor.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, project_id])
        except DatabaseError:
            cursor.execute(RESET)
            raise
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            try:
                yield
            except BaseException:
                _abandon_running_query()
                raise
    finally:
        try:
            if connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, project_id])
                    cursor.execute(RESET)
        except DatabaseError:  # the session is gone, and its lock with it
            log.warning("could not release the rollups lock of project %s", project_id)


# Above this many takes, a statement over the whole project is planned without nested loops.
BULK_TAKES = 2000


@contextmanager
def bulk_plans(project_id: int):
    """Around a statement that reads a whole project (the grouped rows, the ledger rebuild):
    no nested loops once the project is big. Without statistics (a fresh bulk load) the planner
    estimates one row per project and nests a whole aggregate inside a loop over the takes:
    minutes instead of a second (seen: 8 min, 291 ms after ANALYZE). For these statements on a
    big project hash joins are always right; a small project keeps the planner's choice (index
    lookups beat scanning other projects' rows), and the per-take lookups of the incremental
    refresh keep their nested loops. Needs a transaction (SET LOCAL)."""
    from ...models import Take

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*) FROM (SELECT 1 FROM {Take._meta.db_table} WHERE project_id = %s"
            " LIMIT %s) t",
            [project_id, BULK_TAKES + 1],
        )
        if cursor.fetchone()[0] <= BULK_TAKES:
            yield
            return
        # And without JIT: the grouped statement is one plan of ~460 expressions, whose
        # compilation alone took 9 of its 25 s at 1M takes (EXPLAIN ANALYZE, PostgreSQL 15).
        cursor.execute("SET LOCAL enable_nestloop = off; SET LOCAL jit = off")
    try:
        yield
    finally:
        if connection.connection is not None and not connection.needs_rollback:
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL enable_nestloop = on; SET LOCAL jit TO DEFAULT")
            except DatabaseError:  # the transaction failed: it ends, and the setting with it
                pass
