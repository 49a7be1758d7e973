"""Generate from the UI in a real Chromium: the form's estimate moves as the batch changes, and
the placeholders in the version's grid turn into takes by themselves (htmx polling), against a
fake Runway on 127.0.0.1 and a real Celery worker."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from generations.models import GenerationJob, GenerationStatus, ModelPrice, Take, TakeStatus

from ..generation_support import provider_fake

pytestmark = pytest.mark.browser


@pytest.fixture
def runway(settings):
    settings.DAILIES_GENERATION_POLL_SECONDS = 0.2
    settings.DAILIES_GENERATION_POLL_MAX_SECONDS = 0.5
    # Slow enough that the page sees the placeholders before the takes arrive.
    with provider_fake("runway", settings, polls_to_finish=6) as fake:
        yield fake


def test_a_lead_generates_and_watches_placeholders_turn_into_takes(
    page, live_server, login, owner, project, version, celery_worker, runway, artifacts_dir
):
    ModelPrice.objects.create(
        model="gen4.5", usd_per_second=Decimal("0.12"), valid_from=timezone.now() - timedelta(1)
    )
    login(owner)
    page.goto(f"{live_server.url}{version.get_absolute_url()}")
    page.click("#generate")
    page.select_option("#id_model", "runway|gen4.5")
    expect(page.locator("#estimate-total")).to_have_text("$2.40")  # 0.12 × 5 s × 4
    page.fill("#id_count", "3")
    page.fill("#id_duration_s", "4")
    page.locator("#id_duration_s").dispatch_event("change")
    expect(page.locator("#estimate-total")).to_have_text("$1.44")  # 0.12 × 4 s × 3
    expect(page.locator("#budget-left")).to_have_text("$1000.00")
    page.check("input[name=seed_mode][value=fixed]")
    page.fill("#id_seeds", "101 202 303")
    page.screenshot(path=str(artifacts_dir / "generate-form.png"), full_page=True)
    page.click("#generate-submit")

    page.wait_for_url(f"**{version.get_absolute_url()}")
    placeholders = page.locator("#version-takes .job-card")
    expect(placeholders).to_have_count(3)
    expect(page.locator("#version-takes")).to_contain_text("seed 202")
    page.screenshot(path=str(artifacts_dir / "generate-placeholders.png"), full_page=True)

    # Without a reload: the section polls until every job is a take with its poster.
    posters = page.locator("#version-takes article.card img")
    expect(posters).to_have_count(3, timeout=60_000)
    expect(placeholders).to_have_count(0)
    page.wait_for_function(
        "() => [...document.querySelectorAll('#version-takes article.card img')]"
        ".every(img => img.complete && img.naturalWidth > 0)"
    )
    expect(page.locator("#version-takes")).not_to_have_attribute("hx-trigger", "every 2s")
    page.screenshot(path=str(artifacts_dir / "generate-takes.png"), full_page=True)

    takes = Take.objects.filter(prompt_version=version)
    assert sorted(takes.values_list("seed", flat=True)) == [101, 202, 303]
    assert set(takes.values_list("status", flat=True)) == {TakeStatus.READY}
    assert set(GenerationJob.objects.values_list("status", flat=True)) == {GenerationStatus.DONE}
    assert runway.created == 3
