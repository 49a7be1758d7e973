"""Generation end to end with real Celery workers over Redis and fake providers on 127.0.0.1:
batches become ready takes through the media pipeline; Retry-After is honoured; cancel; and a
prefork worker SIGKILLed after the provider accepted a job never makes it pay twice."""

import os
import signal
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from generations.models import (
    BatchStatus,
    GenerationJob,
    GenerationStatus,
    Membership,
    ModelPrice,
    Role,
    Take,
    TakeStatus,
)
from generations.models.generation import PENDING
from generations.models.takes import CostSource
from generations.services import generation as gen
from generations.services.generation import BatchSpec
from generations.tasks import generation_submit

from .browser.support import seed_taxonomy
from .factories import ProjectFactory, PromptVersionFactory, ShotFactory, UserFactory
from .fake_providers import KEY
from .generation_support import provider_fake

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _reseed_taxonomy_after_flush(django_db_blocker):
    yield
    with django_db_blocker.unblock():
        seed_taxonomy()


def wait_for(predicate, timeout: float = 30.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def _price(model: str, usd: str) -> None:
    ModelPrice.objects.create(
        model=model, usd_per_second=Decimal(usd), valid_from=timezone.now() - timedelta(days=1)
    )


def _setup():
    project = ProjectFactory(slug="gen-live", budget_usd=Decimal("100"))
    lead = UserFactory(username="lead@studio.test")
    Membership.objects.create(project=project, user=lead, role=Role.LEAD, is_owner=True)
    shot = ShotFactory(project=project, name="alley")
    PromptVersionFactory(shot=shot, number=1)
    version = PromptVersionFactory(shot=shot, number=2, text="rain on neon signs, slow push-in")
    _price("gen4.5", "0.12")
    return project, lead, version


@pytest.fixture
def fast_polls(settings):
    settings.DAILIES_GENERATION_POLL_SECONDS = 0.05
    settings.DAILIES_GENERATION_POLL_MAX_SECONDS = 0.2


def test_a_batch_of_six_ends_as_six_ready_takes(celery_worker, settings, fast_polls):
    project, lead, version = _setup()
    seeds = [11, 22, 33, 44, 55, 66]
    with provider_fake("runway", settings, polls_to_finish=3) as fake:
        batch = gen.batch_create(
            version=version,
            spec=BatchSpec(
                provider="runway", model="gen4.5", count=6, duration_s=4, aspect="16:9", seeds=seeds
            ),
            requested_by=lead,
        )

        def ready() -> bool:
            return Take.objects.filter(project=project, status=TakeStatus.READY).count() == 6

        assert wait_for(ready, timeout=90), list(
            GenerationJob.objects.values_list("status", "last_error")
        )
    takes = list(Take.objects.filter(project=project).order_by("seed"))
    assert [t.seed for t in takes] == seeds
    assert {t.prompt_version_id for t in takes} == {version.pk}
    assert {t.pass_number for t in takes} == {2}
    # Runway reported 12 credits per second × 4 s at one cent.
    assert {(t.cost_usd, t.cost_source) for t in takes} == {(Decimal("0.48"), CostSource.REPORTED)}
    assert all(t.poster and t.thumbnail and t.filmstrip_frames for t in takes)
    assert all(Path(t.poster.path).stat().st_size > 0 for t in takes)
    assert all(t.provenance_state == "none" for t in takes)  # C2PA was read (none in the clip)
    jobs = GenerationJob.objects.filter(batch=batch)
    assert {j.status for j in jobs} == {GenerationStatus.DONE}
    assert sorted(j.take.seed for j in jobs) == seeds
    assert fake.created == 6
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE


def test_the_worker_waits_out_a_429s_retry_after(celery_worker, settings, fast_polls):
    project, lead, version = _setup()
    with provider_fake("runway", settings) as fake:
        fake.fail_next("POST", "429", retry_after=1.5)
        gen.batch_create(
            version=version,
            spec=BatchSpec(provider="runway", model="gen4.5", count=1, duration_s=5, aspect="9:16"),
            requested_by=lead,
        )
        assert wait_for(lambda: Take.objects.filter(project=project).exists(), timeout=30)
        posts = fake.calls("POST", "/v1/text_to_video")
    assert len(posts) == 2 and fake.created == 1
    assert posts[1]["at"] - posts[0]["at"] >= 1.5
    assert posts[0]["headers"]["idempotency-key"] == posts[1]["headers"]["idempotency-key"]


def test_cancelling_a_batch_stops_its_jobs_at_the_provider(celery_worker, settings, fast_polls):
    project, lead, version = _setup()
    with provider_fake("runway", settings, polls_to_finish=10_000) as fake:
        batch = gen.batch_create(
            version=version,
            spec=BatchSpec(provider="runway", model="gen4.5", count=2, duration_s=5, aspect="16:9"),
            requested_by=lead,
        )
        running = GenerationJob.objects.filter(batch=batch, status=GenerationStatus.RUNNING)
        assert wait_for(lambda: running.count() == 2, timeout=30)
        assert gen.batch_cancel(batch=batch) == 2
        assert wait_for(lambda: fake.created == 2 and all(j.cancelled for j in fake.jobs.values()))
    assert {j.status for j in batch.jobs.all()} == {GenerationStatus.CANCELLED}
    assert not Take.objects.filter(project=project).exists()


# --- a real prefork worker killed while the provider holds its reply -----------------------


@pytest.fixture
def prefork_worker(prefork_workers):
    """`python -m tests.gen_worker` (tests/prefork.py) talking to `fake`; its first submission
    writes the pool process's pid to the marker."""

    def start(fake):
        return prefork_workers.start(
            "tests.gen_worker",
            queue_suffix="gen-prefork",
            marker="submit.pid",
            DAILIES_PROVIDER_RUNWAY_KEY=KEY,
            DAILIES_PROVIDER_RUNWAY_BASE_URL=fake.url,
            DAILIES_ALLOW_PRIVATE_URLS="1",
            DAILIES_GENERATION_POLL_SECONDS="0.05",
            DAILIES_GENERATION_POLL_MAX_SECONDS="0.2",
        )

    return start


def test_a_worker_killed_after_submitting_never_pays_twice(prefork_worker, settings, monkeypatch):
    """The provider creates the job, then holds its reply; the pool process is SIGKILLed while
    it waits, so the job id never reached the database. acks_late + reject_on_worker_lost give
    the message back; the new pool process resends with the same Idempotency-Key, Runway
    answers with the job it already has, and that one job becomes the take."""
    project, lead, version = _setup()
    monkeypatch.setattr(gen.batches, "_enqueue_submissions", lambda ids: None)
    with provider_fake("runway", settings, polls_to_finish=2) as fake:
        fake.hold_create = 60
        batch = gen.batch_create(
            version=version,
            spec=BatchSpec(
                provider="runway", model="gen4.5", count=1, duration_s=5, aspect="16:9", seeds=[5]
            ),
            requested_by=lead,
        )
        job = batch.jobs.get()
        proc, marker, queue = prefork_worker(fake)
        generation_submit.apply_async((job.pk,), queue=queue)

        assert wait_for(lambda: fake.created == 1 and marker.exists(), timeout=60)
        assert wait_for(lambda: marker.read_text().strip() != "", timeout=5)
        child = int(marker.read_text())
        assert child != proc.pid
        job.refresh_from_db()
        assert job.status == GenerationStatus.SUBMITTING and job.provider_job_id == ""
        os.kill(child, signal.SIGKILL)

        assert wait_for(
            lambda: Take.objects.filter(project=project, status=TakeStatus.READY).exists(),
            timeout=90,
        ), GenerationJob.objects.values_list("status", "last_error").get(pk=job.pk)
        posts = fake.calls("POST", "/v1/text_to_video")
    assert proc.poll() is None  # the parent survived and forked a new pool process
    assert fake.created == 1  # one provider job, not two
    assert len(posts) == 2
    assert len({p["headers"]["idempotency-key"] for p in posts}) == 1
    job.refresh_from_db()
    assert job.status == GenerationStatus.DONE and job.attempts == 2
    assert job.provider_job_id == next(iter(fake.jobs))
    take = Take.objects.get(project=project)
    assert take.seed == 5 and take.generation_job == job


def test_the_worker_refuses_a_job_that_would_pass_todays_cap(
    celery_worker, settings, fast_polls, monkeypatch
):
    """Two jobs accepted under the daily cap; the cap is lowered before the worker takes them.
    The worker sends one (it becomes a take) and refuses the other with the reason: never
    sent, nothing spent, not left pending."""
    project, lead, version = _setup()
    project.generation_daily_cap_usd = Decimal("5")
    project.save()
    monkeypatch.setattr(gen.batches, "_enqueue_submissions", lambda ids: None)
    with provider_fake("runway", settings) as fake:
        batch = gen.batch_create(
            version=version,
            spec=BatchSpec(provider="runway", model="gen4.5", count=2, duration_s=5, aspect="16:9"),
            requested_by=lead,
        )  # 2 × $0.60
        project.generation_daily_cap_usd = Decimal("1")
        project.save()
        for job in batch.jobs.all():
            generation_submit.delay(job.pk)

        def settled() -> bool:
            return not batch.jobs.filter(status__in=PENDING).exists() and (
                Take.objects.filter(project=project, status=TakeStatus.READY).exists()
            )

        assert wait_for(settled, timeout=60), list(batch.jobs.values_list("status", "last_error"))
    assert fake.created == 1
    statuses = sorted(batch.jobs.values_list("status", flat=True))
    assert statuses == [GenerationStatus.DONE, GenerationStatus.REFUSED]
    refused = batch.jobs.get(status=GenerationStatus.REFUSED)
    assert "Today's cap reached: $0.60 sent today + this take $0.60" in refused.last_error
    assert refused.take is None and refused.provider_job_id == ""
    batch.refresh_from_db()
    assert batch.status == BatchStatus.DONE
