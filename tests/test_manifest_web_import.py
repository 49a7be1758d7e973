"""Web import: an owner uploads a manifest on the project page, a worker imports it with a
progress bar through the cache, the refused lines download as CSV, a dead worker's job is
reclaimed."""

import csv
import io
import json
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from generations.models import ImportState, ManifestImport, Take
from generations.services import manifest_imports as services
from generations.tasks import manifest_import_task


def manifest(slug: str) -> bytes:
    def row(i, **extra):
        return json.dumps(
            {
                "project": slug,
                "shot": "opening-street",
                "prompt_version": 1,
                "prompt": "a street at dusk",
                "model": "sora-2",
                "external_id": f"web-{i}",
                "duration_s": 4.0,
                "cost_usd": 0.4,
                "created_at": "2026-10-11T03:30:00Z",
                "reviews": [
                    {"reviewer": "ed@studio.test", "verdict": "reject", "failure_tags": ["blur"]}
                ],
                **extra,
            }
        )

    lines = [
        row(1),
        row(2, created_at="2026-13-45T00:00:00Z"),
        row(3),
        row(4, project="elsewhere"),
        row(5, shot="two\nlines"),
        row(6),
    ]
    return ("\n".join(lines) + "\n").encode()


def upload(data: bytes, name="run-42.jsonl"):
    return SimpleUploadedFile(name, data, "application/octet-stream")


def owner_client(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.worker
def test_an_owner_uploads_and_a_worker_imports_it(celery_worker, project, owner):
    client = owner_client(owner)
    response = client.post(
        reverse("manifest_import_create", args=[project.slug]),
        {"file": upload(manifest(project.slug))},
    )
    job = ManifestImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("manifest_import_detail", args=[project.slug, job.pk])
    # Stored under a generated name, never the uploader's.
    assert job.file.name.startswith("imports/") and "run-42" not in job.file.name
    assert (job.original_filename, job.total_lines) == ("run-42.jsonl", 6)

    assert wait_for(lambda: ManifestImport.objects.get(pk=job.pk).state == ImportState.DONE)
    job.refresh_from_db()
    assert (job.takes_created, job.errors_count, job.attempts) == (3, 3, 1)
    assert sorted(Take.objects.filter(project=project).values_list("external_id", flat=True)) == [
        "web-1",
        "web-3",
        "web-6",
    ]
    page = client.get(reverse("manifest_import_detail", args=[project.slug, job.pk]))
    assert b"3 takes created" in page.content and b'value="100"' in page.content
    assert b"hx-trigger" not in page.content  # done: the bar stops polling
    report = client.get(reverse("manifest_import_errors", args=[project.slug, job.pk]))
    assert report["Content-Disposition"].startswith("attachment;")
    rows = list(csv.reader(io.StringIO(report.content.decode())))
    assert [r[0] for r in rows] == ["line", "2", "4", "5"]
    assert "created_at" in rows[1][1] and "'elsewhere'" in rows[2][1] and "line break" in rows[3][1]
    overview = client.get(reverse("project_detail", args=[project.slug])).content.decode()
    assert reverse("manifest_import_detail", args=[project.slug, job.pk]) in overview


@pytest.mark.django_db
@pytest.mark.parametrize(
    "data, reason",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "not a JSONL manifest"),
        (b"", "empty"),
        (b"project,shot\nspot,s1\n", "not a JSONL manifest"),
    ],
)
def test_what_is_not_a_manifest_is_refused_and_nothing_is_stored(project, owner, data, reason):
    client = owner_client(owner)
    response = client.post(
        reverse("manifest_import_create", args=[project.slug]), {"file": upload(data)}, follow=True
    )
    assert reason in response.content.decode()
    assert not ManifestImport.objects.exists()


@pytest.mark.django_db
def test_an_oversize_manifest_is_refused(project, owner, settings):
    settings.DAILIES_MAX_IMPORT_MB = 0
    client = owner_client(owner)
    response = client.post(
        reverse("manifest_import_create", args=[project.slug]),
        {"file": upload(manifest(project.slug))},
        follow=True,
    )
    assert "over the 0 MB limit" in response.content.decode()
    assert not ManifestImport.objects.exists()


@pytest.mark.django_db
def test_the_progress_bar_reads_the_runs_reports_from_the_cache(project, owner):
    job = ManifestImport.objects.create(project=project, total_lines=1000)
    claimed, _token = services.manifest_import_claim(job_id=job.pk)
    cache.set(
        services._cache_key(job.pk),
        {
            "state": "running",
            "percent": 45,
            "message": "Read 500 of 1,000 lines…",
            "at": time.time(),
        },
    )
    url = reverse("manifest_import_detail", args=[project.slug, job.pk])
    partial = owner_client(owner).get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'value="45"' in partial and "Read 500 of 1,000 lines" in partial
    assert 'hx-trigger="every 1s"' in partial
    assert "<html" not in partial  # the partial only


@pytest.mark.django_db
def test_a_job_whose_worker_died_is_reclaimed_and_the_dead_run_cannot_finish_it(project):
    job = ManifestImport.objects.create(project=project)
    job.file.save("m.jsonl", io.BytesIO(manifest(project.slug)))
    first = services.manifest_import_claim(job_id=job.pk)
    assert first is not None
    # While it beats, nobody else may claim it.
    assert services.manifest_import_claim(job_id=job.pk) is None
    assert services.manifest_imports_reclaim() == []
    # The worker dies: no report for longer than the heartbeat limit.
    cache.delete(services._cache_key(job.pk))
    ManifestImport.objects.filter(pk=job.pk).update(
        claimed_at=timezone.now() - services.HEARTBEAT_STALE - timedelta(seconds=1)
    )
    assert services.manifest_imports_reclaim() == [job.pk]
    finished = services.manifest_import_run(job_id=job.pk)  # what the re-delivered task does
    assert finished is not None and finished.state == ImportState.DONE and finished.attempts == 2
    assert finished.takes_created == 3
    # The dead run, were it to come back, finishes nothing.
    from generations.manifest.report import ImportReport

    assert services.manifest_import_finish(job=job, token=first[1], report=ImportReport()) is None
    assert ManifestImport.objects.get(pk=job.pk).takes_created == 3
    # A finished job is not run again (a duplicate delivery returns at once).
    assert services.manifest_import_run(job_id=job.pk) is None


def test_the_task_survives_a_worker_restart():
    """Acked only when done, and given back when its worker process is lost."""
    assert manifest_import_task.acks_late and manifest_import_task.reject_on_worker_lost
    assert manifest_import_task.soft_time_limit < manifest_import_task.time_limit
