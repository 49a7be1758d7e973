"""Dashboards: members see the rollup numbers with SVG charts and tables; the live endpoint
answers 204 until the rollup revision moves; only owners may start a recompute."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from generations.models import JobState, Membership, ProjectRollup, Role
from generations.services.rollups import jobs, rollups_job_start, rollups_refresh

from .factories import UserFactory
from .test_stats import fixture_project  # noqa: F401  (shared fixture)


@pytest.fixture
def people(fixture_project):  # noqa: F811
    out = {}
    for name, role, owner in (("boss", Role.PRODUCER, True), ("client", Role.VIEWER, False)):
        out[name] = UserFactory(username=f"{name}@studio.test")
        Membership.objects.create(
            project=fixture_project, user=out[name], role=role, is_owner=owner
        )
    return out


@pytest.mark.parametrize("kind", ["producer", "creative", "editor"])
def test_each_dashboard_renders_charts_with_tables(client, people, kind):
    client.force_login(people["client"])
    response = client.get(reverse("dashboard", args=["fixture", kind]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<svg" in html and "<table" in html and "Computed" in html
    assert 'hx-trigger="every 500ms"' in html


def test_producer_shows_budget_alert_and_run_out_date(client, people):
    client.force_login(people["client"])
    html = client.get(reverse("dashboard", args=["fixture", "producer"])).content.decode()
    assert "81% of the budget is spent" in html  # 16.25 of 20
    assert "2026-11-07" in html
    assert "forecast" in html


def test_creative_shows_the_first_pass_band_and_versions(client, people):
    client.force_login(people["client"])
    url = reverse("dashboard", args=["fixture", "creative"])
    html = client.get(url, {"shot": "alley"}).content.decode()
    assert "expected first pass 10%–20%" in html
    assert "above the band" in html
    assert (
        "alley v2" in html
        and "rooftop v1"
        not in html.split("Why takes fail")[0].split("Acceptance by prompt version")[1]
    )


def test_editor_shows_tags_by_shot(client, people):
    client.force_login(people["client"])
    html = client.get(reverse("dashboard", args=["fixture", "editor"])).content.decode()
    row = re.search(r"<tr><td>alley</td>(.*?)</tr>", html).group(1)
    assert re.findall(r">(\d+)<", row) == ["4", "3", "2", "1", "10"]


def test_it_checks_membership(client, people, outsider):
    client.force_login(outsider)
    assert client.get(reverse("dashboard", args=["fixture", "producer"])).status_code == 404


def test_live_endpoint_waits_for_a_new_revision(client, people, fixture_project):  # noqa: F811
    client.force_login(people["client"])
    live = reverse("dashboard_live", args=["fixture", "producer"])
    revision = ProjectRollup.objects.get(project=fixture_project).revision
    assert client.get(live, {"rev": revision}).status_code == 204
    rollups_refresh(project_id=fixture_project.pk)
    response = client.get(live, {"rev": revision}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'data-revision="{revision + 1}"' in response.content.decode()
    assert "<html" not in response.content.decode()  # only the panel partial


def test_only_owners_recompute(client, people, fixture_project):  # noqa: F811
    url = reverse("stats_recompute", args=["fixture"])
    client.force_login(people["client"])
    assert client.post(url).status_code == 403
    client.force_login(people["boss"])
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 202
    assert "<progress" in response.content.decode()
    assert ProjectRollup.objects.get(project=fixture_project).job_state == JobState.QUEUED


def test_progress_shows_the_newer_of_the_cache_and_the_database(client, people, fixture_project):  # noqa: F811
    client.force_login(people["client"])
    url = reverse("stats_progress", args=["fixture"])
    assert rollups_job_start(project_id=fixture_project.pk)
    # A worker's step inside its snapshot reaches the page through the cache only.
    jobs._report(fixture_project.pk, 46, "Computing reviewers…", JobState.RUNNING)
    html = client.get(url).content.decode()
    assert 'value="46"' in html and "Computing reviewers" in html and "every 1s" in html
    # The durable record, written after commit, is newer than a leftover step: it wins.
    ProjectRollup.objects.filter(project=fixture_project).update(
        job_state=JobState.DONE,
        job_progress=100,
        job_message="Done.",
        job_updated_at=timezone.now() + timedelta(seconds=1),
    )
    html = client.get(url).content.decode()
    assert 'value="100"' in html and "Recompute: Done" in html and "every 1s" not in html
    # Nothing in the cache (expired, or Redis flushed): the database record alone.
    cache.delete(jobs._cache_key(fixture_project.pk))
    assert "Recompute: Done" in client.get(url).content.decode()


def test_a_recompute_without_progress_shows_stalled(client, people, fixture_project):  # noqa: F811
    """A worker node that died mid-recompute leaves the job 'running' until the broker's
    visibility timeout; past the limit a new recompute is accepted, the page says so."""
    client.force_login(people["boss"])
    page_url = reverse("dashboard", args=["fixture", "producer"])
    progress_url = reverse("stats_progress", args=["fixture"])
    assert rollups_job_start(project_id=fixture_project.pk)
    jobs._report(fixture_project.pk, 46, "Computing reviewers…", JobState.RUNNING)
    html = client.get(page_url).content.decode()
    assert "Recompute: Running" in html and "every 1s" in html
    assert re.search(r"<button disabled[^>]*>Recompute</button>", html)

    # The last progress, in the cache and in the database, is older than the stale limit.
    long_ago = timezone.now() - jobs.STALE_QUEUE - timedelta(minutes=1)
    ProjectRollup.objects.filter(project=fixture_project).update(
        job_state=JobState.RUNNING, job_updated_at=long_ago
    )
    report = cache.get(jobs._cache_key(fixture_project.pk))
    cache.set(jobs._cache_key(fixture_project.pk), {**report, "at": long_ago.timestamp()})

    for html in (client.get(progress_url).content.decode(), client.get(page_url).content.decode()):
        assert "Recompute: Stalled" in html and "the worker may have stopped" in html
        assert "every 1s" not in html  # no more polling
    assert re.search(r"<button\s*>Recompute</button>", html)  # enabled again
    # And a new recompute is accepted.
    response = client.post(
        reverse("stats_recompute", args=["fixture"]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 202 and "Recompute: Queued" in response.content.decode()


def test_a_failed_refresh_shows_until_one_succeeds(client, people, fixture_project):  # noqa: F811
    from generations.services.rollups import rollups_failed, rollups_recompute

    client.force_login(people["client"])
    url = reverse("dashboard", args=["fixture", "producer"])
    rollups_failed(project_id=fixture_project.pk, reason="refresh failed: time limit")
    assert "refresh failed: time limit" in client.get(url).content.decode()
    rollups_recompute(project_id=fixture_project.pk)
    assert "refresh failed" not in client.get(url).content.decode()
