"""The generation pages through the test client: the form and its live estimate, refusals with
the numbers, placeholders on the version page, regenerate, approval, and the producer's panel."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.models import (
    BatchStatus,
    GenerationBatch,
    GenerationJob,
    GenerationStatus,
    ModelPrice,
    PromptVersion,
)
from generations.services import generation as gen

from .factories import TakeFactory

SECRET = "sk-live-do-not-show-0123456789"


@pytest.fixture(autouse=True)
def _providers(settings):
    settings.DAILIES_PROVIDER_KEYS = {"runway": SECRET, "fal": SECRET}


@pytest.fixture
def priced(db):
    ModelPrice.objects.create(
        model="gen4.5", usd_per_second=Decimal("0.12"), valid_from=timezone.now() - timedelta(1)
    )


def form_data(**kw):
    data = {
        "model": "runway|gen4.5",
        "count": "2",
        "duration_s": "5",
        "aspect": "16:9",
        "seed_mode": "random",
        "negative_prompt": "",
        "parameters": "",
    }
    return {**data, **kw}


def test_the_form_offers_configured_models_and_estimates(client, version, owner, priced):
    client.force_login(owner)
    url = reverse("generation_new", args=[version.shot.project.slug, version.pk])
    page = client.get(url).content.decode()
    assert "runway|gen4.5" in page and "fal-ai/kling-video" in page
    assert "veo-3.1" not in page  # no key for Veo: not offered
    assert SECRET not in page
    estimate = client.get(
        reverse("generation_estimate", args=[version.shot.project.slug, version.pk]),
        form_data(count="3", duration_s="6"),
        headers={"HX-Request": "true"},
    ).content.decode()
    assert 'id="estimate-total">$2.16<' in estimate  # 0.12 × 6 s × 3
    assert "$0.1200/s × 6 s × 3 takes" in estimate
    assert 'id="budget-left">$1000.00<' in estimate
    ModelPrice.objects.filter(model="fal-ai/ltx-video").delete()  # its seeded default, deleted
    no_price = client.get(
        reverse("generation_estimate", args=[version.shot.project.slug, version.pk]),
        form_data(model="fal|fal-ai/ltx-video"),
    ).content.decode()
    assert "No price is known for fal-ai/ltx-video" in no_price


def test_without_any_provider_the_form_says_how_to_configure_one(client, version, owner, settings):
    settings.DAILIES_PROVIDER_KEYS = {}
    client.force_login(owner)
    page = client.get(reverse("generation_new", args=[version.shot.project.slug, version.pk]))
    assert "DAILIES_PROVIDER_RUNWAY_KEY" in page.content.decode()


def test_generating_queues_jobs_and_the_version_page_shows_placeholders(
    client, version, owner, priced
):
    slug = version.shot.project.slug
    client.force_login(owner)
    response = client.post(
        reverse("generation_new", args=[slug, version.pk]),
        form_data(seed_mode="fixed", seeds="4, 8"),
    )
    assert response.status_code == 302 and response["Location"] == version.get_absolute_url()
    jobs = list(GenerationJob.objects.filter(prompt_version=version).order_by("pk"))
    assert [j.seed for j in jobs] == [4, 8]
    page = client.get(version.get_absolute_url()).content.decode()
    assert page.count('class="card job-card"') == 2
    assert "seed 8" in page and "Queued…" in page
    assert 'hx-trigger="every 2s"' in page  # the section polls while jobs are on their way
    # Once they have all finished the section stops polling.
    GenerationJob.objects.update(
        status=GenerationStatus.FAILED, last_error="boom", finished_at=timezone.now()
    )
    section = client.get(reverse("version_takes", args=[slug, version.pk])).content.decode()
    assert "hx-trigger" not in section and section.count("boom") == 2


def test_an_over_budget_batch_is_refused_with_the_numbers(client, version, owner, priced):
    project = version.shot.project
    project.budget_usd = Decimal("1.00")
    project.save()
    TakeFactory(prompt_version=version, cost_usd=Decimal("0.50"))
    client.force_login(owner)
    response = client.post(reverse("generation_new", args=[project.slug, version.pk]), form_data())
    assert response.status_code == 400
    assert (
        "Over budget: spent $0.50 + in flight $0.00 + this batch $1.20 = $1.70, above the "
        "budget of $1.00 ($0.50 left)."
    ) in response.content.decode()
    assert not GenerationJob.objects.exists()


def test_a_viewer_cannot_generate(client, version, members, priced):
    client.force_login(members["viewer"])
    url = reverse("generation_new", args=[version.shot.project.slug, version.pk])
    assert client.post(url, form_data()).status_code == 403
    page = client.get(version.get_absolute_url()).content.decode()
    assert 'id="generate"' not in page


def test_regenerate_prefills_and_can_start_a_new_version(client, version, owner, priced):
    slug = version.shot.project.slug
    take = TakeFactory(
        prompt_version=version,
        model="gen4.5",
        seed=777,
        current_verdict="reject",
        parameters={"provider": "runway", "duration_s": 8, "aspect": "9:16"},
    )
    client.force_login(owner)
    detail = client.get(reverse("take_detail", args=[slug, take.pk])).content.decode()
    assert f"?take={take.pk}" in detail and "Regenerate" in detail
    page = client.get(
        reverse("generation_new", args=[slug, version.pk]), {"take": take.pk}
    ).content.decode()
    assert 'value="runway|gen4.5" selected' in page
    assert 'name="seeds" value="777"' in page and 'value="8"' in page
    response = client.post(
        reverse("generation_new", args=[slug, version.pk]),
        form_data(
            take=take.pk,
            seed_mode="fixed",
            seeds="777",
            count="1",
            new_version="on",
            negative_prompt="no text",
        ),
    )
    new = PromptVersion.objects.get(shot=version.shot, number=version.number + 1)
    assert response["Location"] == new.get_absolute_url()
    assert new.parent == version and new.negative_prompt == "no text"
    batch = GenerationBatch.objects.get()
    assert batch.prompt_version == new and batch.regenerated_from == take
    assert batch.jobs.get().seed == 777


def test_a_refused_regenerate_leaves_no_new_version(client, version, owner, priced):
    take = TakeFactory(prompt_version=version, model="gen4.5", seed=1, current_verdict="reject")
    client.force_login(owner)
    response = client.post(
        reverse("generation_new", args=[version.shot.project.slug, version.pk]),
        form_data(take=take.pk, duration_s="30", new_version="on"),
    )
    assert response.status_code == 400 and "makes clips of" in response.content.decode()
    assert PromptVersion.objects.filter(shot=version.shot).count() == 1


def test_a_producer_approves_a_waiting_batch(client, version, owner, members, priced):
    project = version.shot.project
    project.generation_approval_usd = Decimal("1")
    project.save()
    client.force_login(owner)
    client.post(reverse("generation_new", args=[project.slug, version.pk]), form_data(count="4"))
    batch = GenerationBatch.objects.get()
    assert batch.status == BatchStatus.AWAITING_APPROVAL
    client.force_login(members["producer"])
    page = client.get(reverse("generation_batches", args=[project.slug])).content.decode()
    assert "Approve" in page and "$2.40" in page
    client.post(reverse("generation_batch_approve", args=[project.slug, batch.pk]))
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RUNNING and batch.decided_by == members["producer"]
    assert set(batch.jobs.values_list("status", flat=True)) == {GenerationStatus.QUEUED}


def test_the_budget_page_sets_the_guard(client, project, owner):
    client.force_login(owner)
    client.post(
        reverse("budget_edit", args=[project.slug]),
        {"budget_usd": "500", "generation_approval_usd": "25", "generation_daily_cap_usd": "80"},
    )
    project.refresh_from_db()
    assert (project.generation_approval_usd, project.generation_daily_cap_usd) == (25, 80)


def test_the_producer_dashboard_shows_the_generation_panel(client, version, owner, priced):
    project = version.shot.project
    batch = gen.batch_create(
        version=version,
        spec=gen.BatchSpec(provider="runway", model="gen4.5", count=6, duration_s=5, aspect="16:9"),
        requested_by=owner,
    )
    jobs = list(batch.jobs.order_by("pk"))
    now = timezone.now()
    states = [GenerationStatus.DONE] * 3 + [GenerationStatus.FAILED, GenerationStatus.MODERATED]
    for job, state, seconds in zip(jobs, states, [30, 60, 90, 0, 0], strict=False):
        job.status, job.submitted_at = state, now - timedelta(seconds=seconds)
        job.finished_at = now
        job.save()
    # jobs[5] stays queued: $0.60 in flight.
    client.force_login(owner)
    page = client.get(reverse("dashboard", args=[project.slug, "producer"])).content.decode()
    assert 'id="gen-in-flight">$0.60<' in page
    row = page.split('id="gen-by-provider"')[1].split("</tr>")[1]
    # 6 jobs: 3 done, 1 pending, 1 failed, 1 moderated; rates over the 5 finished.
    assert [c.split(">")[-1] for c in row.split("</td>")[:8]] == [
        "Runway",
        "6",
        "3",
        "1",
        "1",
        "1",
        "20%",
        "20%",
    ]
    assert "60.0 s" in page.split('id="gen-by-model"')[1]  # mean of 30, 60 and 90


def test_a_job_refused_at_submission_shows_why_on_the_grid_and_the_batches(
    client, version, owner, priced
):
    project = version.shot.project
    client.force_login(owner)
    client.post(reverse("generation_new", args=[project.slug, version.pk]), form_data(count="1"))
    job = GenerationJob.objects.get()
    project.generation_daily_cap_usd = Decimal("0.50")  # lowered after it was accepted ($0.60)
    project.save()
    assert gen.job_submit(job_id=job.pk) is None  # refused before any call to the provider
    section = client.get(reverse("version_takes", args=[project.slug, version.pk])).content
    section = section.decode()
    assert "Refused by the budget guard" in section and "hx-trigger" not in section
    assert "this take $0.60 = $0.60, above the daily cap of $0.50" in section
    page = client.get(reverse("generation_batches", args=[project.slug])).content.decode()
    assert "1 refused by the budget guard" in page
