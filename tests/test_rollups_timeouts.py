"""Nothing wedges: a refresh has statement and lock timeouts below its task's soft time limit;
one that times out leaves no query running and no lock held, is recorded as failed and is
retried; the reconciler picks up a job whose worker died, and leaves a running one alone."""

import time
from datetime import timedelta
from unittest import mock

import psycopg
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from generations.models import JobState, ProjectRollup
from generations.services import rollups as rollup_services
from generations.services.rollups import guard, schedule
from generations.services.rollups import refresh as rollup_refresh
from generations.tasks import rollups_refresh

from .prefork import worker_database_url
from .test_rollups_worker import slow_worker, wait_for  # noqa: F401
from .test_stats import fixture_project  # noqa: F401

pytestmark = pytest.mark.worker


def others(sql: str, params=()) -> list[tuple]:
    """A query from a connection of its own (not the one the code under test uses)."""
    with psycopg.connect(worker_database_url(), autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def sleeping_queries() -> list[tuple]:
    return others(
        "SELECT pid, state, query FROM pg_stat_activity"
        " WHERE datname = current_database() AND query LIKE %s AND query NOT LIKE %s"
        " AND pid <> pg_backend_pid()",
        ["%pg_sleep%", "%pg_stat_activity%"],
    )


def lock_holders(project_id: int) -> list[tuple]:
    return others(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = %s"
        " AND objid = %s AND objsubid = 2 AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        [guard.LOCK_CLASS, project_id],
    )


@pytest.fixture
def committed(transactional_db, request):
    """The stats fixture project, committed (the code under test runs outside a test
    transaction, as in a worker), built without enqueueing refreshes: an in-thread worker left
    running by an earlier test would otherwise refresh it concurrently, and with this test's
    patched settings."""
    with mock.patch.object(schedule, "rollups_enqueue", lambda **kwargs: False):
        return request.getfixturevalue("fixture_project")


def test_a_refresh_killed_at_its_time_limit_leaves_no_query_running(slow_worker, committed):  # noqa: F811
    """A real prefork worker whose first full refresh sits in PostgreSQL (pg_sleep, one second
    per statement, under the statement timeout) when its 3 s soft time limit strikes."""
    project = committed
    expected = rollup_services.rollups_rows(project_id=project.pk)
    ProjectRollup.objects.filter(project=project).update(ledger_at=None, dirty=True)
    proc, marker, queue = slow_worker(
        sleep=60,
        SLOW_WORKER_TASK="generations.tasks.rollups.rollups_refresh",
        SLOW_WORKER_SQL="1",
        DAILIES_ROLLUP_SOFT_TIME_LIMIT="3",
        DAILIES_ROLLUP_TIME_LIMIT="30",
        DAILIES_ROLLUP_STATEMENT_TIMEOUT="2",
    )
    # The sender's limits travel with the message (here: those the worker was started with).
    rollups_refresh.apply_async(args=[project.pk], queue=queue, soft_time_limit=3, time_limit=30)
    # A loaded machine takes a while to start a worker.
    assert wait_for(lambda: marker.exists() and marker.read_text().strip(), timeout=45)
    assert wait_for(lambda: sleeping_queries(), timeout=5)  # it really is in the server
    assert lock_holders(project.pk)

    def failed():
        return ProjectRollup.objects.get(project=project).failure.startswith("refresh failed")

    assert wait_for(failed, timeout=15, every=0.05)
    state = ProjectRollup.objects.get(project=project)
    assert "time limit" in state.failure and state.failed_at is not None
    # Within a moment of the time limit, nothing of it is left in the database.
    assert wait_for(lambda: not sleeping_queries(), timeout=2), sleeping_queries()
    assert proc.poll() is None  # the soft limit, not a crash: the worker lives on
    # The retry (5 s later, untouched by the fault) completes: failure cleared, rows right.
    assert wait_for(lambda: not ProjectRollup.objects.get(project=project).failure, timeout=20)
    assert not lock_holders(project.pk)
    assert rollup_services.rollups_rows(project_id=project.pk) == expected
    assert ProjectRollup.objects.get(project=project).ledger_at is not None


def test_a_statement_past_its_timeout_fails_and_releases_everything(
    committed, settings, monkeypatch
):
    settings.DAILIES_ROLLUP_STATEMENT_TIMEOUT = 1

    def slow_insert(table, project_id):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(5)")

    monkeypatch.setattr(rollup_refresh.sql, "rows_insert", slow_insert)
    started = time.monotonic()
    with pytest.raises(OperationalError, match="statement timeout"):
        rollup_services.rollups_recompute(project_id=committed.pk)
    assert time.monotonic() - started < 4
    assert not lock_holders(committed.pk)
    assert not sleeping_queries()
    with connection.cursor() as cursor:  # the session's own settings are back to defaults
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "0"


def test_a_refresh_waits_for_the_lock_no_longer_than_its_lock_timeout(committed, settings):
    settings.DAILIES_ROLLUP_LOCK_TIMEOUT = 1
    with psycopg.connect(worker_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [guard.LOCK_CLASS, committed.pk])
        started = time.monotonic()
        with pytest.raises(OperationalError, match="lock timeout"):
            rollup_services.rollups_recompute(project_id=committed.pk)
        assert time.monotonic() - started < 3
    # The other session ended: its lock went with it, and the recompute goes through.
    assert rollup_services.rollups_recompute(project_id=committed.pk) is not None
    assert rollup_services.rollups_rows(project_id=committed.pk) == rollup_services.rollups_compute(
        project_id=committed.pk
    )


@pytest.fixture
def sent(monkeypatch):
    calls = {"refresh": [], "recompute": []}
    from generations import tasks

    monkeypatch.setattr(
        tasks.rollups_refresh, "apply_async", lambda args, **kw: calls["refresh"].append(args[0])
    )
    monkeypatch.setattr(
        tasks.rollups_recompute,
        "apply_async",
        lambda args, **kw: calls["recompute"].append(args[0]),
    )
    return calls


def test_the_reconciler_reclaims_a_job_whose_worker_died(committed, sent):
    project = committed
    long_ago = timezone.now() - timedelta(minutes=2)
    # A refresh claimed two minutes ago whose message never ran (its worker node died).
    ProjectRollup.objects.filter(project=project).update(
        dirty=True, queued=True, queued_at=long_ago
    )
    assert rollup_services.rollups_reconcile() == [project.pk]
    assert sent["refresh"] == [project.pk]
    # An owner's recompute marked running, with no session holding the project's lock.
    ProjectRollup.objects.filter(project=project).update(
        dirty=False, job_state=JobState.RUNNING, job_updated_at=long_ago
    )
    rollup_services.rollups_reconcile()
    assert sent["recompute"] == [project.pk]


def test_the_reconciler_leaves_a_running_refresh_alone(committed, sent):
    project = committed
    ProjectRollup.objects.filter(project=project).update(
        dirty=True, queued=False, job_state=JobState.RUNNING,
        job_updated_at=timezone.now() - timedelta(minutes=5),
    )  # fmt: skip
    with psycopg.connect(worker_database_url(), autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [guard.LOCK_CLASS, project.pk])
        assert rollup_services.rollups_running(project_ids=[project.pk]) == {project.pk}
        assert rollup_services.rollups_reconcile() == []
        assert sent == {"refresh": [], "recompute": []}
    assert rollup_services.rollups_reconcile() == [project.pk]
