"""The worker's side of a generation job: submit, poll, download into a take, cancel at the
provider, and reconcile jobs that stalled. Each function takes a job id, works out what to do
from the row, and returns the next step (`Step`) for the task to schedule, or None when the job
needs nothing more.

Never paying twice. A job is claimed for submission with a conditional update
(queued → submitting, `claimed_at` = now). The provider's job id is stored as soon as the call
returns (submitting → running), before any polling. If the worker dies in between, the job is
left `submitting` with an unknown outcome:
- providers that honour an idempotency key (Runway) get the same request again with the same
  key (the redelivered task may do it at once; the provider answers with the job it already
  has);
- providers without one (Veo, fal) are never resubmitted: once the claim is stale, the
  reconciler marks the job failed, saying that the provider may have run it.
The same rule applies to a submission that timed out.

Never past the budget. The claim of a job's first submission runs in one transaction with the
budget guard's check at submission (guard.submit_refusal, under the project's row lock): the
job is marked sent (`cleared_at`) with the claim, or ends `refused` with the numbers and is
never sent.
"""

import logging
import random
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from ... import netsafe, providers
from ...models import GenerationJob, GenerationStatus
from ...models.takes import CostSource
from ..media import NotAVideo
from ..takes import UploadRejected, take_probe_upload, take_register_upload
from . import guard
from .batches import batch_settle

log = logging.getLogger(__name__)

MAX_SUBMIT_ATTEMPTS = 6


@dataclass(frozen=True)
class Step:
    task: str  # "submit" or "poll"
    delay: float


def _setting(name: str, default: float) -> float:
    return float(getattr(settings, name, default))


def backoff(attempt: int, *, retry_after: float | None = None) -> float:
    """Exponential backoff with jitter; a provider's Retry-After is a floor, never shortened."""
    base = _setting("DAILIES_GENERATION_POLL_SECONDS", 5)
    ceiling = _setting("DAILIES_GENERATION_POLL_MAX_SECONDS", 60)
    delay = min(base * 2 ** max(attempt - 1, 0), ceiling) * random.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return delay


def poll_interval(polls: int) -> float:
    """Polls start quick and slow down (1.5× per poll) to the ceiling, with jitter."""
    base = _setting("DAILIES_GENERATION_POLL_SECONDS", 5)
    ceiling = _setting("DAILIES_GENERATION_POLL_MAX_SECONDS", 60)
    return min(base * 1.5 ** min(polls, 30), ceiling) * random.uniform(0.8, 1.2)


def submit_stale_after() -> timedelta:
    """A submission claim older than this has no live worker behind it."""
    return timedelta(seconds=_setting("DAILIES_PROVIDER_TIMEOUT", 30) * 2 + 60)


def deadline() -> timedelta:
    return timedelta(minutes=_setting("DAILIES_GENERATION_DEADLINE_MINUTES", 30))


def _fail(job_id: int, reason: str, *, moderated: bool = False, only=None, status=None) -> bool:
    if status is None:
        status = GenerationStatus.MODERATED if moderated else GenerationStatus.FAILED
    rows = GenerationJob.objects.filter(pk=job_id)
    if only is not None:
        rows = rows.filter(**only)
    else:
        rows = rows.exclude(status__in=(GenerationStatus.DONE, GenerationStatus.CANCELLED))
    with transaction.atomic():
        done = (
            rows.update(
                status=status, last_error=reason[:500], finished_at=timezone.now(), claimed_at=None
            )
            == 1
        )
        if done:
            job = GenerationJob.objects.only("batch_id").get(pk=job_id)
            batch_settle(batch_id=job.batch_id)
    return done


# --- submit --------------------------------------------------------------------------------


def _claim_submission(job_id: int) -> GenerationJob | None:
    now = timezone.now()
    queued = GenerationJob.objects.filter(pk=job_id, status=GenerationStatus.QUEUED)
    with transaction.atomic():
        job = queued.first()
        if job is not None and job.cleared_at is None:
            # First submission: the guard again, under the project's lock until commit.
            reason = guard.submit_refusal(job=job)
            if reason is not None:
                unsent = {"status": GenerationStatus.QUEUED, "cleared_at__isnull": True}
                _fail(job_id, reason, status=GenerationStatus.REFUSED, only=unsent)
                return None
        claimed = queued.update(
            status=GenerationStatus.SUBMITTING,
            claimed_at=now,
            attempts=F("attempts") + 1,
            cleared_at=Coalesce(F("cleared_at"), now),
        )
    if claimed:
        return GenerationJob.objects.get(pk=job_id)
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or job.status != GenerationStatus.SUBMITTING:
        return None
    # Submitting already: a redelivered task after its worker died, or a duplicate message.
    # Only a provider that honours the idempotency key may be asked again.
    if not providers.adapter_class(job.provider).idempotent:
        return None
    again = GenerationJob.objects.filter(
        pk=job_id, status=GenerationStatus.SUBMITTING, claimed_at=job.claimed_at
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    return GenerationJob.objects.get(pk=job_id) if again else None


def job_submit(*, job_id: int) -> Step | None:
    job = GenerationJob.objects.filter(pk=job_id).only("status").first()
    if job is not None and job.status == GenerationStatus.RUNNING:
        return Step("poll", 0)  # a duplicate submit message: the job is past it
    job = _claim_submission(job_id)
    if job is None:
        return None
    claim = {"status": GenerationStatus.SUBMITTING, "claimed_at": job.claimed_at}
    try:
        adapter = providers.get(job.provider)
        provider_job_id = adapter.submit(providers.GenerationRequest.from_dict(job.request))
    except providers.TransientError as exc:
        unknown = getattr(exc, "outcome_unknown", False)
        if unknown and not providers.adapter_class(job.provider).idempotent:
            _fail(job.pk, _lost(job.provider, str(exc)), only=claim)
            return None
        if job.attempts >= MAX_SUBMIT_ATTEMPTS:
            _fail(job.pk, f"The provider kept failing: {exc.message}", only=claim)
            return None
        GenerationJob.objects.filter(pk=job.pk, **claim).update(
            status=GenerationStatus.QUEUED, claimed_at=None, last_error=exc.message[:500]
        )
        return Step("submit", backoff(job.attempts, retry_after=exc.retry_after))
    except providers.ProviderError as exc:
        _fail(job.pk, exc.message, moderated=exc.moderated, only=claim)
        return None
    stored = GenerationJob.objects.filter(pk=job.pk, **claim).update(
        status=GenerationStatus.RUNNING,
        provider_job_id=provider_job_id,
        submitted_at=timezone.now(),
        claimed_at=None,
        progress=0,
        last_error="",
    )
    if not stored:
        # Cancelled while the call was out: keep the id for the record, stop it there.
        GenerationJob.objects.filter(pk=job.pk, provider_job_id="").update(
            provider_job_id=provider_job_id
        )
        _cancel_quietly(job.provider, provider_job_id, job.model)
        return None
    return Step("poll", poll_interval(0))


def _lost(provider: str, detail: str) -> str:
    label = providers.adapter_class(provider).label
    return (
        f"The submission to {label} was interrupted ({detail}); {label} may have started the "
        "job. It was not sent again, so it is never paid twice: check the provider's console."
    )


def _cancel_quietly(provider: str, provider_job_id: str, model: str) -> None:
    try:
        providers.get(provider).cancel(provider_job_id, model=model)
    except providers.ProviderError as exc:
        log.warning("could not cancel %s job %s: %s", provider, provider_job_id, exc.message)


# --- poll ----------------------------------------------------------------------------------


def job_poll(*, job_id: int) -> Step | None:
    job = GenerationJob.objects.filter(pk=job_id).first()
    if job is None or job.status != GenerationStatus.RUNNING:
        return None
    running = {"status": GenerationStatus.RUNNING}
    now = timezone.now()
    if job.submitted_at and now - job.submitted_at > deadline():
        _cancel_quietly(job.provider, job.provider_job_id, job.model)
        minutes = int(deadline().total_seconds() // 60)
        _fail(job.pk, f"No result after {minutes} minutes; cancelled.", only=running)
        return None
    try:
        adapter = providers.get(job.provider)
        status = adapter.poll(job.provider_job_id, model=job.model)
    except providers.TransientError as exc:
        delay = backoff(min(job.polls + 1, 8), retry_after=exc.retry_after)
        _note_poll(job, error=exc.message, delay=delay)
        return Step("poll", delay)
    except providers.ProviderError as exc:
        if any(code in exc.message for code in ("HTTP 401", "HTTP 403", "HTTP 404")):
            _fail(job.pk, exc.message, only=running)
            return None
        # A malformed status reply: the job may still finish; try again until the deadline.
        delay = backoff(min(job.polls + 1, 8))
        _note_poll(job, error=exc.message, delay=delay)
        return Step("poll", delay)
    state = status.state
    if state in (providers.JobState.QUEUED, providers.JobState.RUNNING):
        delay = poll_interval(job.polls + 1)
        _note_poll(job, progress=status.progress, delay=delay)
        return Step("poll", delay)
    if state == providers.JobState.FAILED:
        reason = status.error or "The provider reported a failure."
        _fail(job.pk, reason, moderated=status.moderated, only=running)
        return None
    if state == providers.JobState.CANCELLED:
        GenerationJob.objects.filter(pk=job.pk, **running).update(
            status=GenerationStatus.CANCELLED,
            last_error="Cancelled at the provider.",
            finished_at=now,
        )
        batch_settle(batch_id=job.batch_id)
        return None
    claimed = GenerationJob.objects.filter(pk=job.pk, **running).update(
        status=GenerationStatus.DOWNLOADING,
        claimed_at=now,
        output_url=status.output_urls[0][:2000],
        cost_usd=status.cost_usd,
        progress=1.0,
    )
    if not claimed:
        return None
    job.refresh_from_db()
    return job_download(job=job, adapter=adapter)


def _note_poll(job: GenerationJob, *, delay: float, progress=None, error: str = "") -> None:
    values = {
        "polls": F("polls") + 1,
        "next_poll_at": timezone.now() + timedelta(seconds=delay),
        "last_error": error[:500],
    }
    if progress is not None:
        values["progress"] = max(0.0, min(float(progress), 1.0))
    GenerationJob.objects.filter(pk=job.pk, status=GenerationStatus.RUNNING).update(**values)


# --- download into a take ------------------------------------------------------------------


def job_download(*, job: GenerationJob, adapter) -> Step | None:
    """Fetch the output (http(s) only, size-capped) and register it as a take through the
    upload path: sniffed, stored under a generated name, then poster, filmstrip, flicker and
    C2PA by the media task. `job` is claimed (downloading, `claimed_at`)."""
    claim = {"status": GenerationStatus.DOWNLOADING, "claimed_at": job.claimed_at}
    with tempfile.TemporaryDirectory(prefix="dailies-gen-") as tmp:
        dest = Path(tmp) / "output.bin"
        try:
            netsafe.fetch_to_file(
                job.output_url,
                dest=dest,
                max_bytes=settings.DAILIES_MAX_UPLOAD_BYTES,
                timeout=_setting("DAILIES_PROVIDER_TIMEOUT", 30),
                headers=adapter.download_headers(job.output_url),
            )
        except netsafe.UnsafeURL as exc:
            _fail(job.pk, f"The provider's output URL was refused: {exc}", only=claim)
            return None
        except netsafe.FetchError as exc:
            if "cap" in str(exc):  # over the size cap: a retry would fetch the same bytes
                _fail(job.pk, f"The output could not be downloaded: {exc}", only=claim)
                return None
            # Back to running: the next poll fetches a fresh URL and tries again (until the
            # job's deadline).
            GenerationJob.objects.filter(pk=job.pk, **claim).update(
                status=GenerationStatus.RUNNING,
                claimed_at=None,
                last_error=str(exc)[:500],
                polls=F("polls") + 1,
            )
            return Step("poll", backoff(3))
        with dest.open("rb") as fh:
            upload = File(fh, name=f"{job.provider}-{job.pk}.mp4")
            try:
                info = take_probe_upload(upload)
            except (UploadRejected, NotAVideo) as exc:
                _fail(job.pk, f"The provider's output was refused: {exc}", only=claim)
                return None
            return _register_take(job, upload, info, claim)


def _register_take(job: GenerationJob, upload, info, claim: dict) -> None:
    version = job.prompt_version
    request = job.request
    if job.cost_usd is not None:
        cost = (job.cost_usd, CostSource.REPORTED, None)
    else:
        # The estimate the guard counted (ModelPrice × requested duration, the billed unit).
        cost = (job.estimate_usd, CostSource.ESTIMATED, job.batch.price_usd_per_second)
    with transaction.atomic():
        locked = GenerationJob.objects.select_for_update().filter(pk=job.pk, **claim).first()
        if locked is None:
            return None  # cancelled or taken over meanwhile: nothing is stored
        take = take_register_upload(
            version=version,
            upload=upload,
            model=job.model,
            uploader=None,
            seed=job.seed,
            info=info,
            external_id=f"{job.provider}-{job.provider_job_id}"[:200],
            parameters={
                **version.parameters,
                "provider": job.provider,
                "duration_s": request.get("duration_s"),
                "aspect": request.get("aspect"),
                **(request.get("parameters") or {}),
            },
            cost=cost,
        )
        locked.take = take
        locked.status = GenerationStatus.DONE
        locked.finished_at = timezone.now()
        locked.claimed_at = None
        locked.last_error = ""
        locked.save(update_fields=["take", "status", "finished_at", "claimed_at", "last_error"])
        batch_settle(batch_id=job.batch_id)
    return None


# --- cancel at the provider ----------------------------------------------------------------


def job_cancel_remote(*, job_id: int) -> None:
    job = GenerationJob.objects.filter(pk=job_id, status=GenerationStatus.CANCELLED).first()
    if job is None or not job.provider_job_id:
        return  # never reached the provider (a submission in flight cancels itself)
    _cancel_quietly(job.provider, job.provider_job_id, job.model)


# --- reconcile (beat) ----------------------------------------------------------------------


def jobs_reconcile(*, now=None) -> dict[str, list[int]]:
    """Jobs whose worker or message was lost. Returns the ids to enqueue per task."""
    now = now or timezone.now()
    out: dict[str, list[int]] = {"submit": [], "poll": []}
    # Queued with no message in flight (broker was down at commit).
    out["submit"] = list(
        GenerationJob.objects.filter(
            status=GenerationStatus.QUEUED, queued_at__lt=now - timedelta(minutes=2)
        )
        .filter(updated_at__lt=now - timedelta(minutes=2))
        .values_list("pk", flat=True)[:500]
    )
    stale = now - submit_stale_after()
    for job in GenerationJob.objects.filter(
        status=GenerationStatus.SUBMITTING, claimed_at__lt=stale
    )[:500]:
        if providers.adapter_class(job.provider).idempotent:
            GenerationJob.objects.filter(
                pk=job.pk, status=GenerationStatus.SUBMITTING, claimed_at=job.claimed_at
            ).update(status=GenerationStatus.QUEUED, claimed_at=None)
            out["submit"].append(job.pk)
        else:
            claim = {"status": GenerationStatus.SUBMITTING, "claimed_at": job.claimed_at}
            _fail(job.pk, _lost(job.provider, "the worker stopped"), only=claim)
    # Downloads whose worker died: back to polling (the provider still has the output).
    GenerationJob.objects.filter(
        status=GenerationStatus.DOWNLOADING, claimed_at__lt=now - timedelta(minutes=10)
    ).update(status=GenerationStatus.RUNNING, claimed_at=None)
    # Running jobs whose next poll is long overdue (the message was lost), or past the deadline.
    out["poll"] = list(
        GenerationJob.objects.filter(status=GenerationStatus.RUNNING)
        .filter(
            Q(next_poll_at__lt=now - timedelta(minutes=2))
            | Q(next_poll_at__isnull=True, submitted_at__lt=now - timedelta(minutes=2))
            | Q(submitted_at__lt=now - deadline())
        )
        .values_list("pk", flat=True)[:500]
    )
    return out
