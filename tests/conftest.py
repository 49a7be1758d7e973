import copy
import importlib
import os
import pathlib
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction
from django.db.models.signals import post_migrate
from django.test import override_settings

from generations.models import Membership, Role
from studio.celery import app as celery_app

from .factories import ProjectFactory, PromptVersionFactory, ShotFactory, UserFactory
from .prefork import PreforkWorkers

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls from the
# live-server tests are still made synchronously.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "test-artifacts"


def pytest_configure(config):
    if not django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise pytest.UsageError(
            "The suite runs on PostgreSQL: set DATABASE_URL (`make test` does it for you)."
        )
    if not django_settings.CELERY_BROKER_URL.startswith("redis"):
        raise pytest.UsageError("The suite needs Redis: set CELERY_BROKER_URL (`make test`).")
    # Each xdist worker gets its own queue, so two in-test Celery workers never take each
    # other's tasks, and a developer's running worker (default queue) takes none of them.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    celery_app.conf.task_default_queue = f"dailies-test-{worker}"
    # The rollups queue is per worker too (settings route generations.tasks.rollups.* to it).
    celery_app.conf.task_routes = {
        "generations.tasks.rollups.*": {"queue": f"dailies-test-{worker}-rollups"}
    }
    celery_app.conf.task_always_eager = False
    # The cache is Redis too (settings fall back to the broker's database): one key prefix per
    # xdist worker, so parallel runs never read each other's recompute progress.
    cache = django_settings.CACHES["default"]
    if not cache["BACKEND"].endswith("RedisCache"):
        raise pytest.UsageError(
            "The suite needs a Redis cache: set CELERY_BROKER_URL or CACHE_URL."
        )
    cache["KEY_PREFIX"] = f"dailies-test-{worker}"
    post_migrate.connect(_reference_data_back, dispatch_uid="tests-reference-data")


def _reference_data_back(sender, **kwargs):
    """A transactional test ends with a flush of every table, which emits post_migrate (so
    Django puts its content types and permissions back): put back the reference data of the
    data migrations (failure taxonomy, default prices) the same way. Every test then starts
    from what the migrations made, whatever ran before it in this process (xdist hands each
    process its own mix of tests)."""
    if sender.name == "generations":
        reseed_reference_data()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Put back the reference data of the data migrations (failure taxonomy, default prices):
    a transactional test flushes every table, and with --reuse-db the next session would start
    without them. Idempotent (update_or_create / get_or_create)."""
    with django_db_blocker.unblock():
        reseed_reference_data()


REFERENCE_DATA_MIGRATIONS = ("0002_seed_taxonomy_and_prices", "0018_seed_provider_prices")


def reseed_reference_data() -> None:
    """Run the data migrations' seeds again (each idempotent) with the current models."""
    from django.apps import apps

    for name in REFERENCE_DATA_MIGRATIONS:
        importlib.import_module(f"generations.migrations.{name}").seed(apps, None)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def session_queues() -> list[str]:
    """This session's queues: the default (media) one and the rollups one."""
    rollups = celery_app.conf.task_routes["generations.tasks.rollups.*"]["queue"]
    return [celery_app.conf.task_default_queue, rollups]


@pytest.fixture(scope="session")
def celery_worker_session():
    """A real Celery worker (solo pool, in a thread) consuming this session's Redis queues
    (production runs one worker per queue; one worker taking both is enough here)."""
    from celery.contrib.testing.worker import start_worker

    queues = session_queues()
    with celery_app.connection_for_write() as conn:
        for queue in queues:
            conn.default_channel.queue_purge(queue)
    with start_worker(
        celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING", queues=queues
    ) as w:
        _session_worker.append(w)
        yield w
    _session_worker.clear()


_session_worker: list = []  # the in-thread worker, once a test has started it


@pytest.fixture
def celery_worker(celery_worker_session, transactional_db):
    """Use with tests whose tasks run in the worker: rows must be committed for it to see them.
    An earlier transactional test's flush removed the reference data: put it back first.
    Torn down only once the worker is idle: a task still running (a refresh queued by the
    test's last write) would otherwise deadlock with the flush's TRUNCATE of every table."""
    reseed_reference_data()
    yield celery_worker_session
    wait_for_idle_worker()


@pytest.fixture
def prefork_workers(transactional_db, tmp_path):
    """Real prefork workers in subprocesses (tests/prefork.py): `.start(module, ...)`. Set up
    after transactional_db, so stopped before its flush of the tables they may still hold."""
    workers = PreforkWorkers(tmp_path)
    try:
        yield workers
    finally:
        workers.stop_all()


# --- rows made once per module --------------------------------------------------------------


@pytest.fixture(scope="module")
def module_db(request, django_db_setup, django_db_blocker, tmp_path_factory):
    """Rows made once for a whole module, as Django's `TestCase.setUpTestData` does: the module
    holds one outer transaction, each test's `db` runs in a savepoint inside it and is rolled
    back to exactly these rows, and the outer transaction is rolled back after the module.
    Yields the module's MEDIA_ROOT (files saved with the rows live there; the module's tests
    point MEDIA_ROOT at it). Only for modules whose tests all use plain `db`: a transactional
    test, a live server or a worker needs committed rows and would not see these."""
    committing = [
        item.name
        for item in request.session.items
        if item.module is request.module and "transactional_db" in item.fixturenames
    ]
    if committing:
        raise pytest.UsageError(f"module_db holds a transaction open, {committing} commit")
    media = tmp_path_factory.mktemp("module-media")
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(PASSWORD_HASHERS=hashers, MEDIA_ROOT=media):
            yield media
        transaction.set_rollback(True)


def module_rows_made() -> None:
    """Call at the end of a module's row-making fixture: checks the deferred foreign keys of the
    rows now, once (else each test's constraint check in its savepoint would redo it)."""
    connection.check_constraints()


def per_test_copy(rows):
    """A fresh copy of a module's rows for one test, as setUpTestData hands each test its own
    instances: what a test changes in memory never reaches the next test."""
    return copy.deepcopy(rows)


def wait_for_idle_worker(timeout: float = 10.0) -> None:
    """Until the session worker has nothing left to do: this session's queues are empty and it
    runs, holds or schedules no task, seen twice 50 ms apart (a message just taken off a queue
    is registered as reserved a moment later)."""
    from celery.worker import state
    from kombu.exceptions import ChannelError

    def queued(channel, queue: str) -> int:
        try:
            return channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:  # Redis keeps no empty list: an empty queue "does not exist"
            return 0

    deadline = time.monotonic() + timeout
    idle = 0
    with celery_app.connection_for_read() as conn:
        while time.monotonic() < deadline:
            busy = state.active_requests or state.reserved_requests or state.scheduled_requests
            if busy or any(queued(conn.default_channel, q) for q in session_queues()):
                idle = 0
            else:
                idle += 1
                if idle == 2:
                    return
            time.sleep(0.05)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Before a transactional test's flush, wait for the session worker to be idle, as the
    celery_worker fixture does: once started, the worker consumes this process's queues for the
    rest of the session, also the tasks that a test without `celery_worker` enqueues when it
    commits (a rollups refresh after an import), and a refresh still running deadlocks with the
    flush's TRUNCATE of every table."""
    if _session_worker and _flushes(item):
        wait_for_idle_worker()
    return (yield)


def _flushes(item) -> bool:
    """Whether the test ends with a flush of every table (a transactional test)."""
    marker = item.get_closest_marker("django_db")
    if marker and (marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences")):
        return True
    return not {"transactional_db", "live_server"}.isdisjoint(item.fixturenames)


# --- personas: an owner, a teammate per role, an outsider ------------------------------------


def make_project():
    return ProjectFactory(name="Neon Market", slug="neon-market")


def make_owner(project):
    user = UserFactory(username="owner@studio.test")
    Membership.objects.create(project=project, user=user, role=Role.LEAD, is_owner=True)
    return user


def make_members(project, owner) -> dict:
    """One user per role, keyed by role; plus the owner."""
    out = {"owner": owner}
    for role in (Role.LEAD, Role.EDITOR, Role.PRODUCER, Role.VIEWER):
        user = UserFactory(username=f"{role}@studio.test")
        Membership.objects.create(project=project, user=user, role=role)
        out[str(role)] = user
    return out


def make_outsider():
    other = ProjectFactory(name="Elsewhere", slug="elsewhere")
    user = UserFactory(username="outsider@studio.test")
    Membership.objects.create(project=other, user=user, role=Role.LEAD, is_owner=True)
    return user


@pytest.fixture
def project(db):
    return make_project()


@pytest.fixture
def owner(project):
    return make_owner(project)


@pytest.fixture
def members(project, owner):
    """One user per role, keyed by role; plus the owner."""
    return make_members(project, owner)


@pytest.fixture
def outsider(db):
    return make_outsider()


@pytest.fixture
def shot(project):
    return ShotFactory(project=project, name="opening-street")


@pytest.fixture
def version(shot, owner):
    return PromptVersionFactory(shot=shot, number=1, author=owner)


@pytest.fixture
def artifacts_dir():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
