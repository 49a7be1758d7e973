import io
import json
import pathlib

import pytest
from django.core.management import call_command

from generations.models import Membership, Note, Project, Review, Role, Take
from generations.services.manifest import manifest_import
from generations.services.reviews import review_record, review_undo

from .factories import UserFactory

SAMPLE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "sample-manifest.jsonl"


def snapshot(slug: str) -> dict:
    """What a project holds, independent of database ids."""
    takes = {}
    for take in Take.objects.filter(project__slug=slug).select_related("shot", "prompt_version"):
        reviews = [
            (
                r.reviewer.username,
                r.verdict,
                r.created_at,
                sorted(t.slug for t in r.failure_tags.all()),
            )
            for r in take.reviews.order_by("created_at", "id").select_related("reviewer")
        ]
        notes = sorted((float(n.seconds), n.frame, n.text) for n in Note.objects.filter(take=take))
        takes[take.external_id] = (
            take.shot.name,
            take.prompt_version.number,
            take.prompt_version.parent.number if take.prompt_version.parent else None,
            take.prompt_version.text,
            take.pass_number,
            take.model,
            float(take.duration_s),
            float(take.cost_usd),
            take.created_at,
            take.current_verdict,
            tuple(reviews),
            tuple(notes),
        )
    return takes


@pytest.mark.django_db
def test_export_then_import_recreates_the_project(tmp_path):
    manifest_import(lines=io.StringIO(SAMPLE.read_text()))
    before = snapshot("project-2")
    path = tmp_path / "project-2.jsonl"
    call_command("export_manifest", "project-2", output=str(path))
    lines = path.read_text().splitlines()
    assert len(lines) == len(before) == Take.objects.filter(project__slug="project-2").count()

    Project.objects.filter(slug="project-2").delete()
    report = manifest_import(lines=lines)
    assert report.ok and report.takes_created == len(lines)
    assert snapshot("project-2") == before


@pytest.mark.django_db
def test_an_undone_verdict_exports_as_unreviewed():
    manifest_import(
        lines=[
            json.dumps(
                {"project": "p", "shot": "s", "prompt_version": 1, "prompt": "x", "model": "m",
                 "external_id": "e1", "duration_s": 4, "created_at": "2026-10-01T00:00:00Z"}
            )
        ]
    )  # fmt: skip
    take = Take.objects.get()
    lead = UserFactory()
    review_record(take=take, reviewer=lead, verdict="accept")
    review_undo(take=take, reviewer=lead)
    (line,) = [json.loads(x) for x in io.StringIO("\n".join(_export("p"))).read().splitlines()]
    assert line["reviews"] == []
    Project.objects.all().delete()
    manifest_import(lines=[json.dumps(line)])
    assert Take.objects.get().current_verdict == ""
    assert Review.objects.count() == 0


def _export(slug):
    from generations.manifest.export import manifest_lines

    return list(manifest_lines(project=Project.objects.get(slug=slug)))


@pytest.mark.django_db
def test_the_download_streams_jsonl_for_editors_only(client):
    manifest_import(lines=io.StringIO("\n".join(SAMPLE.read_text().splitlines()[:50])))
    project = Project.objects.get(slug="project-1")
    editor, viewer = UserFactory(), UserFactory()
    Membership.objects.create(project=project, user=editor, role=Role.EDITOR)
    Membership.objects.create(project=project, user=viewer, role=Role.VIEWER)
    client.force_login(editor)
    response = client.get(f"/projects/{project.slug}/export/manifest.jsonl")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/x-ndjson")
    body = b"".join(response.streaming_content).decode().splitlines()
    assert len(body) == Take.objects.filter(project=project).count()
    assert {json.loads(x)["project"] for x in body} == {"project-1"}
    client.force_login(viewer)
    assert client.get(f"/projects/{project.slug}/export/manifest.jsonl").status_code == 403
