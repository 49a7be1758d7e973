"""The prompt checklist's heuristics and the project's evidence behind each item."""

import pytest
from django.urls import reverse

from generations.models import Verdict
from generations.selectors.checklist import MIN_REVIEWED, checklist_evidence, prompt_flags
from generations.services.reviews import review_record

from .factories import PromptVersionFactory, TakeFactory


@pytest.mark.parametrize(
    ("text", "parameters", "expected"),
    [
        (
            "a street food vendor, slow dolly-in, golden hour",
            {"duration_s": 8},
            dict.fromkeys(
                ["no_camera_move", "no_lighting", "no_duration", "many_subjects", "on_screen_text"],
                False,
            ),
        ),
        ("a cat on a sofa", {}, {"no_camera_move": True, "no_lighting": True, "no_duration": True}),
        ("a cat, 8 seconds", {"camera_move": "pan left", "lighting": "overcast"},
         {"no_camera_move": False, "no_lighting": False, "no_duration": False}),
        ("three dancers on a rooftop", {}, {"many_subjects": True}),
        ("a crowd at a market", {}, {"many_subjects": True}),
        ("two friends talking", {}, {"many_subjects": False}),
        ('a shop sign that reads "OPEN"', {}, {"on_screen_text": True}),
        ("a neon-lit alley, handheld", {}, {"no_lighting": False, "no_camera_move": False,
                                             "on_screen_text": False}),
    ],
)  # fmt: skip
def test_it_flags_prompts_by_the_documented_rules(text, parameters, expected):
    flags = prompt_flags(text, parameters)
    assert {k: flags[k] for k in expected} == expected


@pytest.mark.django_db
def test_the_evidence_needs_enough_reviews_on_each_side(project, owner, shot):
    plain = PromptVersionFactory(shot=shot, number=1, text="a cat on a sofa")
    directed = PromptVersionFactory(
        shot=shot, number=2, text="a cat on a sofa, slow dolly-in, golden hour"
    )
    # Without a camera move: 15 of 20 rejected. With one: 5 of 20 rejected.
    for version, rejects in ((plain, 15), (directed, 5)):
        for i in range(MIN_REVIEWED):
            take = TakeFactory(prompt_version=version)
            review_record(
                take=take,
                reviewer=owner,
                verdict=Verdict.REJECT if i < rejects else Verdict.ACCEPT,
            )
    TakeFactory(prompt_version=plain)  # unreviewed: not counted
    evidence = checklist_evidence(project=project)["no_camera_move"]
    assert evidence["enough"] is True
    assert (evidence["with_reviewed"], evidence["with_rate"]) == (20, 0.75)
    assert (evidence["without_reviewed"], evidence["without_rate"]) == (20, 0.25)
    # "More than two subjects": every prompt lacks it, so one side is empty.
    assert checklist_evidence(project=project)["many_subjects"]["enough"] is False


@pytest.mark.django_db
def test_the_checklist_page_shows_flags_and_not_enough_reviews(client, project, owner, shot):
    version = PromptVersionFactory(shot=shot, number=1, text="three dancers, a sign saying HI")
    client.force_login(owner)
    url = reverse("version_checklist", args=[project.slug, version.pk])
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'data-item="many_subjects" data-hit="1"' in response.text
    assert 'data-item="on_screen_text" data-hit="1"' in response.text
    assert "not enough reviews yet" in response.text
    assert client.get(url).status_code == 200
    # The version page loads it.
    page = client.get(reverse("version_detail", args=[project.slug, version.pk]))
    assert url in page.text


@pytest.mark.django_db
def test_the_checklist_checks_membership(client, outsider, project, shot):
    version = PromptVersionFactory(shot=shot, number=1)
    client.force_login(outsider)
    url = reverse("version_checklist", args=[project.slug, version.pk])
    assert client.get(url).status_code == 404
