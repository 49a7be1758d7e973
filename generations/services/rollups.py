"""The one entry point every write uses to tell the analytics that a project changed.

Called inside the writer's transaction; the refresh is enqueued only after commit, so a worker
never reads rows that are not there yet, and a rolled-back write enqueues nothing."""

import logging

from django.db import transaction

log = logging.getLogger(__name__)


def rollups_schedule(*, project_id: int) -> None:
    def enqueue() -> None:
        from ..tasks import rollups_refresh

        try:
            rollups_refresh.delay(project_id)
        except Exception:  # broker down: the write is saved; the reconciler catches up
            log.warning("could not enqueue rollups refresh for project %s", project_id)

    transaction.on_commit(enqueue)
