import pytest

from generations.tasks import rollups_refresh


@pytest.mark.worker
def test_a_real_worker_runs_tasks_from_redis(celery_worker, project):
    result = rollups_refresh.apply_async(args=[project.pk])
    assert result.id
