"""Prompt lineage: versions numbered per shot, each iterated from its parent, and diffs."""

import json
import re

import pytest
from django.urls import reverse

from generations.models import PromptVersion
from generations.selectors.prompts import parameters_diff, shot_lineage, word_diff
from generations.services import reviews as review_services
from generations.services.rollups import rollups_recompute

from .factories import PromptVersionFactory, ShotFactory, TakeFactory


@pytest.fixture
def lead(client, members):
    client.force_login(members["lead"])
    return client


def create_url(shot, parent=None) -> str:
    url = reverse("version_create", args=[shot.project.slug, shot.pk])
    return f"{url}?from={parent.pk}" if parent else url


def post_version(client, shot, text, parent=None, **fields):
    data = {"text": text, **fields}
    if parent is not None:
        data["parent"] = parent.pk
    return client.post(create_url(shot), data)


def test_each_version_iterates_from_its_parent(lead, shot, members):
    r1 = post_version(lead, shot, "a street food vendor, slow dolly-in", parameters='{"seed": 1}')
    v1 = PromptVersion.objects.get(shot=shot)
    assert r1.status_code == 302 and r1["Location"] == v1.get_absolute_url()
    post_version(lead, shot, "a street food vendor at night, slow dolly-in", parent=v1)
    v2 = PromptVersion.objects.get(shot=shot, parent=v1)
    post_version(lead, shot, "a street food vendor at night, crane up", parent=v2)
    v3 = PromptVersion.objects.get(shot=shot, parent=v2)

    assert [(v.number, v.parent_id) for v in (v1, v2, v3)] == [(1, None), (2, v1.pk), (3, v2.pk)]
    assert {v.author for v in (v1, v2, v3)} == {members["lead"]}
    assert v1.parameters == {"seed": 1}

    # A branch from an older version takes the next number, and its own parent.
    post_version(lead, shot, "a street food vendor, static shot", parent=v1, change_note="calmer")
    v4 = PromptVersion.objects.get(shot=shot, number=4)
    assert (v4.parent, v4.change_note) == (v1, "calmer")


def test_numbering_is_per_shot(lead, project, shot):
    other = ShotFactory(project=project, name="closing-rooftop")
    for text in ["one", "two", "three"]:
        post_version(lead, shot, text)
    post_version(lead, other, "first of the other shot")
    post_version(lead, other, "second of the other shot")
    numbers = {
        s.name: list(s.versions.order_by("number").values_list("number", flat=True))
        for s in (shot, other)
    }
    assert numbers == {"opening-street": [1, 2, 3], "closing-rooftop": [1, 2]}


def test_iterate_prefills_the_form_from_the_parent(lead, shot):
    parent = PromptVersionFactory(
        shot=shot,
        number=1,
        text="neon alley in the rain, handheld",
        negative_prompt="text, watermark",
        parameters={"camera": "handheld", "duration": 8},
    )
    response = lead.get(create_url(shot, parent))
    assert response.status_code == 200
    form = response.context["form"]
    assert form["text"].value() == parent.text
    assert form["negative_prompt"].value() == parent.negative_prompt
    assert json.loads(form["parameters"].value()) == parent.parameters
    page = response.content.decode()
    assert f'name="parent" value="{parent.pk}"' in page
    assert "neon alley in the rain, handheld</textarea>" in page
    assert "Iterate v1 of opening-street" in page


def test_a_blank_new_version_has_no_parent(lead, shot):
    response = lead.get(create_url(shot))
    assert response.context["form"]["text"].value() is None
    assert response.context["parent"] is None
    assert 'name="parent"' not in response.content.decode()


def test_a_parent_from_another_shot_is_refused(lead, project, shot):
    elsewhere = PromptVersionFactory(shot=ShotFactory(project=project, name="b"), number=1)
    assert lead.get(create_url(shot, elsewhere)).status_code == 404
    response = post_version(lead, shot, "stolen lineage", parent=elsewhere)
    assert response.status_code == 404
    assert not PromptVersion.objects.filter(shot=shot).exists()
    # A parent id that is not a number is refused the same way.
    response = lead.post(create_url(shot), {"text": "x", "parent": "abc"})
    assert response.status_code == 404


def test_bad_parameters_are_refused_with_a_reason(lead, shot):
    response = post_version(lead, shot, "ok text", parameters="[1, 2]")
    assert response.status_code == 400
    assert "must be a JSON object" in response.content.decode()
    response = post_version(lead, shot, "ok text", parameters="{seed: 1")
    assert response.status_code == 400
    assert "Not valid JSON" in response.content.decode()
    assert PromptVersion.objects.count() == 0


def rebuild(parts, ops) -> str:
    return "".join(p.text for p in parts if p.op in ops)


def test_word_diff_marks_inserted_and_deleted_words():
    old = "a street food vendor, slow dolly-in, golden hour"
    new = "a busy street food vendor, fast crane up, golden hour"
    parts = word_diff(old, new)
    # Equal + deleted gives back the old text; equal + inserted the new one.
    assert rebuild(parts, {"equal", "delete"}) == old
    assert rebuild(parts, {"equal", "insert"}) == new
    inserted = {w for p in parts if p.op == "insert" for w in p.text.split()}
    deleted = {w for p in parts if p.op == "delete" for w in p.text.split()}
    assert inserted == {"busy", "fast", "crane", "up"}
    assert deleted == {"slow", "dolly-in"}


def test_word_diff_of_identical_prompts_is_all_equal():
    parts = word_diff("same words, same order", "same words, same order")
    assert {p.op for p in parts} == {"equal"}


def test_parameters_diff_lists_changed_added_and_removed_keys():
    old = {"camera": "dolly-in", "duration": 8, "seed": 1}
    new = {"camera": "crane", "duration": 8, "aspect": "16:9"}
    assert parameters_diff(old, new) == [
        ("aspect", None, "16:9"),
        ("camera", "dolly-in", "crane"),
        ("seed", 1, None),
    ]


def test_the_version_page_shows_the_diff_with_its_parent(lead, shot):
    v1 = PromptVersionFactory(
        shot=shot, number=1, text="a quiet harbour at dawn", parameters={"camera": "static"}
    )
    v2 = PromptVersionFactory(
        shot=shot,
        number=2,
        parent=v1,
        text="a busy harbour at dawn",
        parameters={"camera": "drone", "seed": 9},
    )
    page = lead.get(v2.get_absolute_url()).content.decode()
    assert "<del>quiet</del>" in page
    assert "<ins>busy</ins>" in page
    assert re.search(r"<th>camera</th><td[^>]*><del>static</del> → <ins>drone</ins>", page)
    assert re.search(r"<th>seed</th><td[^>]*><del>—</del> → <ins>9</ins>", page)


def test_any_two_versions_of_a_shot_can_be_diffed(lead, project, shot):
    v1 = PromptVersionFactory(shot=shot, number=1, text="red car on a bridge")
    v2 = PromptVersionFactory(shot=shot, number=2, parent=v1, text="red car on a wet bridge")
    v3 = PromptVersionFactory(shot=shot, number=3, parent=v2, text="blue car on a wet bridge")
    page = lead.get(f"{v3.get_absolute_url()}?against={v1.pk}").content.decode()
    assert "<del>red</del>" in page and "<ins>blue</ins>" in page and "<ins>wet " in page
    page = lead.get(v3.get_absolute_url()).content.decode()  # against its parent: v2
    assert "<ins>wet" not in page and "<del>red</del>" in page
    other = PromptVersionFactory(shot=ShotFactory(project=project, name="z"), number=1)
    assert lead.get(f"{v3.get_absolute_url()}?against={other.pk}").status_code == 404


def test_the_lineage_page_counts_takes_per_version(lead, shot, members):
    v1 = PromptVersionFactory(shot=shot, number=1)
    v2 = PromptVersionFactory(shot=shot, number=2, parent=v1)
    v3 = PromptVersionFactory(shot=shot, number=3, parent=v1)
    plan = {v1: ["accept", "reject", "reject", None], v2: ["accept", "accept", None], v3: []}
    for version, verdicts in plan.items():
        for verdict in verdicts:
            take = TakeFactory(prompt_version=version)
            if verdict:
                review_services.review_record(take=take, reviewer=members["lead"], verdict=verdict)

    # The lineage reads the rollups that a worker computes; run that step here.
    rollups_recompute(project_id=shot.project_id)
    counts = {v.number: (v.n_takes, v.n_reviewed, v.n_accepted) for v in shot_lineage(shot=shot)}
    assert counts == {1: (4, 3, 1), 2: (3, 2, 2), 3: (0, 0, 0)}

    page = lead.get(shot.get_absolute_url()).content.decode()
    rows = page.split('<li class="depth-')[1:]
    assert len(rows) == 3
    assert rows[1].startswith("1") and "from v1" in rows[1]  # v2, a child of v1
    assert "4 takes" in rows[0] and "3 reviewed" in rows[0] and "1 accepted" in rows[0]
    assert "3 takes" in rows[1] and "2 reviewed" in rows[1] and "2 accepted" in rows[1]
    assert "0 takes" in rows[2]
