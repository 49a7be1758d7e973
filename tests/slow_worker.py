"""A real Celery worker (prefork) for tests, with one fault injected by the harness: the FIRST
rollups recompute it runs writes its pool process's pid to a marker file and sleeps in the middle
of the recompute, inside the refresh transaction (during the grouped failure-tag query), so a
test can SIGKILL it there or watch its progress. Later runs, in any pool process, are untouched.

    SLOW_WORKER_MARKER=/tmp/m SLOW_WORKER_SLEEP=30 python -m tests.slow_worker worker -Q q ...

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

from generations.services.rollups import compute  # noqa: E402
from studio.celery import app  # noqa: E402

MARKER = Path(os.environ["SLOW_WORKER_MARKER"])
SLEEP = float(os.environ.get("SLOW_WORKER_SLEEP", "30"))
RECOMPUTE = "generations.tasks.rollups.rollups_recompute"
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
                time.sleep(SLEEP)
        return step(*args, **kwargs)

    return wrapper


# Patched in the parent before the pool forks, so every pool process inherits it.
compute._tags_in_one_scan = _slow(compute._tags_in_one_scan)

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])
