"""A real Celery worker (prefork) for tests, with one fault injected by the harness: the FIRST
rollups recompute it runs writes its pool process's pid to a marker file and sleeps in the middle
of the recompute, inside the refresh transaction (just before the grouped rows are inserted), so
a test can SIGKILL it there or watch its progress; it goes on once `<marker>.go` exists, or after
SLOW_WORKER_SLEEP seconds. Later runs, in any pool process, are untouched.

    SLOW_WORKER_MARKER=/tmp/m SLOW_WORKER_SLEEP=30 python -m tests.slow_worker worker -Q q ...

With SLOW_WORKER_TASK=generations.tasks.rollups.rollups_refresh and SLOW_WORKER_SQL=1, the
first full refresh sleeps inside PostgreSQL instead (`SELECT pg_sleep(1)` in a loop, each
statement shorter than the statement timeout), so the task's soft time limit strikes while a
query runs in the server.

The environment carries the test process's DATABASE_URL (the test database), broker, queue and
cache prefix."""

import os
import sys
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django.setup()

from celery.signals import task_prerun  # noqa: E402
from django.db import connection  # noqa: E402

from generations.services.rollups import sql  # noqa: E402
from studio.celery import app  # noqa: E402

MARKER = Path(os.environ["SLOW_WORKER_MARKER"])
SLEEP = float(os.environ.get("SLOW_WORKER_SLEEP", "30"))
RECOMPUTE = os.environ.get("SLOW_WORKER_TASK", "generations.tasks.rollups.rollups_recompute")
IN_SQL = os.environ.get("SLOW_WORKER_SQL") == "1"
running = {"task": None}


@task_prerun.connect
def _note_task(task=None, **kwargs):
    running["task"] = task.name if task else None


def _slow(step):
    def wrapper(*args, **kwargs):
        if running["task"] == RECOMPUTE:
            try:
                with MARKER.open("x") as marker:  # "x": only the first run ever gets here
                    marker.write(str(os.getpid()))
            except FileExistsError:
                pass
            else:
                if IN_SQL:
                    started = time.monotonic()
                    with connection.cursor() as cursor:
                        while time.monotonic() - started < SLEEP:
                            cursor.execute("SELECT pg_sleep(1)")
                else:
                    # Until the test lets it go (a loaded machine makes any fixed pause too
                    # short to look at it mid-run), at most SLEEP seconds.
                    release = MARKER.with_name(MARKER.name + ".go")
                    deadline = time.monotonic() + SLEEP
                    while not release.exists() and time.monotonic() < deadline:
                        time.sleep(0.02)
        return step(*args, **kwargs)

    return wrapper


# Patched in the parent before the pool forks, so every pool process inherits it.
sql.rows_insert = _slow(sql.rows_insert)

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])
