"""The whole import: a bad line never costs a good one, re-imports change nothing, overlapping
imports at once create no duplicates, and the COPY path equals the ORM path."""

import io
import itertools
import json
import pathlib
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generations.manifest import copy_writer
from generations.manifest.parse import LineInvalid, parse_line
from generations.models import Note, Project, Review, Take
from generations.selectors.stats import project_stats
from generations.services.manifest import manifest_import
from generations.services.rollups import rollups_refresh

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "sample-manifest.jsonl"
WRITERS = ["copy", "orm"]


def row(i: int, project="spot", **overrides) -> dict:
    return {
        "project": project,
        "shot": f"shot-{i % 3}",
        "prompt_version": 1 + i % 2,
        "parent_version": 1 if i % 2 else None,
        "prompt": f"prompt {i % 3}",
        "pass": 1,
        "model": "sora-2",
        "external_id": f"gen-{i}",
        "duration_s": 4.0 + i % 3,
        "fps": 24,
        "cost_usd": 0.5 + i,
        "created_at": "2026-10-11T03:30:00Z",
        "reviews": [
            {
                "reviewer": f"r{i % 2}@studio.test",
                "verdict": "reject" if i % 3 else "accept",
                "failure_tags": ["blur"] if i % 3 else [],
                "notes": [{"t": 1.0, "text": f"note {i}"}],
                "reviewed_at": "2026-10-12T10:30:00Z",
            }
        ],
        **overrides,
    }


def text(r: dict) -> str:
    return json.dumps(r, ensure_ascii=False)


def counts() -> tuple[int, int, int]:
    return (Take.objects.count(), Review.objects.count(), Note.objects.count())


CRASHERS = [
    text(row(90, created_at="2026-13-45T00:00:00Z")),  # impossible date
    "[" * 50_000 + "]" * 50_000,  # RecursionError in json
    json.dumps(row(91, prompt="lone \ud800 surrogate")),  # the escape "\ud800", valid JSON
    text(row(92, prompt="nul \x00 byte")),
    text(row(93, shot="two\nlines")),  # a name with a line break
    text(row(94, shot="bell\x07")),  # a name with a control character
]


def bad_file() -> bytes:
    """Good lines around every crash kind, with a BOM, CRLF endings and one Latin-1 line."""
    lines = [text(row(0)).encode()]
    for i, crasher in enumerate(CRASHERS, start=1):
        lines.append(crasher.encode("utf-8", "surrogatepass"))
        lines.append(text(row(i)).encode())
    lines.append(text(row(50, prompt="crème brûlée")).encode("latin-1"))
    lines.append(text(row(51)).encode())
    return b"\xef\xbb\xbf" + b"\r\n".join(lines) + b"\r\n"


@pytest.mark.django_db
@pytest.mark.parametrize("writer", WRITERS)
def test_every_crash_kind_is_a_line_error_and_every_good_line_lands(writer):
    report = manifest_import(lines=io.BytesIO(bad_file()), writer=writer)
    bad = {e.line: e.reason for e in report.errors}
    assert sorted(bad) == [2, 4, 6, 8, 10, 12, 14]
    assert "created_at" in bad[2] and "nested too deeply" in bad[4]
    assert "surrogate" in bad[6] and "NUL" in bad[8]
    assert "line break" in bad[10] and "control character" in bad[12]
    assert "not UTF-8" in bad[14]
    expected = {"gen-0", "gen-51"} | {f"gen-{i}" for i in range(1, 7)}
    assert set(Take.objects.values_list("external_id", flat=True)) == expected
    assert report.takes_created == 8 and report.reviews_created == 8 and report.notes_created == 8


@pytest.mark.django_db
@pytest.mark.parametrize("writer", WRITERS)
def test_reimporting_a_file_with_bad_lines_changes_nothing(writer):
    data = bad_file() + text(row(0)).encode() + b"\n"  # and a duplicate external_id
    first = manifest_import(lines=io.BytesIO(data), writer=writer)
    before = counts()
    versions = list(
        Take.objects.values_list("prompt_version__shot__name", "prompt_version__number")
    )
    second = manifest_import(lines=io.BytesIO(data), writer=writer)
    assert counts() == before
    assert (second.takes_created, second.reviews_created, second.notes_created) == (0, 0, 0)
    assert second.takes_existing == first.takes_created == 8
    assert [(e.line, e.reason) for e in second.errors] == [(e.line, e.reason) for e in first.errors]
    assert "duplicate external_id (first on line 1)" in second.errors[-1].reason
    assert sorted(versions) == sorted(
        Take.objects.values_list("prompt_version__shot__name", "prompt_version__number")
    )


@pytest.mark.django_db
@pytest.mark.parametrize("writer", WRITERS)
def test_new_reviews_on_existing_takes_become_current(writer):
    manifest_import(lines=[text(row(1))], writer=writer)
    later = row(1)
    later["reviews"] = later["reviews"] + [
        {"reviewer": "late@studio.test", "verdict": "accept", "reviewed_at": "2026-10-13T00:00:00Z"}
    ]
    report = manifest_import(lines=[text(later)], writer=writer)
    assert (report.takes_existing, report.reviews_created) == (1, 1)
    take = Take.objects.get()
    assert take.current_verdict == "accept"
    assert take.current_review.reviewer.email == "late@studio.test"


@pytest.mark.django_db
@pytest.mark.parametrize("writer", WRITERS)
def test_an_unpriced_model_is_unknown_cost_and_a_warning_per_model(writer):
    lines = [
        text(row(1, model="mystery-1", cost_usd=None)),
        text(row(2, model="mystery-1", cost_usd=None)),
        text(row(3, model="mystery-2", cost_usd=None)),
        text(row(4, model="veo-3", cost_usd=None)),  # priced by the seeded defaults
    ]
    report = manifest_import(lines=lines, writer=writer)
    assert dict(report.unpriced) == {"mystery-1": 2, "mystery-2": 1}
    assert len(report.warnings) == 2 and "'mystery-1'" in report.warnings[0]
    sources = dict(Take.objects.values_list("external_id", "cost_source"))
    assert sources == {
        "gen-1": "unknown",
        "gen-2": "unknown",
        "gen-3": "unknown",
        "gen-4": "estimated",
    }


@pytest.mark.django_db
def test_the_command_reads_bytes_reports_lines_and_warns(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(bad_file() + text(row(60, model="mystery", cost_usd=None)).encode())
    out, err = io.StringIO(), io.StringIO()
    call_command("import_manifest", str(path), stdout=out, stderr=err)
    assert "9 takes created" in out.getvalue()
    assert "line 14: not UTF-8" in err.getvalue()
    assert "warning: 1 take(s) of model 'mystery'" in err.getvalue()
    out = io.StringIO()
    call_command("import_manifest", str(path), json=True, stdout=out, stderr=io.StringIO())
    report = json.loads(out.getvalue())
    assert (report["takes_existing"], len(report["errors"])) == (9, 7)
    assert report["unpriced_models"] == {"mystery": 1}


@pytest.mark.django_db
def test_a_web_import_refuses_lines_of_other_projects():
    lines = [text(row(1)), text(row(2, project="elsewhere"))]
    report = manifest_import(lines=lines, only_project="spot")
    assert [(e.line, "'elsewhere'" in e.reason) for e in report.errors] == [(2, True)]
    assert not Project.objects.filter(slug="elsewhere").exists()


def without_ids(value):
    """Stats with database ids and the computation time left out (they differ by design)."""
    if isinstance(value, dict):
        return {
            k: without_ids(v)
            for k, v in value.items()
            if k != "computed_at" and not k.endswith("_id")
        }
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def snapshot(slugs) -> dict:
    """Everything the two writers must agree on, by external id, plus the SPEC §4 stats."""
    takes = {}
    rows = (
        Take.objects.filter(project__slug__in=slugs)
        .select_related("shot", "prompt_version__parent", "current_review")
        .prefetch_related("reviews__failure_tags", "reviews__reviewer", "notes")
    )
    for take in rows:
        reviews = sorted(
            (r.reviewer.email, r.verdict, r.kind, r.created_at.isoformat(), r.comment,
             tuple(sorted(t.slug for t in r.failure_tags.all())))
            for r in take.reviews.all()
        )  # fmt: skip
        notes = sorted((str(n.seconds), n.frame, n.text, n.tag_id) for n in take.notes.all())
        version = take.prompt_version
        takes[take.external_id] = (
            take.shot.name, version.number, version.parent.number if version.parent else None,
            version.text, take.pass_number, take.model, str(take.cost_usd), take.cost_source,
            str(take.price_usd_per_second), str(take.duration_s), str(take.fps),
            take.current_verdict, take.current_review.created_at if take.current_review else None,
            tuple(reviews), tuple(notes), take.created_at,
        )  # fmt: skip
    stats = {}
    for project in Project.objects.filter(slug__in=slugs):
        rollups_refresh(project_id=project.pk)
        stats[project.slug] = without_ids(project_stats(project=project))
    return {"takes": takes, "stats": stats}


@pytest.mark.django_db
@pytest.mark.parametrize("chunk, triggers", [(None, False), (7, False), (7, True)])
def test_the_copy_path_gives_what_the_orm_path_gives_on_the_sample(chunk, triggers, monkeypatch):
    """Also in chunks of 7 lines (versions, takes and reviews that span chunks), and with the
    foreign-key triggers on, as for a role that may not turn them off."""
    if chunk:
        monkeypatch.setattr(copy_writer, "CHUNK", chunk)
    if triggers:
        monkeypatch.setattr(copy_writer, "_may_skip_triggers", lambda cur: False)
    raw = SAMPLE.read_bytes()
    slugs = {json.loads(line)["project"] for line in raw.splitlines() if line.strip()}
    orm = manifest_import(lines=io.BytesIO(raw), writer="orm")
    via_orm = snapshot(slugs)
    Project.objects.filter(slug__in=slugs).delete()
    fast = manifest_import(lines=io.BytesIO(raw), writer="copy")
    via_copy = snapshot(slugs)
    assert orm.as_dict() | {"seconds": 0, "users_created": [], "tags_created": []} == (
        fast.as_dict() | {"seconds": 0, "users_created": [], "tags_created": []}
    )
    assert via_orm["takes"] == via_copy["takes"]
    assert via_orm["stats"] == via_copy["stats"]
    assert len(via_copy["takes"]) == 2000 and via_copy["stats"]


@pytest.mark.django_db
@pytest.mark.parametrize("writer", WRITERS)
def test_what_spans_chunks_is_found_across_them(writer, monkeypatch):
    """Chunks of 2 lines: a child version three chunks before its parent, a duplicate
    external_id two chunks after its first line, and on re-import a take met twice."""
    monkeypatch.setattr(copy_writer, "CHUNK", 2)
    child = row(1, shot="late", prompt_version=3, parent_version=2, external_id="child")
    lines = [text(child)] + [text(row(i)) for i in range(10, 16)]
    lines.append(text(row(2, shot="late", prompt_version=2, external_id="parent")))
    lines.append(text(row(11, shot="other")))  # external_id gen-11 again, line 9
    first = manifest_import(lines=lines, writer=writer, batch_size=2)
    assert [(e.line, e.reason) for e in first.errors] == [
        (9, "duplicate external_id (first on line 3)")
    ]
    assert first.takes_created == 8
    if writer == "copy":  # the duplicate's chunk was refused by the unique index, then redone
        assert first.timings["chunks written twice"] == 1
    late = {v.number: v for v in Take.objects.get(external_id="child").shot.versions.all()}
    assert late[3].parent == late[2] and late[2].parent is None
    before = counts()
    second = manifest_import(lines=lines, writer=writer, batch_size=2)
    assert counts() == before
    assert (second.takes_created, second.takes_existing, second.reviews_created) == (0, 8, 0)
    assert [(e.line, e.reason) for e in second.errors] == [(e.line, e.reason) for e in first.errors]


@pytest.mark.django_db(transaction=True)
def test_overlapping_imports_at_once_create_no_duplicates():
    """Two threads, two connections, files sharing half their takes and all their shots."""
    first = [text(row(i, reviews=[])) for i in range(0, 120)]
    second = [text(row(i)) for i in range(60, 180)]
    reports, failures = [], []
    start = threading.Barrier(2)

    def run(lines):
        try:
            start.wait()
            reports.append(manifest_import(lines=lines, writer="copy"))
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(lines,)) for lines in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    assert Take.objects.count() == 180
    assert sum(r.takes_created for r in reports) == 180
    assert sum(r.takes_existing for r in reports) == 60
    assert Review.objects.count() == 120  # the second file's reviews, once each
    assert Take.objects.filter(current_review__isnull=False).count() == 120
    assert Project.objects.filter(slug="spot").count() == 1


# --- fuzz of the whole import ------------------------------------------------------------------

_projects = itertools.count()


def mutated(i: int, data: st.DataObject, project: str) -> str:
    base = row(i, project=project)
    kind = data.draw(st.sampled_from(["good", "good", "drop", "replace", "bytes", "crash"]))
    if kind == "good":
        return text(base)
    if kind == "drop":
        base.pop(data.draw(st.sampled_from(sorted(base))))
        return text(base)
    if kind == "replace":
        key = data.draw(st.sampled_from(sorted(base)))
        base[key] = data.draw(st.none() | st.integers() | st.floats() | st.text(max_size=12))
        return text(base)
    if kind == "crash":
        return data.draw(st.sampled_from(CRASHERS)).replace('"spot"', f'"{project}"')
    return data.draw(st.text(max_size=40).filter(lambda s: "\n" not in s))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
@pytest.mark.django_db
def test_fuzz_every_good_line_imported_exactly_once_and_never_a_crash(data):
    project = f"fuzz-{next(_projects)}"
    lines = [mutated(i, data, project) for i in range(data.draw(st.integers(1, 12)))]
    raw = b"\n".join(line.encode("utf-8", "surrogatepass") for line in lines)
    good = set()
    for number, line in enumerate(lines, start=1):
        try:
            item = parse_line(number, line.encode("utf-8", "surrogatepass").decode("utf-8"))
        except (LineInvalid, UnicodeDecodeError):
            continue
        if item.project == project and line.strip():
            good.add(item.external_id)
    report = manifest_import(lines=io.BytesIO(raw), only_project=project)
    imported = list(
        Take.objects.filter(project__slug=project).values_list("external_id", flat=True)
    )
    assert sorted(imported) == sorted(good)
    assert report.takes_created == len(good)
    again = manifest_import(lines=io.BytesIO(raw), only_project=project)
    assert (again.takes_created, again.reviews_created) == (0, 0)
    assert len(again.errors) == len(report.errors)
