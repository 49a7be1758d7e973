import io
import json
import pathlib
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from generations.models import FailureTag, Membership, Note, Project, PromptVersion, Review, Take
from generations.services.manifest import manifest_import

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "sample-manifest.jsonl"


def line(**overrides) -> str:
    row = {
        "project": "spot",
        "shot": "shot-1",
        "prompt_version": 1,
        "parent_version": None,
        "prompt": "a vendor, slow dolly-in",
        "pass": 1,
        "model": "sora-2",
        "external_id": "gen-1",
        "duration_s": 8.0,
        "resolution": "1280x720",
        "fps": 24,
        "seed": 7,
        "cost_usd": 0.8,
        "created_at": "2026-10-11T03:30:00Z",
        "reviews": [],
    }
    row.update(overrides)
    return json.dumps(row)


def review(reviewer, verdict, tags=(), at="2026-10-12T10:30:00Z", notes=()):
    return {
        "reviewer": reviewer,
        "verdict": verdict,
        "failure_tags": list(tags),
        "notes": list(notes),
        "reviewed_at": at,
    }


@pytest.mark.django_db
def test_it_imports_the_whole_lineage_and_links_parents():
    lines = [
        line(external_id="a", prompt_version=1),
        line(external_id="b", prompt_version=2, parent_version=1, prompt="v2 text"),
        line(
            external_id="c", prompt_version=3, parent_version=2, prompt="v3 text", **{"pass": None}
        ),
        line(external_id="d", shot="shot-2", prompt_version=1),
    ]
    report = manifest_import(lines=lines)
    assert report.ok, report.errors
    assert report.takes_created == 4
    project = Project.objects.get(slug="spot")
    versions = {
        (v.shot.name, v.number): v for v in PromptVersion.objects.filter(shot__project=project)
    }
    assert set(versions) == {("shot-1", 1), ("shot-1", 2), ("shot-1", 3), ("shot-2", 1)}
    assert versions[("shot-1", 3)].parent == versions[("shot-1", 2)]
    assert versions[("shot-1", 2)].parent == versions[("shot-1", 1)]
    assert versions[("shot-1", 1)].parent is None
    assert versions[("shot-1", 3)].text == "v3 text"
    take = Take.objects.get(external_id="c")
    assert (take.width, take.height, take.fps, take.duration_s) == (1280, 720, 24, Decimal("8"))
    assert take.pass_number == 3  # absent "pass" defaults to the version number


@pytest.mark.django_db
def test_a_parent_that_arrives_later_is_linked():
    lines = [
        line(external_id="b", prompt_version=2, parent_version=1),
        line(external_id="a", prompt_version=1),
    ]
    # Two batches of one line: the parent exists only after the second.
    manifest_import(lines=lines, batch_size=1)
    manifest_import(lines=lines, batch_size=1)
    v2 = PromptVersion.objects.get(number=2)
    assert v2.parent.number == 1


@pytest.mark.django_db
def test_current_verdict_is_the_latest_review_and_tags_count_only_there():
    lines = [
        line(
            external_id="x",
            reviews=[
                review("late@studio.test", "accept", at="2026-10-13T00:00:00Z"),
                review("early@studio.test", "reject", ["blur", "warping"], "2026-10-12T00:00:00Z"),
            ],
        ),
        line(external_id="y", reviews=[review("early@studio.test", "reject", ["flicker"])]),
        line(external_id="z"),
    ]
    manifest_import(lines=lines)
    verdicts = dict(Take.objects.values_list("external_id", "current_verdict"))
    assert verdicts == {"x": "accept", "y": "reject", "z": ""}
    x = Take.objects.get(external_id="x")
    assert x.current_review.reviewer.email == "late@studio.test"
    assert Review.objects.filter(take=x).count() == 2


@pytest.mark.django_db
def test_unknown_reviewers_and_tags_are_created_and_marked():
    lines = [
        line(
            reviews=[
                review(
                    "New.Person@Studio.test",
                    "reject",
                    ["warping", "lens-flare"],
                    notes=[{"t": 3.2, "tag": "lens-flare", "text": "flare here"}],
                )
            ]
        )
    ]
    report = manifest_import(lines=lines)
    user = get_user_model().objects.get(username="new.person@studio.test")
    assert not user.has_usable_password()
    assert report.users_created == ["new.person@studio.test"]
    flare = FailureTag.objects.get(slug="lens-flare")
    assert flare.is_imported
    assert not FailureTag.objects.get(slug="warping").is_imported
    membership = Membership.objects.get(user=user, project__slug="spot")
    assert membership.role == "editor"
    note = Note.objects.get()
    assert (note.frame, note.tag, note.text) == (77, flare, "flare here")  # 3.2 s × 24 fps


@pytest.mark.django_db
def test_missing_cost_is_estimated_from_the_model_price_in_force():
    manifest_import(
        lines=[
            line(external_id="est", cost_usd=None, model="veo-3", duration_s=5.0),
            line(external_id="rep", cost_usd=2.5, model="veo-3", duration_s=5.0),
            line(external_id="unknown", cost_usd=None, model="no-such-model"),
        ]
    )
    takes = {t.external_id: t for t in Take.objects.all()}
    assert takes["est"].cost_source == "estimated"
    assert takes["est"].price_usd_per_second == Decimal("0.4")
    assert takes["est"].cost_usd == Decimal("2.0")
    assert (takes["rep"].cost_source, takes["rep"].cost_usd) == ("reported", Decimal("2.5"))
    assert (takes["unknown"].cost_source, takes["unknown"].cost_usd) == ("unknown", 0)


@pytest.mark.django_db
def test_bad_lines_are_reported_with_number_and_reason_and_good_lines_still_land():
    lines = [
        line(external_id="ok-1"),
        "{not json",
        json.dumps(["a", "list"]),
        line(external_id="no-duration", duration_s=None),
        line(external_id="bad-verdict", reviews=[review("a@studio.test", "maybe")]),
        line(external_id="bad-date", created_at="yesterday"),
        line(external_id="bad-res", resolution="big"),
        "",
        line(external_id="ok-2"),
        line(external_id="ok-1"),
        line(external_id="bad-parent", prompt_version=2, parent_version=5),
    ]
    report = manifest_import(lines=lines)
    reasons = {e.line: e.reason for e in report.errors}
    assert set(reasons) == {2, 3, 4, 5, 6, 7, 10, 11}
    assert "not valid JSON" in reasons[2]
    assert "JSON object" in reasons[3]
    assert "duration_s" in reasons[4]
    assert "verdict" in reasons[5]
    assert "created_at" in reasons[6]
    assert "resolution" in reasons[7]
    assert "duplicate external_id (first on line 1)" in reasons[10]
    assert "parent_version" in reasons[11]
    assert sorted(Take.objects.values_list("external_id", flat=True)) == ["ok-1", "ok-2"]


@pytest.mark.django_db
def test_the_sample_manifest_imports_in_bulk_and_twice_changes_nothing(
    django_assert_max_num_queries,
):
    text = SAMPLE.read_text()
    with django_assert_max_num_queries(120):  # batched: a few dozen queries for 2,000 lines
        first = manifest_import(lines=io.StringIO(text))
    assert first.ok
    assert first.takes_created == Take.objects.count() == 2000
    rows = [json.loads(raw) for raw in text.splitlines()]
    assert Review.objects.count() == sum(len(r.get("reviews") or []) for r in rows)
    counts = (Take.objects.count(), Review.objects.count(), Note.objects.count())
    second = manifest_import(lines=io.StringIO(text))
    assert (second.takes_created, second.takes_existing, second.reviews_created) == (0, 2000, 0)
    assert (Take.objects.count(), Review.objects.count(), Note.objects.count()) == counts


@pytest.mark.django_db
def test_the_command_reports_errors_on_stderr_and_makes_the_owner(tmp_path, owner):
    path = tmp_path / "m.jsonl"
    path.write_text(line(external_id="one") + "\n{oops\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_manifest", str(path), owner=owner.username, stdout=out, stderr=err)
    assert "1 takes created" in out.getvalue()
    assert "line 2: not valid JSON" in err.getvalue()
    assert Membership.objects.get(project__slug="spot", user=owner).is_owner


@pytest.mark.django_db
def test_the_command_refuses_a_missing_file_and_an_unknown_owner(tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_manifest", str(tmp_path / "absent.jsonl"))
    path = tmp_path / "m.jsonl"
    path.write_text(line())
    with pytest.raises(CommandError, match="No user"):
        call_command("import_manifest", str(path), owner="ghost@studio.test")


@pytest.mark.django_db
def test_numbers_too_big_for_the_columns_are_bad_lines_not_a_failed_import():
    lines = [
        line(external_id="ok-1"),
        line(external_id="huge-seed", seed=2**70),
        line(external_id="huge-pass", **{"pass": 2**40}),
        line(external_id="huge-cost", cost_usd=1e12),
        line(external_id="huge-duration", duration_s=5e6),
        line(external_id="future", created_at="2999-01-01T00:00:00Z"),
        line(external_id="ok-2"),
    ]
    report = manifest_import(lines=lines)
    reasons = {e.line: e.reason for e in report.errors}
    assert set(reasons) == {2, 3, 4, 5, 6}
    assert all("out of range" in reasons[n] for n in (2, 3, 4, 5))
    assert "in the future" in reasons[6]
    assert sorted(Take.objects.values_list("external_id", flat=True)) == ["ok-1", "ok-2"]


@pytest.mark.django_db
def test_a_value_the_database_would_refuse_is_a_bad_line_and_the_rest_of_its_batch_lands():
    too_long_tag = "x" * 80  # a valid slug, longer than the taxonomy's column
    lines = [
        line(external_id="a", reviews=[review("ed@studio.test", "reject", ["blur"])]),
        line(external_id="b", reviews=[review("ed@studio.test", "reject", [too_long_tag])]),
        line(external_id="c", shot="shot-9", reviews=[review("ed@studio.test", "accept")]),
    ]
    report = manifest_import(lines=lines)
    assert [(e.line, "longer than 60" in e.reason) for e in report.errors] == [(2, True)]
    assert report.takes_created == 2 and report.reviews_created == 2
    assert sorted(Take.objects.values_list("external_id", flat=True)) == ["a", "c"]
    assert dict(Take.objects.values_list("external_id", "current_verdict")) == {
        "a": "reject",
        "c": "accept",
    }
