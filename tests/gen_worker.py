"""A real prefork Celery worker for the generation tests: the pool process that runs a
`generation_submit` writes its pid to SLOW_WORKER_MARKER first (once), so a test can SIGKILL
it while it waits for the provider's reply.

    SLOW_WORKER_MARKER=/tmp/m python -m tests.gen_worker worker -Q q ...

The environment carries the test process's database, broker, queue and provider settings."""

import os
import sys
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django.setup()

from celery.signals import task_prerun  # noqa: E402

from studio.celery import app  # noqa: E402

MARKER = Path(os.environ["SLOW_WORKER_MARKER"])
SUBMIT = "generations.tasks.generation.generation_submit"


@task_prerun.connect
def _note_pid(task=None, **kwargs):
    if task is not None and task.name == SUBMIT:
        try:
            with MARKER.open("x") as marker:  # only the first submission ever writes it
                marker.write(str(os.getpid()))
        except FileExistsError:
            pass


if __name__ == "__main__":
    app.worker_main(sys.argv[1:])
