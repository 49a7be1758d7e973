"""The producer's budget page (issue 11 items 5 and 6): the deadline counts (a past deadline and
two targets are refused; the dashboard shows on track / at risk / late with the numbers), and
unknown models are not free (flagged on upload and on the take, listed on the budget page, and
estimated once a price exists)."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from generations.models import ModelPrice, Project, Take
from generations.services.reviews import review_record
from generations.services.rollups import rollups_recompute

from .clips import mp4_upload
from .factories import PromptVersionFactory, TakeFactory

TODAY = timezone.localdate()


@pytest.fixture
def producer(client, members):
    client.force_login(members["producer"])
    return client


def _budget(client, project, **fields):
    return client.post(reverse("budget_edit", args=[project.slug]), fields)


def test_a_past_deadline_is_refused(producer, project):
    yesterday = TODAY - datetime.timedelta(days=1)
    response = _budget(producer, project, budget_usd="500", deadline=yesterday.isoformat())
    assert response.status_code == 400
    assert f"{yesterday} has passed" in response.content.decode()
    project.refresh_from_db()
    assert project.deadline is None and project.budget_usd == Decimal("1000.00")

    response = _budget(producer, project, budget_usd="500", deadline=TODAY.isoformat())
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.deadline == TODAY and project.budget_usd == Decimal("500")


def test_a_late_project_keeps_its_deadline_when_the_budget_changes(producer, project):
    past = TODAY - datetime.timedelta(days=10)
    Project.objects.filter(pk=project.pk).update(deadline=past)
    response = _budget(producer, project, budget_usd="800", deadline=past.isoformat())
    assert response.status_code == 302
    project.refresh_from_db()
    assert (project.deadline, project.budget_usd) == (past, Decimal("800"))


def test_a_form_setting_both_targets_is_refused(producer, project):
    response = _budget(producer, project, target_accepted_takes="40", target_accepted_seconds="300")
    assert response.status_code == 400
    assert "Set one target" in response.content.decode()
    project.refresh_from_db()
    assert project.target_accepted_takes is None and project.target_accepted_seconds is None


def _history(project, version, reviewer, *, days: int, per_day: int, cost: str, accept_every: int):
    """per_day takes a day over the last `days` days, one in `accept_every` accepted."""
    now = timezone.now()
    n = 0
    for day in range(days):
        for _ in range(per_day):
            take = TakeFactory(
                prompt_version=version,
                cost_usd=Decimal(cost),
                created_at=now - datetime.timedelta(days=days - day),
            )
            review_record(
                take=take,
                reviewer=reviewer,
                verdict="accept" if n % accept_every == 0 else "reject",
            )
            n += 1
    rollups_recompute(project_id=project.pk)


@pytest.mark.parametrize(
    "deadline_days, budget, status, words",
    [
        (120, "10000", "on track", "days before the deadline"),
        (5, "10000", "late", "days late"),
        (120, "120", "at risk", "The budget runs out on"),
    ],
)
def test_the_producer_dashboard_shows_the_deadline_status_with_numbers(
    producer, project, version, members, deadline_days, budget, status, words
):
    # 14 days × 2 takes at $5: $10/day; 1 in 4 accepted (7 of 28). Target 20 accepted: 13 more
    # at 25% is 52 takes, $260, 26 days of burn.
    _history(project, version, members["lead"], days=14, per_day=2, cost="5", accept_every=4)
    deadline = TODAY + datetime.timedelta(days=deadline_days)
    Project.objects.filter(pk=project.pk).update(
        deadline=deadline, target_accepted_takes=20, budget_usd=Decimal(budget)
    )
    html = producer.get(reverse("dashboard", args=[project.slug, "producer"])).content.decode()
    section = html[html.index('id="deadline-status"') :][:2000]
    assert f">{status}<" in section
    assert words in section
    assert deadline.isoformat() in section
    last_day = TODAY - datetime.timedelta(days=1)
    assert (last_day + datetime.timedelta(days=26)).isoformat() in section  # the target date


def test_without_a_deadline_the_dashboard_says_so(producer, project):
    html = producer.get(reverse("dashboard", args=[project.slug, "producer"])).content.decode()
    assert "No deadline set" in html and 'id="deadline-status"' not in html


# --- unknown models are not free ---------------------------------------------------------------


def test_an_upload_with_an_unpriced_model_is_flagged(client, members, project, version):
    client.force_login(members["lead"])
    url = reverse("take_upload", args=[project.slug, version.pk])
    response = client.post(url, {"files": mp4_upload(seconds=1.0), "model": "mystery-9"})
    assert response.status_code == 302
    take = Take.objects.get(project=project)
    assert take.cost_source == "unknown"
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("mystery-9 has no price" in t and "unknown" in t for t in texts), texts
    page = client.get(reverse("take_detail", args=[project.slug, take.pk])).content.decode()
    assert "cost unknown" in page and "$0.0000" not in page


def test_the_upload_form_offers_the_known_models(client, members, project, version):
    ModelPrice.objects.create(
        model="priced-model-x",
        usd_per_second=Decimal("0.1"),
        valid_from=timezone.now() - datetime.timedelta(days=1),
    )
    client.force_login(members["lead"])
    page = client.get(reverse("take_upload", args=[project.slug, version.pk])).content.decode()
    assert 'list="models"' in page and '<option value="priced-model-x">' in page


def test_the_budget_page_lists_unpriced_models_and_a_price_estimates_them(
    producer, project, version
):
    old = timezone.now() - datetime.timedelta(days=3)
    for seconds in ("4", "6", "2.5"):
        TakeFactory(
            prompt_version=version, model="mystery-9", cost_usd=0, cost_source="unknown",
            duration_s=Decimal(seconds), created_at=old,
        )  # fmt: skip
    TakeFactory(prompt_version=version, model="odd-1", cost_usd=0, cost_source="unknown")
    TakeFactory(prompt_version=version, model="sora-2", cost_usd=Decimal("2"))
    page = producer.get(reverse("budget_edit", args=[project.slug])).content.decode()
    start = page.index('id="unpriced-models"')
    table = page[start : page.index("</table>", start)]
    assert 'mystery-9</td><td class="num">3</td><td class="num">12.5</td>' in table
    assert 'odd-1</td><td class="num">1</td><td class="num">8.0</td>' in table
    assert "sora-2" not in table
    assert '<option value="mystery-9">' in page  # the price form offers it

    # A price valid from before those takes estimates them; odd-1 stays unknown.
    response = producer.post(
        reverse("budget_edit", args=[project.slug]),
        {
            "model": "mystery-9",
            "usd_per_second": "0.5",
            "valid_from": (old - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    texts = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("3 takes without a price are now estimated" in t for t in texts), texts
    costs = sorted(Take.objects.filter(model="mystery-9").values_list("cost_source", "cost_usd"))
    assert costs == [
        ("estimated", Decimal("1.2500")),
        ("estimated", Decimal("2.0000")),
        ("estimated", Decimal("3.0000")),
    ]
    page = producer.get(reverse("budget_edit", args=[project.slug])).content.decode()
    start = page.index('id="unpriced-models"')
    assert "mystery-9</td>" not in page[start : page.index("</table>", start)]


def test_a_price_from_today_leaves_older_unknown_takes_unknown(producer, project, version):
    take = TakeFactory(
        prompt_version=version, model="mystery-9", cost_usd=0, cost_source="unknown",
        created_at=timezone.now() - datetime.timedelta(days=3),
    )  # fmt: skip
    producer.post(
        reverse("budget_edit", args=[project.slug]), {"model": "mystery-9", "usd_per_second": "1"}
    )
    take.refresh_from_db()
    assert take.cost_source == "unknown"


def test_unpriced_models_page_reads_only_unknown_takes(producer, project, version):
    PromptVersionFactory(shot=version.shot, number=2)
    page = producer.get(reverse("budget_edit", args=[project.slug])).content.decode()
    assert 'id="unpriced-models"' not in page
