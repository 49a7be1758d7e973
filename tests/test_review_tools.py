"""Compare, the editors' grid with bulk tagging, and the flicker hint."""

import pytest
from django.urls import reverse

from generations.models import FailureTag, Review, Verdict
from generations.selectors.queue import FLICKER_SUGGEST_THRESHOLD, flicker_hint
from generations.services import media
from generations.services.reviews import review_record

from .browser.support import seed_taxonomy
from .factories import PromptVersionFactory, TakeFactory


@pytest.fixture(autouse=True)
def _taxonomy(db):
    seed_taxonomy()


@pytest.mark.django_db
def test_compare_shows_the_takes_and_the_prompt_diff(client, owner, project, shot, version):
    v2 = PromptVersionFactory(shot=shot, number=2, parent=version, text="a vendor, static shot")
    a, b = TakeFactory(prompt_version=version), TakeFactory(prompt_version=v2)
    client.force_login(owner)
    url = reverse("compare_takes", args=[project.slug])
    response = client.get(url, {"takes": f"{a.pk},{b.pk}"})
    assert response.status_code == 200
    assert response.text.count("data-sync ") + response.text.count("data-sync\n") >= 2
    assert "<ins>static</ins>" in response.text or "<ins>static shot</ins>" in response.text
    wipe = client.get(url, {"takes": f"{a.pk},{b.pk}", "mode": "wipe"})
    assert 'id="wipe-slider"' in wipe.text
    # The version page's link: the latest take of each version.
    by_version = client.get(url, {"versions": f"{version.pk},{v2.pk}"})
    assert [t.pk for t in by_version.context["takes"]] == [a.pk, b.pk]
    assert client.get(url, {"takes": str(a.pk)}).status_code == 404


@pytest.mark.django_db
def test_compare_ignores_takes_of_other_projects(client, owner, project, version, outsider):
    a = TakeFactory(prompt_version=version)
    foreign = TakeFactory()
    client.force_login(owner)
    url = reverse("compare_takes", args=[project.slug])
    assert client.get(url, {"takes": f"{a.pk},{foreign.pk}"}).status_code == 404
    client.force_login(outsider)
    assert client.get(url, {"takes": f"{a.pk},{a.pk}"}).status_code == 404


@pytest.mark.django_db
def test_the_grid_tags_many_takes_in_one_request(
    client, members, project, version, django_assert_max_num_queries
):
    takes = [TakeFactory(prompt_version=version) for _ in range(5)]
    review_record(
        take=takes[0],
        reviewer=members["owner"],
        verdict=Verdict.REJECT,
        tags=FailureTag.objects.filter(slug="blur"),
    )
    client.force_login(members["editor"])
    with django_assert_max_num_queries(14):
        page = client.get(reverse("take_grid", args=[project.slug]))
    assert page.status_code == 200
    assert page.text.count('name="takes"') == 5
    before = Review.objects.count()
    response = client.post(
        reverse("grid_bulk_tag", args=[project.slug]),
        {"takes": [t.pk for t in takes[:3]], "add": "warping", "remove": "blur"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    # Only takes already rejected carry failure tags; the two unreviewed ones are left alone.
    assert "Tags changed on 1 of 3" in response.text
    assert "2 not rejected" in response.text
    assert Review.objects.count() == before + 1
    takes[0].refresh_from_db()
    assert takes[0].current_verdict == Verdict.REJECT
    assert list(takes[0].current_review.failure_tags.values_list("slug", flat=True)) == ["warping"]
    for take in takes[1:4]:
        take.refresh_from_db()
        assert take.current_verdict == ""


@pytest.mark.django_db
def test_the_grid_refuses_viewers_and_other_projects(client, members, project, version):
    take = TakeFactory(prompt_version=version)
    foreign = TakeFactory()
    url = reverse("grid_bulk_tag", args=[project.slug])
    client.force_login(members["viewer"])
    assert client.post(url, {"takes": [take.pk], "add": "blur"}).status_code == 403
    client.force_login(members["editor"])
    response = client.post(url, {"takes": [foreign.pk], "add": "blur"})
    assert response.status_code == 302  # nothing of this project selected: an error message
    foreign.refresh_from_db()
    assert foreign.current_verdict == ""


def test_the_flicker_threshold_separates_a_flickering_clip_from_a_clean_one(tmp_path):
    scores = {}
    for flicker in (False, True):
        path = tmp_path / f"clip-{flicker}.mp4"
        media.render_test_clip(path, seconds=1.0, flicker=flicker)
        scores[flicker] = media.analyse(str(path), duration_s=1.0).flicker_score
    assert scores[False] < FLICKER_SUGGEST_THRESHOLD < scores[True]


@pytest.mark.django_db
def test_the_queue_suggests_flicker_above_the_threshold(client, owner, project, version):
    take = TakeFactory(prompt_version=version, flicker_score=69.0, flicker_series=[1, 70, 2, 69])
    assert flicker_hint(take)["suggest"] is True
    assert flicker_hint(TakeFactory(prompt_version=version, flicker_score=0.15))["suggest"] is False
    client.force_login(owner)
    response = client.get(reverse("review_queue", args=[project.slug]), {"take": take.pk})
    assert 'id="flicker-suggestion"' in response.text
    assert "<polyline points=" in response.text
