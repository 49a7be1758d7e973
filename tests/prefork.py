"""A real prefork Celery worker in a subprocess, for the tests that SIGKILL its pool process or
hold it mid-task (tests/slow_worker.py, tests/gen_worker.py).

The worker gets this process's test database, broker and cache (same key prefix: the worker
reports progress there), and consumes a queue of its own named after this session's queue: the
in-thread session worker, once started by an earlier test, keeps consuming the session queue and
would take the message. The `prefork_workers` fixture (tests/conftest.py) stops every worker it
started before transactional_db flushes the tables a worker may still hold."""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

from django.conf import settings

from studio.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent


def worker_database_url() -> str:
    """The test database as a URL (NAME is the pytest-django test database here)."""
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "") + (":" + quote(db["PASSWORD"]) if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class PreforkWorkers:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.started: list[subprocess.Popen] = []

    def start(
        self, module: str, *, queue_suffix: str, marker: str, **env: str
    ) -> tuple[subprocess.Popen, Path, str]:
        """`python -m <module> worker` (prefork, one pool process) on the queue
        `<session queue>-<queue_suffix>`, emptied first; `env` adds to or overrides the worker's
        environment. Returns (process, the marker path as SLOW_WORKER_MARKER, queue)."""
        queue = f"{celery_app.conf.task_default_queue}-{queue_suffix}"
        with celery_app.connection_for_write() as conn:
            conn.default_channel.queue_purge(queue)
        marker_path = self.tmp_path / marker
        cache = settings.CACHES["default"]
        worker_env = {
            **os.environ,
            "DATABASE_URL": worker_database_url(),
            "SECRET_KEY": settings.SECRET_KEY,
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            # Its rollups route to the one queue it consumes.
            "CELERY_ROLLUPS_QUEUE": queue,
            "CACHE_URL": cache["LOCATION"],
            "CACHE_KEY_PREFIX": cache["KEY_PREFIX"],
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "SLOW_WORKER_MARKER": str(marker_path),
            **env,
        }
        log = (self.tmp_path / f"{module.rsplit('.', 1)[-1]}.log").open("ab")  # read on failure
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "worker", "--pool=prefork", "--concurrency=1",
             "-Q", queue, "--loglevel=WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()  # the child has its own descriptor
        self.started.append(proc)
        return proc, marker_path, queue

    def stop_all(self) -> None:
        for proc in self.started:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
