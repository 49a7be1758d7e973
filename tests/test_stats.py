"""Each statistic of SPEC §4 on a small fixture where every category has a different count, so a
rollup wired to the wrong dimension or field fails. Expected numbers are worked out by hand from
the fixture table below (see the comments), not copied from the output."""

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from generations.models import FailureTag, Project, Review, RollupRow
from generations.selectors.stats import project_stats, stats_dimension_page, wilson_ci95
from generations.services.reviews import review_record, review_undo, takes_bulk_tag
from generations.services.rollups import (
    rollups_compute,
    rollups_recompute,
    rollups_refresh,
    rollups_rows,
)

from .factories import ProjectFactory, PromptVersionFactory, ShotFactory, TakeFactory, UserFactory

D1, D2, D3 = (dt.datetime(2026, 11, d, 9, 30, tzinfo=dt.UTC) for d in (1, 2, 3))

# (shot, version, model, cost, seconds, created, reviews: [(reviewer, verdict, tags)])
TAKES = [
    ("alley", 1, "sora-2", "1.00", 8, D1, [("lead", "reject", ["flicker", "warping"])]),
    ("alley", 1, "sora-2", "1.00", 8, D1, [("lead", "reject", ["warping", "anatomy"])]),
    ("alley", 1, "veo-3", "3.00", 8, D1, [("editor", "reject", ["warping", "blur", "flicker"])]),
    ("alley", 1, "veo-3", "3.00", 8, D2, [("lead", "accept", [])]),
    ("alley", 2, "sora-2", "1.50", 10, D2, [("lead", "accept", []),
                                             ("editor", "reject", ["anatomy"])]),
    ("alley", 2, "sora-2", "1.50", 10, D2, [("editor", "accept", [])]),
    ("alley", 2, "kling-2", "0.50", 5, D3, [("editor", "reject", ["warping"]),
                                              ("lead", "reject", ["warping", "flicker"])]),
    ("rooftop", 1, "kling-2", "0.50", 5, D3, []),
    ("rooftop", 1, "sora-2", "1.25", 8, D3, [("lead", "accept", []), ("lead", "undo", [])]),
    ("rooftop", 1, "veo-3", "3.00", 8, D3, [("editor", "accept", [])]),
]  # fmt: skip


@pytest.fixture
def fixture_project(db):
    project = ProjectFactory(slug="fixture", budget_usd=Decimal("20.00"), target_accepted_takes=5)
    users = {name: UserFactory(username=f"{name}@studio.test") for name in ("lead", "editor")}
    # get_or_create: a transactional test before this one may have flushed the seeded taxonomy.
    tags = {
        s: FailureTag.objects.get_or_create(slug=s)[0]
        for s in ("flicker", "warping", "anatomy", "blur")
    }
    versions = {}
    clock = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
    for shot_name, number, model, cost, seconds, created, reviews in TAKES:
        if (shot_name, number) not in versions:
            shot = ShotFactory(project=project, name=shot_name) if number == 1 else None
            shot = shot or versions[(shot_name, 1)].shot
            versions[(shot_name, number)] = PromptVersionFactory(shot=shot, number=number)
        take = TakeFactory(
            prompt_version=versions[(shot_name, number)],
            model=model,
            cost_usd=Decimal(cost),
            duration_s=Decimal(seconds),
            created_at=created,
        )
        for reviewer, verdict, slugs in reviews:
            clock += dt.timedelta(minutes=1)
            if verdict == "undo":
                review_undo(take=take, reviewer=users[reviewer])
                continue
            review_record(
                take=take,
                reviewer=users[reviewer],
                verdict=verdict,
                tags=[tags[s] for s in slugs],
                at=clock,
            )
    rollups_refresh(project_id=project.pk)
    return project


def table(project, dimension: str, **options) -> list[dict]:
    """Every row of a paginated table, one row per page, so the cursor is exercised too."""
    rows, cursor = [], None
    while True:
        page = stats_dimension_page(
            project=project, dimension=dimension, cursor=cursor, limit=1, **options
        )
        rows += page["results"]
        cursor = page["next_cursor"]
        if cursor is None:
            assert page["total"] == len(rows) or options.get("q")
            return rows


REVIEWER_FIELDS = ("reviews", "accepted", "share_accepted", "compared", "agreed", "agreement")


def by_reviewer(project) -> dict:
    return {r["reviewer"]: {k: r[k] for k in REVIEWER_FIELDS} for r in table(project, "reviewers")}


def test_counts_and_acceptance(fixture_project):
    s = project_stats(project=fixture_project)
    # Takes 8 (unreviewed) and 9 (accepted, then undone) are unreviewed; take 5 was re-reviewed
    # from accept to reject, so only takes 4, 6 and 10 are accepted.
    assert (s["takes"], s["reviewed"], s["accepted"], s["rejected"]) == (10, 8, 3, 5)
    assert s["acceptance_rate"] == 0.375
    assert s["acceptance_ci95"] == wilson_ci95(3, 8)


def test_wilson_interval_matches_the_spec_example():
    # SPEC §4: 163 accepted of 624 reviewed -> [0.2282, 0.2971].
    assert wilson_ci95(163, 624) == [0.2282, 0.2971]
    assert wilson_ci95(0, 0) is None
    low, high = wilson_ci95(0, 10)
    assert low == 0.0 and 0.27 < high < 0.28


def test_first_pass_and_by_pass(fixture_project):
    s = project_stats(project=fixture_project)
    first = s["first_pass"]
    assert (first["reviewed"], first["accepted"], first["acceptance_rate"]) == (5, 2, 0.4)
    assert first["position"] == "above"
    assert s["by_pass"]["1"]["takes"] == 7
    assert (s["by_pass"]["2"]["takes"], s["by_pass"]["2"]["reviewed"]) == (3, 3)
    assert s["by_pass"]["2"]["accepted"] == 1
    assert set(s["by_pass"]) == {"1", "2"}


def test_by_model_with_spend_and_costs(fixture_project):
    m = project_stats(project=fixture_project)["by_model"]
    assert {k: (v["takes"], v["reviewed"], v["accepted"]) for k, v in m.items()} == {
        "sora-2": (5, 4, 1),
        "veo-3": (3, 3, 2),
        "kling-2": (2, 1, 0),
    }
    assert (m["sora-2"]["spend_usd"], m["veo-3"]["spend_usd"], m["kling-2"]["spend_usd"]) == (
        6.25,
        9.0,
        1.0,
    )
    assert m["veo-3"]["cost_per_accepted_usd"] == 4.5
    assert m["veo-3"]["cost_per_accepted_second_usd"] == round(9 / 16, 4)
    assert m["sora-2"]["cost_per_accepted_second_usd"] == round(6.25 / 10, 4)
    assert m["kling-2"]["cost_per_accepted_usd"] is None  # nothing accepted: undefined


def test_spend_seconds_and_costs(fixture_project):
    s = project_stats(project=fixture_project)
    assert s["spend_usd"] == 16.25  # every take, reviewed or not
    assert s["accepted_seconds"] == 26.0  # takes 4 (8 s), 6 (10 s), 10 (8 s)
    assert s["cost_per_accepted_usd"] == round(16.25 / 3, 4)
    assert s["cost_per_accepted_second_usd"] == round(16.25 / 26, 4)


def test_shots_and_prompt_versions(fixture_project):
    shots = {
        v["shot"]: (v["takes"], v["reviewed"], v["accepted"])
        for v in table(fixture_project, "shots")
    }
    assert shots == {"alley": (7, 7, 2), "rooftop": (3, 1, 1)}
    versions = {
        v["prompt_version"]: (v["takes"], v["reviewed"])
        for v in table(fixture_project, "prompt_versions")
    }
    assert versions == {"alley v1": (4, 4), "alley v2": (3, 3), "rooftop v1": (3, 1)}


def test_failure_breakdown_counts_current_reviews_of_rejected_takes(fixture_project):
    s = project_stats(project=fixture_project)
    # Take 5's accept has no tags, its current reject carries anatomy; take 7's first review
    # (warping only) is superseded by warping + flicker.
    assert s["failure_breakdown"] == {"warping": 4, "flicker": 3, "anatomy": 2, "blur": 1}
    assert list(s["failure_breakdown"]) == ["warping", "flicker", "anatomy", "blur"]
    assert s["failure_by_model"] == {
        "kling-2": {"flicker": 1, "warping": 1},
        "sora-2": {"anatomy": 2, "warping": 2, "flicker": 1},
        "veo-3": {"blur": 1, "flicker": 1, "warping": 1},
    }
    assert s["failure_by_pass"] == {
        "1": {"warping": 3, "flicker": 2, "anatomy": 1, "blur": 1},
        "2": {"anatomy": 1, "flicker": 1, "warping": 1},
    }
    by_shot = {
        (r["shot"], r["tag"]): r["takes"] for r in table(fixture_project, "failures_by_shot")
    }
    assert by_shot == {
        ("alley", "warping"): 4, ("alley", "flicker"): 3, ("alley", "anatomy"): 2,
        ("alley", "blur"): 1,
    }  # fmt: skip


def test_tag_cooccurrence(fixture_project):
    pairs = {tuple(p["tags"]): p["takes"] for p in table(fixture_project, "tag_pairs")}
    assert pairs == {
        ("flicker", "warping"): 3,
        ("anatomy", "warping"): 1,
        ("blur", "flicker"): 1,
        ("blur", "warping"): 1,
    }


def test_reviewers_and_agreement(fixture_project):
    s = project_stats(project=fixture_project)
    reviewers = by_reviewer(fixture_project)
    lead, editor = reviewers["lead@studio.test"], reviewers["editor@studio.test"]
    # The undo writes a "clear" review, which is not a judgement.
    assert (lead["reviews"], lead["accepted"], lead["share_accepted"]) == (6, 3, 0.5)
    assert (editor["reviews"], editor["accepted"], editor["share_accepted"]) == (5, 2, 0.4)
    # Both judged takes 5 (accept vs reject) and 7 (reject and reject).
    assert (lead["compared"], lead["agreed"], lead["agreement"]) == (2, 1, 0.5)
    assert s["reviewer_agreement"] == {"pairs": 2, "agreed": 1, "rate": 0.5}


# Judgements only, in order (all on one shot and version): (take, reviewer, verdict, tags).
JUDGED = [
    (1, "lead", "reject", ["flicker"]), (1, "editor", "reject", ["warping"]),
    (2, "lead", "accept", []), (2, "editor", "reject", ["blur"]),
    (3, "lead", "reject", ["anatomy"]),
    (4, "editor", "accept", []),
    (5, "lead", "accept", []), (5, "editor", "accept", []),
    (6, "editor", "reject", ["flicker"]), (6, "lead", "reject", ["blur"]),
    (7, "editor", "reject", ["blur"]),
]  # fmt: skip
# lead: takes 1 2 3 5 6 → 5 judgements, 2 accepts (2, 5): share 0.4.
# editor: takes 1 2 4 5 6 7 → 6 judgements, 2 accepts (4, 5): share 1/3.
# Judged by both: 1 (reject/reject, agree), 2 (accept/reject), 5 (accept/accept, agree),
# 6 (reject/reject, agree): 4 pairs, 3 agreed, the same from either side.
JUDGEMENT_STATS = {
    "by_reviewer": {
        "editor@studio.test": {"reviews": 6, "accepted": 2, "share_accepted": 0.3333,
                               "compared": 4, "agreed": 3, "agreement": 0.75},
        "lead@studio.test": {"reviews": 5, "accepted": 2, "share_accepted": 0.4,
                             "compared": 4, "agreed": 3, "agreement": 0.75},
    },
    "reviewer_agreement": {"pairs": 4, "agreed": 3, "rate": 0.75},
}  # fmt: skip


@pytest.fixture
def judged_then_edited(db):
    """JUDGED, then the editor bulk-tags takes 1, 3, 4, 6, 7 with warping (a new reject review
    on 3, 6, 7: take 1 has warping already, take 4 is accepted) and the editor undoes their own
    reject of take 2 (a new accept review by the editor: only your own verdict can be undone).
    Returns (project, takes, stats before the edits)."""
    project = ProjectFactory(slug="judged")
    users = {name: UserFactory(username=f"{name}@studio.test") for name in ("lead", "editor")}
    slugs = ("flicker", "warping", "anatomy", "blur")
    tags = {s: FailureTag.objects.get_or_create(slug=s)[0] for s in slugs}
    version = PromptVersionFactory(shot=ShotFactory(project=project, name="alley"), number=1)
    takes = {n: TakeFactory(prompt_version=version, created_at=D1) for n in range(1, 8)}
    clock = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
    for n, reviewer, verdict, slugs in JUDGED:
        clock += dt.timedelta(minutes=1)
        review_record(take=takes[n], reviewer=users[reviewer], verdict=verdict,
                      tags=[tags[s] for s in slugs], at=clock)  # fmt: skip
    rollups_refresh(project_id=project.pk)
    before = _reviewer_stats(project)
    edited = [takes[n] for n in (1, 3, 4, 6, 7)]
    assert takes_bulk_tag(takes=edited, reviewer=users["editor"], add=[tags["warping"]]) == 3
    review_undo(take=takes[2], reviewer=users["editor"])
    rollups_refresh(project_id=project.pk)
    return project, takes, before


def _reviewer_stats(project) -> dict:
    return {
        "by_reviewer": by_reviewer(project),
        "reviewer_agreement": project_stats(project=project)["reviewer_agreement"],
    }


def test_reviewer_stats_count_judgements_only(judged_then_edited):
    project, takes, before = judged_then_edited
    assert before == JUDGEMENT_STATS
    # The bulk edit (3 rejects by the editor, one making take 3 a take "both judged") and the
    # undo (an accept by the editor) change nothing here.
    assert _reviewer_stats(project) == JUDGEMENT_STATS
    kinds = {(r.take_id, r.kind) for r in Review.objects.filter(take__project=project)}
    assert {(t.pk, "bulk") for t in (takes[3], takes[6], takes[7])} < kinds
    assert (takes[2].pk, "undo") in kinds
    assert Review.objects.filter(take__project=project, kind="verdict").count() == len(JUDGED)
    # Every path agrees: the incremental rows (above), a rebuild, the portable ORM queries.
    incremental = rollups_rows(project_id=project.pk)
    assert rollups_compute(project_id=project.pk) == rollups_compute(
        project_id=project.pk, portable=True
    )
    rollups_recompute(project_id=project.pk, ledger=True)
    assert rollups_rows(project_id=project.pk) == incremental


def test_the_current_verdict_follows_the_latest_review_of_any_kind(judged_then_edited):
    project, takes, _ = judged_then_edited
    for take in takes.values():
        take.refresh_from_db()
        assert take.current_review == take.reviews.order_by("-created_at", "-id").first()
    # Take 2: the undo restored the lead's accept; 3, 6, 7: the bulk reviews carry warping.
    assert [takes[n].current_verdict for n in range(1, 8)] == [
        "reject", "accept", "reject", "accept", "accept", "reject", "reject"
    ]  # fmt: skip
    s = project_stats(project=project)
    assert (s["reviewed"], s["accepted"]) == (7, 3)
    # warping: 1 (the editor's own), 3, 6, 7 (bulk); blur: 6, 7; anatomy: 3; flicker: none
    # (take 1's current review is the editor's, take 6's the bulk edit of the lead's blur).
    assert s["failure_breakdown"] == {"warping": 4, "blur": 2, "anatomy": 1}


def test_review_kinds_survive_an_export_and_reimport(judged_then_edited):
    from generations.manifest.export import manifest_lines
    from generations.services.manifest import manifest_import

    project, _, _ = judged_then_edited
    lines = list(manifest_lines(project=project))
    kinds = [r.get("kind") for line in map(json.loads, lines) for r in line["reviews"]]
    assert sorted(k for k in kinds if k) == ["bulk", "bulk", "bulk", "undo"]
    before = project_stats(project=project)
    Project.objects.filter(pk=project.pk).delete()
    assert manifest_import(lines=lines).ok
    project = Project.objects.get(slug="judged")
    rollups_refresh(project_id=project.pk)
    after = project_stats(project=project)
    assert _reviewer_stats(project) == JUDGEMENT_STATS
    assert (after["reviewed"], after["accepted"], after["failure_breakdown"]) == (
        before["reviewed"], before["accepted"], before["failure_breakdown"]
    )  # fmt: skip


def test_the_importer_refuses_an_unknown_review_kind(judged_then_edited):
    from generations.manifest.export import manifest_lines
    from generations.services.manifest import manifest_import

    line = json.loads(next(manifest_lines(project=judged_then_edited[0])))
    line["external_id"] = "other"
    line["reviews"][0]["kind"] = "opinion"
    report = manifest_import(lines=[json.dumps(line)])
    assert not report.ok
    assert "kind must be one of 'verdict', 'undo', 'bulk'" in report.errors[0].reason


def test_burn_budget_and_forecast(fixture_project):
    s = project_stats(project=fixture_project)
    assert s["burn_by_day"] == [
        {"date": "2026-11-01", "spend_usd": 5.0, "cumulative_usd": 5.0},
        {"date": "2026-11-02", "spend_usd": 6.0, "cumulative_usd": 11.0},
        {"date": "2026-11-03", "spend_usd": 5.25, "cumulative_usd": 16.25},
    ]
    assert s["budget_usd"] == 20.0
    assert s["budget_used"] == 0.8125
    f = s["forecast"]
    # 2 more accepted takes at 3/8 acceptance -> ceil(5.33) = 6 takes at 1.625 each.
    assert f["takes_needed"] == 6
    assert f["spend_to_target_usd"] == 9.75
    assert f["spend_at_target_usd"] == 26.0
    # 16.25 over the 14-day window ending 2026-11-03; 3.75 left -> ceil(3.23) = 4 days.
    assert f["burn_rate_usd_per_day"] == round(16.25 / 14, 4)
    assert f["run_out_date"] == "2026-11-07"
    assert s["computed_at"].endswith("Z")


def test_budget_already_spent_runs_out_on_the_day_it_crossed(fixture_project):
    Project.objects.filter(pk=fixture_project.pk).update(budget_usd=Decimal("10"))
    fixture_project.refresh_from_db()
    assert project_stats(project=fixture_project)["forecast"]["run_out_date"] == "2026-11-02"


def test_refresh_after_a_change_equals_a_rebuild(fixture_project):
    take = fixture_project.takes.get(current_verdict="accept", model="sora-2")
    review_record(take=take, reviewer=UserFactory(username="third@studio.test"), verdict="reject",
                  tags=[FailureTag.objects.get_or_create(slug="blur")[0]])  # fmt: skip
    written = rollups_refresh(project_id=fixture_project.pk)
    assert 0 < written < RollupRow.objects.filter(project=fixture_project).count()
    incremental = rollups_rows(project_id=fixture_project.pk)
    rollups_recompute(project_id=fixture_project.pk)
    assert rollups_rows(project_id=fixture_project.pk) == incremental
    assert project_stats(project=fixture_project)["failure_breakdown"]["blur"] == 2


def test_a_refresh_run_twice_leaves_the_same_rows(fixture_project):
    before = rollups_rows(project_id=fixture_project.pk)
    assert rollups_refresh(project_id=fixture_project.pk) == 0
    assert rollups_rows(project_id=fixture_project.pk) == before


def test_project_stats_command_prints_only_json(fixture_project):
    out = StringIO()
    call_command("project_stats", "fixture", stdout=out)
    data = json.loads(out.getvalue())
    assert data == json.loads(json.dumps(project_stats(project=fixture_project)))


def test_recompute_stats_command_rebuilds(fixture_project):
    RollupRow.objects.filter(project=fixture_project).delete()
    out = StringIO()
    call_command("recompute_stats", "fixture", stdout=out)
    assert "fixture:" in out.getvalue()
    assert project_stats(project=fixture_project)["takes"] == 10
