"""Generation batches, the budget guard and the worker's steps, called directly (the worker
itself runs in test_generation_worker.py) against fake providers on 127.0.0.1."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from generations import providers
from generations.models import (
    BatchStatus,
    GenerationBatch,
    GenerationJob,
    GenerationStatus,
    ModelPrice,
    Take,
)
from generations.models.takes import CostSource
from generations.services import generation as gen
from generations.services.generation import BatchRefused, BatchSpec
from generations.taxonomy import PRICES_VALID_FROM, PROVIDER_PRICES

from .factories import ProjectFactory, PromptVersionFactory, ShotFactory, TakeFactory
from .generation_support import provider_fake

RUNWAY = "gen4.5"
FAL = "fal-ai/kling-video/v1.6/pro/text-to-video"


@pytest.fixture
def fast_polls(settings):
    settings.DAILIES_GENERATION_POLL_SECONDS = 0.01
    settings.DAILIES_GENERATION_POLL_MAX_SECONDS = 0.05


def price(model: str, usd: str, project=None) -> ModelPrice:
    return ModelPrice.objects.create(
        project=project,
        model=model,
        usd_per_second=Decimal(usd),
        valid_from=timezone.now() - timedelta(days=1),
    )


def spec(**kw) -> BatchSpec:
    values = dict(provider="runway", model=RUNWAY, count=3, duration_s=5, aspect="16:9")
    return BatchSpec(**{**values, **kw})


@pytest.fixture
def runway(settings):
    with provider_fake("runway", settings) as fake:
        yield fake


@pytest.fixture
def fal(settings):
    with provider_fake("fal", settings) as fake:
        yield fake


def test_a_batch_is_estimated_and_gets_one_job_per_take(version, owner, runway):
    price(RUNWAY, "0.12")
    batch = gen.batch_create(
        version=version, spec=spec(count=3, seeds=[7, 8, 9]), requested_by=owner
    )
    assert batch.status == BatchStatus.RUNNING
    assert batch.estimate_usd == Decimal("1.8")  # 0.12 × 5 s × 3
    jobs = list(batch.jobs.order_by("pk"))
    assert [j.seed for j in jobs] == [7, 8, 9]
    assert {j.status for j in jobs} == {GenerationStatus.QUEUED}
    assert all(j.estimate_usd == Decimal("0.6") for j in jobs)
    assert jobs[0].request["prompt"] == version.text
    assert jobs[0].request["idempotency_key"] == str(jobs[0].idempotency_key)
    assert len({j.idempotency_key for j in jobs}) == 3


def test_random_seeds_differ_and_models_without_seeds_get_none(version, owner, runway, fal):
    price(RUNWAY, "0.12")
    price(FAL, "0.10")
    batch = gen.batch_create(version=version, spec=spec(count=4), requested_by=owner)
    seeds = [j.seed for j in batch.jobs.all()]
    assert None not in seeds and len(set(seeds)) == 4
    fal_batch = gen.batch_create(
        version=version, spec=spec(provider="fal", model=FAL, count=2), requested_by=owner
    )
    assert [j.seed for j in fal_batch.jobs.all()] == [None, None]


def test_a_model_without_a_price_is_refused_not_costed_at_zero(version, owner, runway):
    ModelPrice.objects.filter(model=RUNWAY).delete()  # its seeded default, deleted
    with pytest.raises(BatchRefused, match="No price is known for gen4.5"):
        gen.batch_create(version=version, spec=spec(), requested_by=owner)
    assert not GenerationBatch.objects.exists()


@pytest.mark.parametrize(
    "change, message",
    [
        ({"duration_s": 11}, "makes clips of 2, 3"),
        ({"aspect": "1:1"}, "makes 16:9, 9:16 clips"),
        ({"count": 0}, "1 to 24 takes"),
        ({"seeds": [1, 2]}, "one seed per take: 3"),
        ({"parameters": {"steps": 3}}, "takes no parameter 'steps'"),
        ({"provider": "sora"}, "No provider named"),
        ({"model": "gen9"}, "offers no model"),
    ],
)
def test_the_models_limits_are_checked_before_anything_is_spent(
    version, owner, runway, change, message
):
    price(RUNWAY, "0.12")
    with pytest.raises(BatchRefused, match=message):
        gen.batch_create(version=version, spec=spec(**change), requested_by=owner)
    assert not GenerationJob.objects.exists()


def test_a_provider_without_a_key_is_refused(version, owner, settings):
    price(RUNWAY, "0.12")
    settings.DAILIES_PROVIDER_KEYS = {}
    with pytest.raises(BatchRefused, match="DAILIES_PROVIDER_RUNWAY_KEY"):
        gen.batch_create(version=version, spec=spec(), requested_by=owner)


def test_over_budget_is_refused_with_the_numbers(version, owner, runway):
    project = version.shot.project
    project.budget_usd = Decimal("10")
    project.save()
    price(RUNWAY, "0.50")
    TakeFactory(prompt_version=version, cost_usd=Decimal("4.25"))
    gen.batch_create(version=version, spec=spec(count=1, duration_s=5), requested_by=owner)
    # spent 4.25 + in flight 2.50 + this 5.00 (2 × 5 s × 0.50) = 11.75 > 10
    with pytest.raises(BatchRefused) as refused:
        gen.batch_create(version=version, spec=spec(count=2, duration_s=5), requested_by=owner)
    assert str(refused.value) == (
        "Over budget: spent $4.25 + in flight $2.50 + this batch $5.00 = $11.75, above the "
        "budget of $10.00 ($3.25 left)."
    )
    assert GenerationBatch.objects.count() == 1
    # Exactly what is left still fits.
    gen.batch_create(version=version, spec=spec(count=1, duration_s=6), requested_by=owner)


def test_the_daily_cap_stops_new_submissions(version, owner, runway):
    project = version.shot.project
    project.generation_daily_cap_usd = Decimal("5")
    project.save()
    price(RUNWAY, "0.40")
    gen.batch_create(version=version, spec=spec(count=2, duration_s=5), requested_by=owner)
    with pytest.raises(BatchRefused, match=r"\$4.00 committed today \+ this batch \$2.00"):
        gen.batch_create(version=version, spec=spec(count=1, duration_s=5), requested_by=owner)
    # Yesterday's jobs do not count against today.
    GenerationJob.objects.update(queued_at=timezone.now() - timedelta(days=1))
    gen.batch_create(version=version, spec=spec(count=1, duration_s=5), requested_by=owner)


def test_above_the_threshold_a_batch_waits_for_a_producer(version, owner, members, runway):
    project = version.shot.project
    project.generation_approval_usd = Decimal("1")
    project.budget_usd = Decimal("3")
    project.save()
    price(RUNWAY, "0.12")
    small = gen.batch_create(version=version, spec=spec(count=1, duration_s=5), requested_by=owner)
    assert small.status == BatchStatus.RUNNING  # $0.60
    big = gen.batch_create(version=version, spec=spec(count=3, duration_s=5), requested_by=owner)
    assert big.status == BatchStatus.AWAITING_APPROVAL  # $1.80
    assert {j.status for j in big.jobs.all()} == {GenerationStatus.WAITING}
    assert gen.budget_state(project=project).in_flight_usd == Decimal("0.6")  # waiting: not yet
    # Spend moved on meanwhile: approval re-checks the budget under the lock.
    TakeFactory(prompt_version=version, cost_usd=Decimal("1.00"))
    with pytest.raises(BatchRefused, match="Over budget"):
        gen.batch_approve(batch=big, producer=members["producer"])
    Take.objects.filter(cost_usd=Decimal("1.00")).delete()
    approved = gen.batch_approve(batch=big, producer=members["producer"])
    assert approved.status == BatchStatus.RUNNING and approved.decided_by == members["producer"]
    assert {j.status for j in big.jobs.all()} == {GenerationStatus.QUEUED}
    assert gen.budget_state(project=project).in_flight_usd == Decimal("2.4")


def test_a_rejected_batch_cancels_its_jobs(version, owner, members, runway):
    project = version.shot.project
    project.generation_approval_usd = Decimal("0.5")
    project.save()
    price(RUNWAY, "0.12")
    batch = gen.batch_create(version=version, spec=spec(count=2), requested_by=owner)
    gen.batch_reject(batch=batch, producer=members["producer"])
    batch.refresh_from_db()
    assert batch.status == BatchStatus.REJECTED
    assert {j.status for j in batch.jobs.all()} == {GenerationStatus.CANCELLED}


@pytest.mark.django_db(transaction=True)
def test_two_leads_submitting_at_once_cannot_overrun_the_budget(settings):
    """Two threads, two connections, PostgreSQL: each batch alone fits, both together do not.
    The project row lock serializes the guard, so exactly one passes."""
    with provider_fake("runway", settings):
        project = ProjectFactory(budget_usd=Decimal("10"))
        version = PromptVersionFactory(shot=ShotFactory(project=project), number=1)
        price(RUNWAY, "1.00")
        barrier = threading.Barrier(2)
        outcomes = []

        def submit():
            try:
                barrier.wait(timeout=5)
                gen.batch_create(
                    version=version, spec=spec(count=1, duration_s=6), requested_by=None
                )
                outcomes.append("ok")
            except BatchRefused as exc:
                outcomes.append(str(exc))
            finally:
                connection.close()

        threads = [threading.Thread(target=submit) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)
        assert sorted(outcomes)[-1] == "ok" and outcomes.count("ok") == 1, outcomes
        refused = next(o for o in outcomes if o != "ok")
        assert "in flight $6.00 + this batch $6.00 = $12.00" in refused
        assert GenerationJob.objects.filter(project=project).count() == 1


# --- the worker's steps, called directly --------------------------------------------------


def _job(version, owner, **kw) -> GenerationJob:
    batch = gen.batch_create(version=version, spec=spec(count=1, **kw), requested_by=owner)
    return batch.jobs.get()


def _run(job_id: int, limit: int = 20):
    step = gen.job_submit(job_id=job_id)
    for _ in range(limit):
        if step is None:
            return GenerationJob.objects.get(pk=job_id)
        step = (gen.job_submit if step.task == "submit" else gen.job_poll)(job_id=job_id)
    raise AssertionError("the job never settled")


def test_a_job_goes_from_submit_to_a_take_with_the_reported_cost(
    version, owner, runway, fast_polls
):
    price(RUNWAY, "0.12")
    job = _job(version, owner, seeds=[99], duration_s=4)
    job = _run(job.pk)
    assert job.status == GenerationStatus.DONE, job.last_error
    take = job.take
    assert take.prompt_version == version and take.seed == 99 and take.model == RUNWAY
    assert take.external_id == f"runway-{job.provider_job_id}"
    # Runway reported 12 credits/s × 4 s at $0.01.
    assert (take.cost_usd, take.cost_source) == (Decimal("0.48"), CostSource.REPORTED)
    assert take.parameters["aspect"] == "16:9" and take.parameters["duration_s"] == 4
    assert take.media and take.width == 160 and take.status == "processing"
    assert runway.created == 1


def test_without_a_reported_cost_the_take_keeps_the_estimate(version, owner, fal, fast_polls):
    price(FAL, "0.10")
    job = _run(_job(version, owner, provider="fal", model=FAL, duration_s=10).pk)
    assert job.status == GenerationStatus.DONE, job.last_error
    take = job.take
    assert (take.cost_usd, take.cost_source) == (Decimal("1.0"), CostSource.ESTIMATED)
    assert take.price_usd_per_second == Decimal("0.10") and take.seed is None


def test_429_puts_the_job_back_with_the_providers_retry_after(version, owner, runway):
    price(RUNWAY, "0.12")
    job = _job(version, owner)
    runway.fail_next("POST", "429", retry_after=9)
    step = gen.job_submit(job_id=job.pk)
    job.refresh_from_db()
    assert step.task == "submit" and step.delay >= 9
    assert job.status == GenerationStatus.QUEUED and "rate limited" in job.last_error
    assert runway.created == 0


def test_a_moderation_refusal_is_counted_apart(version, owner, runway, fast_polls):
    price(RUNWAY, "0.12")
    version.text = "FORBIDDEN scene"
    version.save()
    job = _run(_job(version, owner).pk)
    assert job.status == GenerationStatus.MODERATED and "SAFETY.INPUT.TEXT" in job.last_error
    assert job.take is None
    assert job.batch.__class__.objects.get(pk=job.batch_id).status == BatchStatus.DONE


def test_a_500_at_poll_is_retried_and_the_job_still_arrives(version, owner, runway, fast_polls):
    price(RUNWAY, "0.12")
    job = _job(version, owner)
    assert gen.job_submit(job_id=job.pk).task == "poll"
    runway.fail_next("GET", "500", times=2, path="/v1/tasks/")
    step = gen.job_poll(job_id=job.pk)
    job.refresh_from_db()
    assert step.task == "poll" and "HTTP 500" in job.last_error
    assert _run(job.pk).status == GenerationStatus.DONE


def test_a_malformed_submit_reply_fails_the_job_without_resubmitting(version, owner, fal):
    price(FAL, "0.10")
    job = _job(version, owner, provider="fal", model=FAL, duration_s=5)
    fal.fail_next("POST", "malformed")
    assert gen.job_submit(job_id=job.pk) is None
    job.refresh_from_db()
    assert job.status == GenerationStatus.FAILED and "malformed" in job.last_error
    assert len(fal.calls("POST")) == 1


def test_an_output_on_a_private_address_is_refused(version, owner, runway, settings, fast_polls):
    price(RUNWAY, "0.12")
    job = _job(version, owner)
    gen.job_submit(job_id=job.pk)
    settings.DAILIES_ALLOW_PRIVATE_URLS = False
    job = _run(job.pk)
    assert job.status == GenerationStatus.FAILED and "refused" in job.last_error
    assert not Take.objects.exists()


def test_cancel_a_running_job_stops_it_at_the_provider(version, owner, runway):
    price(RUNWAY, "0.12")
    job = _job(version, owner)
    gen.job_submit(job_id=job.pk)
    job.refresh_from_db()
    assert gen.job_cancel(job=job)
    gen.job_cancel_remote(job_id=job.pk)
    assert runway.jobs[job.provider_job_id].cancelled
    assert gen.job_poll(job_id=job.pk) is None  # a poll already queued does nothing
    job.refresh_from_db()
    assert job.status == GenerationStatus.CANCELLED and not gen.job_cancel(job=job)


def test_cancel_a_batch(version, owner, runway):
    price(RUNWAY, "0.12")
    batch = gen.batch_create(version=version, spec=spec(count=3), requested_by=owner)
    first = batch.jobs.first()
    gen.job_submit(job_id=first.pk)
    assert gen.batch_cancel(batch=batch) == 3
    batch.refresh_from_db()
    assert batch.status == BatchStatus.CANCELLED
    assert {j.status for j in batch.jobs.all()} == {GenerationStatus.CANCELLED}
    assert gen.job_submit(job_id=batch.jobs.last().pk) is None  # a queued message does nothing
    assert runway.created == 1


def test_a_submission_cut_short_is_resent_only_where_the_provider_is_idempotent(
    version, owner, runway, fal
):
    price(RUNWAY, "0.12")
    price(FAL, "0.10")
    idem = _job(version, owner)
    blind = _job(version, owner, provider="fal", model=FAL, duration_s=5)
    stale = timezone.now() - timedelta(minutes=10)
    GenerationJob.objects.update(status=GenerationStatus.SUBMITTING, claimed_at=stale)
    # A fresh claim is left alone (its worker may be alive)...
    assert gen.jobs_reconcile(now=stale + timedelta(seconds=5))["submit"] == []
    # ...a stale one is resent (Runway, same key) or failed without resending (fal).
    found = gen.jobs_reconcile()
    assert found["submit"] == [idem.pk]
    idem.refresh_from_db()
    blind.refresh_from_db()
    assert idem.status == GenerationStatus.QUEUED
    assert blind.status == GenerationStatus.FAILED and "not sent again" in blind.last_error
    assert gen.job_submit(job_id=blind.pk) is None and fal.created == 0


def test_an_output_over_the_size_cap_fails_the_job(version, owner, runway, settings, fast_polls):
    price(RUNWAY, "0.12")
    settings.DAILIES_MAX_UPLOAD_BYTES = 1000  # the fake's clip is a few kB
    job = _run(_job(version, owner).pk)
    assert job.status == GenerationStatus.FAILED and "cap" in job.last_error
    assert not Take.objects.exists()


def test_a_tasks_queries_run_under_statement_and_lock_timeouts(db, settings):
    from generations.tasks.generation import db_timeouts

    settings.DAILIES_TASK_STATEMENT_TIMEOUT_MS = 1234
    settings.DAILIES_TASK_LOCK_TIMEOUT_MS = 567
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        before = cursor.fetchone()[0]
    with db_timeouts(), connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "1234ms"
        cursor.execute("SHOW lock_timeout")
        assert cursor.fetchone()[0] == "567ms"
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == before


# --- the guard again at submission ---------------------------------------------------------


def _queue(version, owner, count: int, **kw) -> list[GenerationJob]:
    batch = gen.batch_create(version=version, spec=spec(count=count, **kw), requested_by=owner)
    return list(batch.jobs.order_by("pk"))


def test_the_daily_cap_is_checked_again_when_a_job_is_submitted(version, owner, runway):
    """Two jobs accepted under a $5 cap; the producer lowers it to $3 before they go out:
    the first is sent, the second is refused with the numbers, never sent, and spends nothing."""
    project = version.shot.project
    project.generation_daily_cap_usd = Decimal("5")
    project.save()
    price(RUNWAY, "0.40")
    first, second = _queue(version, owner, 2, duration_s=5)  # $2.00 each, $4.00 <= $5
    project.generation_daily_cap_usd = Decimal("3")
    project.save()
    assert gen.job_submit(job_id=first.pk).task == "poll"
    assert gen.job_submit(job_id=second.pk) is None
    second.refresh_from_db()
    assert second.status == GenerationStatus.REFUSED
    assert second.last_error == (
        "Not sent (nothing spent): Today's cap reached: $2.00 sent today + this take $2.00 = "
        "$4.00, above the daily cap of $3.00. New submissions resume tomorrow (UTC)."
    )
    assert (second.attempts, second.cleared_at, second.provider_job_id) == (0, None, "")
    assert second.finished_at is not None
    assert runway.created == 1
    # Not in flight any more: the guard stops counting it, and the grid shows why.
    assert gen.budget_state(project=project).in_flight_usd == Decimal("2.0")
    from generations.selectors.generation import version_placeholders

    assert second in version_placeholders(version=version)
    # A second message for the refused job does nothing.
    assert gen.job_submit(job_id=second.pk) is None and runway.created == 1


def test_jobs_queued_yesterday_count_against_today_once_sent(version, owner, runway):
    project = version.shot.project
    project.generation_daily_cap_usd = Decimal("5")
    project.save()
    price(RUNWAY, "0.40")
    yesterday = _queue(version, owner, 2, duration_s=5)  # $4.00 queued "yesterday"
    GenerationJob.objects.update(queued_at=timezone.now() - timedelta(days=1))
    (today,) = _queue(version, owner, 1, duration_s=5)  # fits: yesterday's do not count
    for job in (*yesterday, today):
        gen.job_submit(job_id=job.pk)
    statuses = list(GenerationJob.objects.order_by("pk").values_list("status", flat=True))
    assert statuses == [GenerationStatus.RUNNING] * 2 + [GenerationStatus.REFUSED]
    assert runway.created == 2
    # And the acceptance guard now counts what went out today.
    with pytest.raises(BatchRefused, match=r"\$4.00 committed today"):
        _queue(version, owner, 1, duration_s=5)


def test_the_budget_is_checked_again_when_a_job_is_submitted(version, owner, fal):
    project = version.shot.project
    project.budget_usd = Decimal("10")
    project.save()
    price(FAL, "0.50")
    first, second = _queue(version, owner, 2, provider="fal", model=FAL, duration_s=5)
    TakeFactory(prompt_version=version, cost_usd=Decimal("6.00"))  # an upload meanwhile
    gen.job_submit(job_id=first.pk)
    gen.job_submit(job_id=second.pk)
    second.refresh_from_db()
    assert second.status == GenerationStatus.REFUSED
    assert (
        second.last_error.startswith(
            "Not sent (nothing spent): Over budget: spent $4.00 + sent and not yet arrived $2.50 + "
            "this take $2.50 = $9.00"
        )
        or "above the budget of $10.00" in second.last_error
    )
    assert fal.created == 1
    assert GenerationBatch.objects.get().status == BatchStatus.RUNNING  # the first goes on


def test_a_job_sent_once_keeps_its_place_while_a_retry_waits(version, owner, runway):
    """A 429 puts a sent job back in the queue: its money still counts, so another job cannot
    take its place under the cap, and its retry is not refused."""
    project = version.shot.project
    project.generation_daily_cap_usd = Decimal("2")
    project.save()
    price(RUNWAY, "0.40")
    (first,) = _queue(version, owner, 1, duration_s=5)
    runway.fail_next("POST", "429", retry_after=1)
    assert gen.job_submit(job_id=first.pk).task == "submit"
    first.refresh_from_db()
    assert first.status == GenerationStatus.QUEUED and first.cleared_at is not None
    project.generation_daily_cap_usd = Decimal("3")  # room at acceptance for one more
    project.save()
    (other,) = _queue(version, owner, 1, duration_s=2)  # $0.80: $2.80 <= $3
    project.generation_daily_cap_usd = Decimal("2")
    project.save()
    assert gen.job_submit(job_id=other.pk) is None
    other.refresh_from_db()
    assert other.status == GenerationStatus.REFUSED and "$2.00 sent today" in other.last_error
    # Even with the cap cut below it, the retry goes out: its money was counted when it was
    # first sent (and Runway may hold it already, under its idempotency key).
    project.generation_daily_cap_usd = Decimal("1")
    project.save()
    assert gen.job_submit(job_id=first.pk).task == "poll"
    assert runway.created == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_submitting_at_once_cannot_pass_the_cap(settings, monkeypatch):
    """Two threads, two connections, PostgreSQL: two jobs accepted under the cap, which was
    lowered to fit one. Each worker computes what was sent while the other is between its
    check and its claim (the check is slowed down to make that window wide); the project row
    lock serializes them, so exactly one job reaches the provider."""
    import time

    from generations.services.generation import guard

    slow = guard.sent_state

    def sent_state_slowly(**kw):
        state = slow(**kw)
        time.sleep(0.5)
        return state

    monkeypatch.setattr(guard, "sent_state", sent_state_slowly)
    with provider_fake("fal", settings) as fake:
        project = ProjectFactory(generation_daily_cap_usd=Decimal("10"))
        version = PromptVersionFactory(shot=ShotFactory(project=project), number=1)
        price(FAL, "1.00")
        batch = gen.batch_create(
            version=version,
            spec=spec(provider="fal", model=FAL, count=2, duration_s=5),
            requested_by=None,
        )
        project.generation_daily_cap_usd = Decimal("6")
        project.save()
        barrier = threading.Barrier(2)
        errors = []

        def submit(job_id):
            try:
                barrier.wait(timeout=5)
                gen.job_submit(job_id=job_id)
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                connection.close()

        ids = list(batch.jobs.values_list("pk", flat=True))
        threads = [threading.Thread(target=submit, args=(pk,)) for pk in ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        statuses = sorted(GenerationJob.objects.values_list("status", flat=True))
        assert statuses == [GenerationStatus.REFUSED, GenerationStatus.RUNNING], statuses
        assert fake.created == 1
        refused = GenerationJob.objects.get(status=GenerationStatus.REFUSED)
        assert "$5.00 sent today + this take $5.00 = $10.00" in refused.last_error


# --- the seeded prices of the adapters' models ---------------------------------------------

ADAPTER_MODELS = [(cls.name, m) for cls in providers.all_classes() for m in cls.models()]


@pytest.mark.parametrize(
    "provider, model", ADAPTER_MODELS, ids=[f"{p}:{m.id}" for p, m in ADAPTER_MODELS]
)
def test_every_adapter_model_has_a_seeded_price_and_its_take_is_costed(
    provider, model, version, owner, settings, fast_polls
):
    """No price made by the test: the data migration's default is what the guard estimates
    with, and the take generated through the adapter is costed from it (Runway: the charge it
    reports), never "unknown"."""
    seeded = ModelPrice.objects.get(model=model.id)  # the seeded row, and no other
    assert seeded.project is None and seeded.valid_from == PRICES_VALID_FROM
    assert seeded.usd_per_second == Decimal(PROVIDER_PRICES[model.id]) > 0
    duration = model.durations[0]
    with provider_fake(provider, settings):
        job = _job(
            version,
            owner,
            provider=provider,
            model=model.id,
            duration_s=duration,
            aspect=model.aspects[0],
        )
        assert job.estimate_usd == seeded.usd_per_second * duration
        job = _run(job.pk)
    assert job.status == GenerationStatus.DONE, job.last_error
    take = job.take
    assert take.cost_usd is not None and take.cost_source != CostSource.UNKNOWN
    if provider == "runway":
        # 12 credits/s at $0.01 (tests/fake_providers.py), as reported.
        assert (take.cost_usd, take.cost_source) == (
            Decimal("0.12") * duration,
            CostSource.REPORTED,
        )
    else:
        assert (take.cost_usd, take.cost_source, take.price_usd_per_second) == (
            job.estimate_usd,
            CostSource.ESTIMATED,
            seeded.usd_per_second,
        )
