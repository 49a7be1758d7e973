"""Web import of a manifest: an owner uploads the file on the project page, a worker imports it.

The job row (ManifestImport) is the durable record: queued → running → done or failed, with the
report. The import itself runs in one database transaction, where progress written to the job
row would be invisible until commit, so each step goes to the cache (shared by web and workers,
like the recompute bar) and doubles as the run's heartbeat.

Surviving a worker restart: the task acks late and is rejected when its worker is lost, so the
broker hands it out again; the beat reclaimer re-enqueues a job that was never delivered or
whose run stopped beating. A second run is harmless: imports are idempotent and runs of one
project wait for each other; only the run holding the current claim token may finish the job."""

import contextlib
import logging
import time
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ..manifest.report import ImportReport
from ..models import ImportState, ManifestImport, Project
from .manifest import manifest_import
from .projects import ServiceError

log = logging.getLogger(__name__)

# A run that has not reported for this long is presumed dead (every COPY chunk and every
# statement of the write reports; the slowest single statement at 1M takes is well under it).
HEARTBEAT_STALE = timedelta(minutes=5)
# A job still queued after this long was probably never delivered (broker down at upload).
QUEUED_STALE = timedelta(minutes=2)
CACHE_SECONDS = 6 * 3600
SNIFF_BYTES = 4096


class ImportRejected(ServiceError):
    """The uploaded file is not a manifest we accept; nothing was stored."""


def _cache_key(job_id: int) -> str:
    return f"manifest-import:{job_id}"


def _report(job_id: int, **state) -> None:
    try:
        cache.set(_cache_key(job_id), {**state, "at": time.time()}, CACHE_SECONDS)
    except Exception:  # a cache outage must not fail the import; the bar just moves less
        log.warning("could not report the progress of import %s", job_id)


def _sniff(upload) -> int:
    """Refuse what is not JSONL by its content (the first non-blank byte of a manifest opens an
    object); count the lines for the progress bar."""
    head = b""
    lines = 0
    last = b"\n"
    for chunk in upload.chunks():
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        lines += chunk.count(b"\n")
        last = chunk[-1:] or last
    upload.seek(0)
    first = head.removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
    if first != b"{":
        raise ImportRejected(
            f"{upload.name}: this is not a JSONL manifest (one JSON object per line)."
        )
    return lines + (last != b"\n")


def manifest_import_create(*, project: Project, user, upload) -> ManifestImport:
    """Store the upload under a generated name and queue its import (after commit)."""
    if upload.size == 0:
        raise ImportRejected(f"{upload.name}: the file is empty.")
    cap = settings.DAILIES_MAX_IMPORT_MB * 1024 * 1024
    if upload.size > cap:
        raise ImportRejected(
            f"{upload.name}: {upload.size / 1_048_576:.1f} MB is over the "
            f"{settings.DAILIES_MAX_IMPORT_MB} MB limit."
        )
    total = _sniff(upload)
    job = ManifestImport(
        project=project,
        created_by=user,
        original_filename=(upload.name or "")[:255],
        size=upload.size,
        total_lines=total,
        message="Waiting for a worker…",
    )
    job.file.save("upload.jsonl", upload, save=False)
    job.save()
    transaction.on_commit(lambda: manifest_import_enqueue(job_id=job.pk))
    return job


def manifest_import_enqueue(*, job_id: int) -> bool:
    """Never raises: with the broker down the job stays queued and the reclaimer retries."""
    from ..tasks import manifest_import_task

    try:
        manifest_import_task.delay(job_id)
    except Exception:
        log.warning("could not enqueue manifest import %s", job_id)
        return False
    return True


def _heartbeat_stale(job: ManifestImport, now) -> bool:
    cached = None
    with contextlib.suppress(Exception):  # no cache: the claim time speaks alone
        cached = cache.get(_cache_key(job.pk))
    last = cached["at"] if cached else (job.claimed_at.timestamp() if job.claimed_at else 0)
    return last < (now - HEARTBEAT_STALE).timestamp()


def manifest_import_claim(*, job_id: int) -> tuple[ManifestImport, str] | None:
    """Claim a queued job, or a running one whose run stopped beating (its worker died).
    Returns the job and this run's token, or None (done, failed, or held by a live run)."""
    job = ManifestImport.objects.filter(pk=job_id).first()
    if job is None or job.state in (ImportState.DONE, ImportState.FAILED):
        return None
    now = timezone.now()
    if job.state == ImportState.RUNNING and not _heartbeat_stale(job, now):
        return None
    token = uuid.uuid4().hex
    claimed = ManifestImport.objects.filter(
        pk=job_id, state=job.state, claim_token=job.claim_token
    ).update(
        state=ImportState.RUNNING,
        claim_token=token,
        claimed_at=now,
        attempts=F("attempts") + 1,
        message="Reading the file…",
    )
    if not claimed:
        return None
    job.refresh_from_db()
    _report(job.pk, state=ImportState.RUNNING, percent=0, message="Reading the file…")
    return job, token


def manifest_import_run(*, job_id: int) -> ManifestImport | None:
    """The task's body: claim, import with progress, finish."""
    claim = manifest_import_claim(job_id=job_id)
    if claim is None:
        return None
    job, token = claim
    read = 0
    last = 0.0

    def progress(lines: int) -> None:
        nonlocal read, last
        read += lines
        now = time.monotonic()
        if now - last < 0.5:
            return
        last = now
        if read < job.total_lines:
            percent = int(90 * read / max(job.total_lines, 1))
            message = f"Read {read:,} of {job.total_lines:,} lines…"
        else:
            percent, message = 95, f"Writing {job.total_lines:,} lines…"
        _report(job.pk, state=ImportState.RUNNING, percent=percent, message=message)

    with job.file.open("rb") as handle:
        report = manifest_import(
            lines=handle,
            only_project=job.project.slug,
            progress=progress,
            statement_timeout_s=max(60, settings.DAILIES_IMPORT_SOFT_TIME_LIMIT - 120),
        )
    return manifest_import_finish(job=job, token=token, report=report)


def manifest_import_finish(*, job: ManifestImport, token: str, report: ImportReport):
    """The one place a web import ends well: the report stored, the job done. (Anything that
    must happen when an import finishes belongs here.) A run whose claim was taken over by a
    newer run finishes nothing: the newer run owns the job."""
    summary = (
        f"{report.takes_created:,} takes created, {report.takes_existing:,} already there, "
        f"{report.reviews_created:,} reviews; {len(report.errors):,} line(s) refused"
    )
    finished = ManifestImport.objects.filter(
        pk=job.pk, claim_token=token, state=ImportState.RUNNING
    ).update(
        state=ImportState.DONE,
        message=summary[:300],
        finished_at=timezone.now(),
        lines=report.lines,
        takes_created=report.takes_created,
        takes_existing=report.takes_existing,
        reviews_created=report.reviews_created,
        errors_count=len(report.errors),
        warnings_count=len(report.warnings),
        report=report.as_dict(),
    )
    if not finished:
        log.info("import %s was taken over by another run; its report stands", job.pk)
        return None
    _report(job.pk, state=ImportState.DONE, percent=100, message=summary)
    job.refresh_from_db()
    return job


def manifest_import_fail(*, job_id: int, reason: str) -> None:
    ManifestImport.objects.filter(pk=job_id).exclude(state=ImportState.DONE).update(
        state=ImportState.FAILED, message=reason[:300], finished_at=timezone.now()
    )
    _report(job_id, state=ImportState.FAILED, percent=0, message=reason[:300])


def manifest_import_requeue(*, job_id: int, reason: str) -> None:
    """A transient failure: back to queued, so the retry can claim it."""
    ManifestImport.objects.filter(pk=job_id, state=ImportState.RUNNING).update(
        state=ImportState.QUEUED, message=reason[:300]
    )
    _report(job_id, state=ImportState.QUEUED, percent=0, message=reason[:300])


def manifest_import_status(*, job: ManifestImport) -> dict:
    """What the progress bar shows: the newer of the run's last report and the job row."""
    status = {
        "state": job.state,
        "percent": 100 if job.state == ImportState.DONE else 0,
        "message": job.message,
        "at": (job.finished_at or job.claimed_at or job.created_at).timestamp(),
    }
    try:
        cached = cache.get(_cache_key(job.pk))
    except Exception:
        cached = None
    if cached and job.state in (ImportState.QUEUED, ImportState.RUNNING):
        status = {**status, **cached}
    running = status["state"] in (ImportState.QUEUED, ImportState.RUNNING)
    return {**status, "label": ImportState(status["state"]).label, "running": running}


def manifest_imports_reclaim(*, now=None) -> list[int]:
    """Beat: re-enqueue jobs never delivered (queued for long) or whose run stopped beating."""
    now = now or timezone.now()
    candidates = ManifestImport.objects.filter(
        Q(state=ImportState.QUEUED, created_at__lt=now - QUEUED_STALE)
        | Q(state=ImportState.RUNNING, claimed_at__lt=now - HEARTBEAT_STALE)
    )
    ids = []
    for job in candidates:
        if job.state == ImportState.RUNNING and not _heartbeat_stale(job, now):
            continue
        if manifest_import_enqueue(job_id=job.pk):
            ids.append(job.pk)
    return ids
