"""The stats summary stays a summary, and the rows that grow with a project (shots, prompt
versions, reviewers, tags by shot, tag pairs) are served a page at a time: sorted, searched and
paginated by cursor, through the API, the "all rows" pages and the top rows of the pages. Every
page and endpoint runs the same number of queries at 10 and at 500 shots."""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generations.models import FailureTag, Membership, PromptVersion, Review, Role, Shot, Take
from generations.selectors.stats import (
    STATS_DIMENSIONS,
    StatsQueryError,
    UnknownDimension,
    project_stats,
    stats_dimension_page,
)
from generations.services.rollups import rollups_recompute
from generations.services.tokens import api_token_create

from .factories import ProjectFactory, UserFactory

MODELS = ["sora-2", "veo-3", "kling-2"]
TAGS = ["flicker", "warping", "anatomy", "blur"]


def build(slug: str, shots: int, reviewers):
    """`shots` shots of two versions each: shot i has i % 7 + 1 takes on v1 and 2 on v2, every
    take reviewed by one of the reviewers, rejects tagged; costs differ per shot, so sorting
    by takes and by spend give different orders."""
    project = ProjectFactory(slug=slug, name=slug)
    made = Shot.objects.bulk_create(
        [Shot(project=project, name=f"shot {i:04d}") for i in range(shots)]
    )
    versions = PromptVersion.objects.bulk_create(
        [PromptVersion(shot=s, number=n, text=f"{s.name} v{n}") for s in made for n in (1, 2)]
    )
    day = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
    takes = []
    for v in versions:
        i = int(v.shot.name.split()[1])
        for k in range(i % 7 + 1 if v.number == 1 else 2):
            takes.append(
                Take(
                    project=project, shot=v.shot, prompt_version=v, pass_number=v.number,
                    model=MODELS[(i + k) % 3], external_id=f"{slug}-{v.pk}-{k}",
                    duration_s=Decimal(8), fps=Decimal(24), width=1280, height=720,
                    codec="h264", cost_usd=Decimal((i * 37) % 11 + 1) / 4,
                    cost_source="reported", created_at=day + dt.timedelta(days=k % 3),
                )
            )  # fmt: skip
    takes = Take.objects.bulk_create(takes)
    tags = {s: FailureTag.objects.get_or_create(slug=s, defaults={"name": s})[0] for s in TAGS}
    reviews = [
        Review(
            take=t, reviewer=reviewers[n % len(reviewers)],
            verdict="accept" if n % 4 == 0 else "reject", created_at=day + dt.timedelta(days=3),
        )
        for n, t in enumerate(takes)
    ]  # fmt: skip
    reviews = Review.objects.bulk_create(reviews)
    through = Review.failure_tags.through
    links = []
    for n, r in enumerate(reviews):
        if r.verdict == "reject":
            picked = {TAGS[n % 4], TAGS[(n // 4) % 4]}
            links += [through(review_id=r.pk, failuretag_id=tags[s].pk) for s in picked]
    through.objects.bulk_create(links)
    for t, r in zip(takes, reviews, strict=True):
        t.current_review, t.current_verdict = r, r.verdict
    Take.objects.bulk_update(takes, ["current_review", "current_verdict"])
    rollups_recompute(project_id=project.pk, ledger=True)
    return project


@pytest.fixture
def reviewers(db):
    return [UserFactory(username=f"reviewer{i}@studio.test") for i in range(3)]


@pytest.fixture
def member(db):
    return UserFactory(username="member@studio.test")


def join(project, user):
    Membership.objects.create(project=project, user=user, role=Role.VIEWER)
    return project


def every_row(project, dimension, **options):
    rows, cursor, pages = [], None, 0
    while True:
        page = stats_dimension_page(
            project=project, dimension=dimension, cursor=cursor, limit=7, **options
        )
        rows += page["results"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return rows, pages, page["total"]


def test_the_summary_keeps_the_spec_keys_and_leaves_growing_rows_out(reviewers, member):
    project = join(build("small", 10, reviewers), member)
    s = project_stats(project=project)
    for key in ("by_shot", "by_prompt_version", "by_reviewer", "failure_by_shot"):
        assert key not in s
    assert s["dimensions"] == {
        "shots": 10, "prompt_versions": 20, "reviewers": 3,
        "failures_by_shot": len(every_row(project, "failures_by_shot")[0]),
        "tag_pairs": len(every_row(project, "tag_pairs")[0]),
    }  # fmt: skip
    assert s["takes"] == sum(i % 7 + 1 + 2 for i in range(10))


def test_the_summary_does_not_grow_with_the_shots(reviewers):
    small = json.dumps(project_stats(project=build("small", 10, reviewers)))
    large = json.dumps(project_stats(project=build("large", 500, reviewers)))
    # Same models, passes, days, tags and reviewers: only the digits of the numbers differ.
    assert len(large) < len(small) + 300
    assert len(large) < 20_000


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("-takes", lambda r: (-r["takes"],)),
        ("takes", lambda r: (r["takes"],)),
        ("-spend", lambda r: (-r["spend_usd"],)),
        ("-accepted", lambda r: (-r["accepted"],)),
        ("name", lambda r: (r["shot"],)),
    ],
)
def test_shots_page_by_cursor_in_every_order(reviewers, sort, key):
    project = build("paged", 40, reviewers)
    rows, pages, total = every_row(project, "shots", sort=sort)
    assert total == 40 and pages == 6  # 7 per page
    assert sorted({r["shot"] for r in rows}) == [f"shot {i:04d}" for i in range(40)]
    assert len(rows) == 40
    assert [key(r) for r in rows] == sorted(key(r) for r in rows)
    # Takes: v1 has i % 7 + 1, v2 has 2.
    assert {r["shot"]: r["takes"] for r in rows}["shot 0013"] == 13 % 7 + 1 + 2


def test_a_search_and_a_shot_narrow_the_rows(reviewers):
    project = build("search", 40, reviewers)
    rows, _, total = every_row(project, "shots", q="SHOT 001")
    assert total == 40
    assert sorted(r["shot"] for r in rows) == [f"shot {i:04d}" for i in range(10, 20)]
    shot = Shot.objects.get(project=project, name="shot 0005")
    versions, _, _ = every_row(project, "prompt_versions", shot_id=shot.pk)
    assert [v["prompt_version"] for v in sorted(versions, key=lambda v: v["version_id"])] == [
        "shot 0005 v1", "shot 0005 v2"
    ]  # fmt: skip
    assert [v["takes"] for v in sorted(versions, key=lambda v: v["version_id"])] == [6, 2]
    by_tag, _, _ = every_row(project, "failures_by_shot", q="0005")
    assert {r["shot"] for r in by_tag} == {"shot 0005"}
    assert sum(r["takes"] for r in by_tag) >= 1


def test_bad_parameters_are_clear_errors(reviewers):
    project = build("bad", 3, reviewers)
    with pytest.raises(UnknownDimension):
        stats_dimension_page(project=project, dimension="takes")
    for options, words in (
        ({"sort": "-colour"}, "Unknown sort"),
        ({"cursor": "not-a-cursor"}, "Invalid cursor"),
        ({"limit": 0}, "between 1 and 200"),
        ({"limit": "ten"}, "whole number"),
    ):
        with pytest.raises(StatsQueryError, match=words):
            stats_dimension_page(project=project, dimension="shots", **options)


def test_the_api_pages_a_dimension_for_members_only(client, reviewers, member):
    join(build("api", 12, reviewers), member)
    url = reverse("api-v1:project_stats_dimension", args=["api", "shots"])
    assert client.get(url).status_code == 404  # anonymous, like every API URL
    _token, secret = api_token_create(user=member, name="ci")
    auth = {"Authorization": f"Bearer {secret}"}
    first = client.get(url, {"limit": 5, "sort": "-takes"}, headers=auth).json()
    assert [r["takes"] for r in first["results"]] == sorted(
        (r["takes"] for r in first["results"]), reverse=True
    )
    second = client.get(url, {"limit": 5, "cursor": first["next_cursor"]}, headers=auth).json()
    assert not {r["shot_id"] for r in first["results"]} & {r["shot_id"] for r in second["results"]}
    assert first["total"] == 12 and len(second["results"]) == 5
    bad = client.get(url, {"sort": "-colour"}, headers=auth)
    assert bad.status_code == 400 and "Unknown sort" in bad.json()["message"]
    missing = reverse("api-v1:project_stats_dimension", args=["api", "takes"])
    assert client.get(missing, headers=auth).status_code == 404
    assert client.post(url, headers=auth).status_code == 405
    outsider = UserFactory(username="outsider@studio.test")
    _token, other = api_token_create(user=outsider, name="x")
    assert client.get(url, headers={"Authorization": f"Bearer {other}"}).status_code == 404


def test_the_project_page_shows_the_top_shots_and_how_many_more(client, reviewers, member):
    project = join(build("top", 30, reviewers), member)
    client.force_login(member)
    html = client.get(reverse("project_detail", args=["top"])).content.decode()
    assert "and 20 more" in html
    assert reverse("stats_table", args=["top", "shots"]) in html
    # The most takes: shots with i % 7 == 6 (7 + 2 takes).
    assert "shot 0006" in html and "shot 0007" not in html.split("Newest shots")[0]
    table = client.get(reverse("stats_table", args=["top", "shots"]), {"q": "shot 002"})
    page = table.content.decode()
    assert table.status_code == 200 and "shot 0025" in page and "shot 0015" not in page
    bad = client.get(reverse("stats_table", args=["top", "shots"]), {"cursor": "zz"})
    assert bad.status_code == 400 and "Invalid cursor" in bad.content.decode()
    assert client.get(reverse("stats_table", args=["top", "nope"])).status_code == 404
    assert project.pk


def urls(slug: str, shot_id: int) -> list[str]:
    return [
        reverse("project_detail", args=[slug]),
        reverse("dashboard", args=[slug, "producer"]),
        reverse("dashboard", args=[slug, "creative"]),
        reverse("dashboard", args=[slug, "creative"]) + "?shot=shot+0003",
        reverse("dashboard", args=[slug, "editor"]),
        reverse("dashboard_live", args=[slug, "editor"]) + "?rev=0",
        reverse("api-v1:project_stats", args=[slug]),
        reverse("shot_detail", args=[slug, shot_id]),
        reverse("review_queue", args=[slug]),
        reverse("review_queue", args=[slug]) + f"?shot={shot_id}",
        reverse("review_queue", args=[slug]) + "?shot_q=0003",
        reverse("take_grid", args=[slug]),
        reverse("take_grid", args=[slug]) + f"?shot={shot_id}&shot_q=0003",
        *(reverse("stats_table", args=[slug, name]) for name in STATS_DIMENSIONS),
        *(
            reverse("api-v1:project_stats_dimension", args=[slug, name])
            for name in STATS_DIMENSIONS
        ),
    ]


def count_queries(client, url: str) -> int:
    client.get(url)  # warm the session and content types out of the count
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def test_every_page_runs_the_same_queries_at_10_and_at_500_shots(client, reviewers, member):
    small = join(build("small", 10, reviewers), member)
    large = join(build("large", 500, reviewers), member)
    client.force_login(member)
    shot = {p: Shot.objects.get(project=p, name="shot 0003").pk for p in (small, large)}
    counted = {}
    for a, b in zip(urls("small", shot[small]), urls("large", shot[large]), strict=True):
        counted[a] = (count_queries(client, a), count_queries(client, b))
    assert {url: n for url, n in counted.items() if n[0] != n[1]} == {}
    # The summary reads four tables, whatever the size.
    assert counted[reverse("api-v1:project_stats", args=["small"])][0] <= 8


def test_the_shot_filter_of_the_queue_and_grid_is_bounded_and_searchable(client, reviewers, member):
    """A project of 500 shots sends the first 200 names, a search box, and the chosen shot even
    when it is not among them; the search narrows the list (the takes are narrowed only by the
    chosen shot)."""
    import re

    from generations.selectors.queue import SHOT_CHOICES

    small = join(build("small", 10, reviewers), member)
    large = join(build("large", 500, reviewers), member)
    client.force_login(member)
    late = Shot.objects.get(project=large, name="shot 0499")
    for name in ("review_queue", "take_grid"):
        html = client.get(reverse(name, args=["large"])).content.decode()
        names = re.findall(r'<option value="\d+" >(shot \d{4})</option>', html)
        assert names == [f"shot {i:04d}" for i in range(SHOT_CHOICES)]
        assert 'name="shot_q"' in html and "more: find a shot by name" in html
        html = client.get(reverse(name, args=["large"]), {"shot": late.pk}).content.decode()
        assert f'<option value="{late.pk}" selected>shot 0499</option>' in html
        html = client.get(reverse(name, args=["large"]), {"shot_q": "shot 049"}).content.decode()
        names = re.findall(r'<option value="\d+" (?:selected)?>(shot \d{4})</option>', html)
        assert names == [f"shot {i:04d}" for i in range(490, 500)]
        assert "more: find a shot by name" not in html
    html = client.get(reverse("review_queue", args=[small.slug])).content.decode()
    assert 'name="shot_q"' not in html and html.count("<option value=") >= 10
