"""Rollup refreshes run on a queue of their own, so long media decodes never delay the
dashboards; the in-test worker consumes both of the session's queues."""

from django.conf import settings

from generations.tasks import rollups_recompute, rollups_refresh, take_process_media
from studio.celery import app as celery_app

from .conftest import session_queues


def routed_queue(task, **options) -> str:
    return celery_app.amqp.router.route(options, task.name, args=(1,))["queue"].name


def test_rollups_tasks_go_to_the_rollups_queue_and_media_to_the_default_one():
    default, rollups = session_queues()
    assert rollups != default
    assert routed_queue(rollups_refresh) == rollups
    assert routed_queue(rollups_recompute) == rollups
    assert routed_queue(take_process_media) == default
    # An explicit queue still wins (tests/slow_worker.py is sent work that way).
    assert routed_queue(rollups_recompute, queue="elsewhere") == "elsewhere"


def test_production_settings_route_rollups_to_their_own_queue():
    route = settings.CELERY_TASK_ROUTES["generations.tasks.rollups.*"]
    assert route == {"queue": settings.DAILIES_ROLLUPS_QUEUE}
    assert f"{settings.CELERY_TASK_DEFAULT_QUEUE}-rollups" == settings.DAILIES_ROLLUPS_QUEUE
