"""Integration with a real Celery worker over Redis (tests/conftest.py): rows are committed, the
refresh is enqueued after commit, and the worker computes it."""

import os
import re
import signal
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import OperationalError
from django.urls import reverse

from generations.models import FailureTag, JobState, Membership, ProjectRollup, Role, RollupRow
from generations.selectors.stats import project_stats
from generations.services import rollups as rollup_services
from generations.services.reviews import review_record
from generations.services.rollups import refresh as rollup_refresh
from generations.tasks import rollups_recompute, rollups_reconcile, rollups_refresh

from .browser.support import seed_taxonomy
from .factories import ProjectFactory, PromptVersionFactory, ShotFactory, TakeFactory, UserFactory
from .test_stats import fixture_project  # noqa: F401  (every category a different count)

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _reseed_taxonomy_after_flush(django_db_blocker):
    """Set up before the worker's transactional_db, so torn down after its flush: put the seeded
    taxonomy back for the tests that follow (it comes from a data migration)."""
    yield
    with django_db_blocker.unblock():
        seed_taxonomy()


def wait_for(predicate, timeout: float = 30.0, every: float = 0.02):
    """Poll until `predicate()`; the deadline only matters when a test fails, so it is generous
    (a machine at load 15 made 5-10 s deadlines fail tests that pass)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


@pytest.fixture
def setup(celery_worker):
    project = ProjectFactory(slug="live", budget_usd=Decimal("100"))
    lead = UserFactory(username="lead@studio.test")
    Membership.objects.create(project=project, user=lead, role=Role.LEAD, is_owner=True)
    version = PromptVersionFactory(shot=ShotFactory(project=project, name="alley"), number=1)
    takes = [TakeFactory(prompt_version=version, model=m) for m in ("sora-2", "veo-3", "sora-2")]
    rollup_services.rollups_refresh(project_id=project.pk)
    return project, lead, takes


def test_a_verdict_posted_through_the_web_shows_in_the_stats_api_within_2_seconds(client, setup):
    project, lead, takes = setup
    client.force_login(lead)
    api = reverse("api-v1:project_stats", args=[project.slug])
    assert client.get(api).json()["accepted"] == 0
    started = time.monotonic()
    response = client.post(
        reverse("review_verdict", args=[project.slug, takes[1].pk]), {"verdict": "accept"}
    )
    assert response.status_code in (200, 302)

    def visible():
        data = client.get(api).json()
        return data["accepted"] == 1 and data["by_model"]["veo-3"]["accepted"] == 1

    assert wait_for(visible, timeout=2.0)
    assert time.monotonic() - started < 2.0


def test_a_task_run_twice_leaves_the_same_rows(setup):
    project, lead, takes = setup
    review_record(take=takes[0], reviewer=lead, verdict="reject",
                  tags=[FailureTag.objects.get_or_create(slug="flicker")[0]])  # fmt: skip
    assert wait_for(lambda: not ProjectRollup.objects.get(project=project).dirty)
    first = rollup_services.rollups_rows(project_id=project.pk)
    revision = ProjectRollup.objects.get(project=project).revision
    rollups_refresh.delay(project.pk)
    rollups_refresh.delay(project.pk)
    assert wait_for(lambda: ProjectRollup.objects.get(project=project).revision >= revision + 2)
    assert rollup_services.rollups_rows(project_id=project.pk) == first
    assert first[("tag", "flicker", "")]["takes"] == 1


def test_a_recompute_interrupted_midway_converges_after_the_retry(setup, monkeypatch):
    """The worker 'dies' after deleting the old rows, inside the recompute's transaction: the
    rows roll back, the message is retried (acks_late, autoretry with backoff) and the numbers
    equal a full recompute."""
    project, lead, takes = setup
    review_record(take=takes[2], reviewer=lead, verdict="accept")
    calls = []
    real_insert = rollup_refresh.sql.rows_insert

    def crash_once(table, project_id):
        calls.append(project_id)
        if len(calls) == 1:
            rollup_refresh.RollupRow.objects.filter(project_id=project_id).delete()
            raise OperationalError("server closed the connection unexpectedly (simulated)")
        return real_insert(table, project_id)

    monkeypatch.setattr(rollup_refresh.sql, "rows_insert", crash_once)
    assert rollup_services.rollups_job_start(project_id=project.pk)
    rollups_recompute.delay(project.pk)
    assert wait_for(
        lambda: ProjectRollup.objects.get(project=project).job_state == JobState.DONE, timeout=60
    )
    assert len(calls) == 2
    stored = rollup_services.rollups_rows(project_id=project.pk)
    assert stored == rollup_services.rollups_compute(project_id=project.pk)
    stats = project_stats(project=project)
    assert (stats["accepted"], stats["by_model"]["sora-2"]["accepted"]) == (1, 1)


def test_a_burst_of_verdicts_coalesces_into_a_few_refreshes(setup):
    project, lead, _ = setup
    version = project.shots.get().versions.get()
    takes = [TakeFactory(prompt_version=version, model="kling-2") for _ in range(30)]
    rollup_services.rollups_refresh(project_id=project.pk)
    before = ProjectRollup.objects.get(project=project).revision
    for i, take in enumerate(takes):
        review_record(take=take, reviewer=lead, verdict="accept" if i % 3 == 0 else "reject")

    def settled():
        state = ProjectRollup.objects.get(project=project)
        return not state.dirty and not state.queued

    assert wait_for(settled)
    refreshes = ProjectRollup.objects.get(project=project).revision - before
    assert 1 <= refreshes < 10  # 30 verdicts, a handful of refreshes
    assert project_stats(project=project)["by_model"]["kling-2"]["accepted"] == 10
    # Refreshes ran while verdicts were being committed: the rows still equal a recompute.
    stored = rollup_services.rollups_rows(project_id=project.pk)
    assert stored == rollup_services.rollups_compute(project_id=project.pk)


def test_broker_down_keeps_the_verdict_and_the_reconciler_catches_up(setup, monkeypatch):
    project, lead, takes = setup

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to redis (simulated)")

    with monkeypatch.context() as m:
        m.setattr(rollups_refresh, "apply_async", broker_down)
        review_record(take=takes[0], reviewer=lead, verdict="accept")
    state = ProjectRollup.objects.get(project=project)
    assert state.dirty and not state.queued
    assert project_stats(project=project)["accepted"] == 0  # not folded in yet
    rollups_reconcile.delay()
    assert wait_for(lambda: not ProjectRollup.objects.get(project=project).dirty)
    assert project_stats(project=project)["accepted"] == 1


# --- a real prefork worker in a subprocess (tests/slow_worker.py) ----------------------------


@pytest.fixture
def slow_worker(prefork_workers):
    """Start `python -m tests.slow_worker` (tests/prefork.py) whose first recompute stops
    mid-transaction (before the grouped rows are inserted) until `<marker>.go` exists, or for
    `sleep` seconds at most.
    Yields start(sleep, **env) -> (process, marker, queue)."""

    def start(sleep: float, **extra_env: str):
        return prefork_workers.start(
            "tests.slow_worker",
            queue_suffix="prefork",
            marker="recompute.pid",
            SLOW_WORKER_SLEEP=str(sleep),
            **extra_env,
        )

    return start


def test_a_worker_killed_mid_recompute_redelivers_and_converges(slow_worker, fixture_project):  # noqa: F811
    """SIGKILL the pool process while the recompute sits inside its transaction: the database
    rolls the transaction back, the parent sees the worker lost, acks_late +
    reject_on_worker_lost put the message back, a fresh pool process runs it to the end."""
    project = fixture_project
    # Drift the stored rows, so only a recompute that really ran to the end repairs them.
    RollupRow.objects.filter(project=project, dimension="model").update(takes=99)
    assert rollup_services.rollups_rows(project_id=project.pk) != rollup_services.rollups_compute(
        project_id=project.pk
    )
    proc, marker, queue = slow_worker(sleep=60)
    assert rollup_services.rollups_job_start(project_id=project.pk)
    rollups_recompute.apply_async(args=[project.pk], queue=queue)

    assert wait_for(lambda: marker.exists() and marker.read_text().strip(), timeout=90)
    child = int(marker.read_text())
    assert child != proc.pid  # the pool process, not the parent
    assert ProjectRollup.objects.get(project=project).job_state == JobState.RUNNING
    os.kill(child, signal.SIGKILL)

    assert wait_for(
        lambda: ProjectRollup.objects.get(project=project).job_state == JobState.DONE, timeout=90
    )
    assert proc.poll() is None  # the parent survived and forked a new pool process
    stored = rollup_services.rollups_rows(project_id=project.pk)
    assert stored == rollup_services.rollups_compute(project_id=project.pk)
    assert stored[("model", "sora-2", "")]["takes"] == 5
    state = ProjectRollup.objects.get(project=project)
    # Nothing left queued or running: the job ended, the bar shows it.
    assert (state.job_state, state.job_progress) == (JobState.DONE, 100)


def test_the_recompute_bar_moves_while_the_worker_runs(client, slow_worker, fixture_project):  # noqa: F811
    """Progress comes from inside the recompute's snapshot through the cache: the dashboard and
    the progress endpoint show a step between 0 and 100 while the worker is mid-recompute, then
    100 and Done."""
    project = fixture_project
    owner = UserFactory(username="owner@studio.test")
    Membership.objects.create(project=project, user=owner, role=Role.LEAD, is_owner=True)
    client.force_login(owner)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert cache.make_key("job").startswith(f"dailies-test-{worker}:")  # not another run's keys
    _, marker, queue = slow_worker(sleep=120)  # held until the test has seen it mid-run
    assert rollup_services.rollups_job_start(project_id=project.pk)
    rollups_recompute.apply_async(args=[project.pk], queue=queue)

    def bar(html: str) -> int:
        return int(re.search(r'<progress id="recompute-bar" max="100" value="(\d+)"', html)[1])

    # The worker sits before the grouped rows are inserted, inside its REPEATABLE READ snapshot.
    assert wait_for(marker.exists, timeout=90)
    page = client.get(reverse("dashboard", args=[project.slug, "producer"])).content.decode()
    assert 0 < bar(page) < 100 and "Recompute: Running" in page
    assert 'hx-trigger="every 1s"' in page  # the page polls the bar

    progress_url = reverse("stats_progress", args=[project.slug])
    seen = []

    def finished():
        html = client.get(progress_url, headers={"HX-Request": "true"}).content.decode()
        seen.append((bar(html), html))
        return "Recompute: Done" in html

    assert not finished()  # still mid-run: the worker waits for the test
    marker.with_name(marker.name + ".go").touch()
    assert wait_for(finished, timeout=60, every=0.05)
    middle = [html for percent, html in seen if 0 < percent < 100]
    assert middle, sorted({percent for percent, _ in seen})
    assert "Computing every dimension" in middle[0] and 'hx-trigger="every 1s"' in middle[0]
    assert seen[-1][0] == 100 and 'hx-trigger="every 1s"' not in seen[-1][1]
    assert [p for p, _ in seen] == sorted(p for p, _ in seen)  # the bar never goes back
    # The durable record agrees once the worker is done; the rows are a full recompute.
    state = ProjectRollup.objects.get(project=project)
    assert (state.job_state, state.job_progress) == (JobState.DONE, 100)
    stored = rollup_services.rollups_rows(project_id=project.pk)
    assert stored == rollup_services.rollups_compute(project_id=project.pk)
