"""Writes for generation batches: create (behind the budget guard), approve or reject one
waiting for a producer, cancel a batch or one job. Workers are enqueued on commit."""

import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ... import providers
from ...limits import parameters_problem
from ...models import (
    BatchStatus,
    GenerationBatch,
    GenerationJob,
    GenerationStatus,
    PromptVersion,
    Take,
)
from ...models.generation import PENDING
from ..projects import ServiceError
from ..prompts import prompt_version_create
from . import guard
from .guard import BatchRefused

MAX_TAKES_PER_BATCH = 24


@dataclass(frozen=True)
class BatchSpec:
    """What a lead asks for; validated against the model's limits by `batch_validate`."""

    provider: str
    model: str
    count: int
    duration_s: int
    aspect: str
    negative_prompt: str = ""
    seeds: list[int] | None = None  # None: random (where the model takes a seed)
    parameters: dict = field(default_factory=dict)


def batch_validate(*, spec: BatchSpec, prompt: str) -> providers.ModelSpec:
    """The model's limits, checked before any money is committed. Raises BatchRefused."""
    try:
        cls = providers.adapter_class(spec.provider)
    except providers.NotConfigured as exc:
        raise BatchRefused(str(exc)) from None
    if not providers.is_configured(spec.provider):
        raise BatchRefused(
            f"{cls.label} is not configured on this server "
            f"(DAILIES_PROVIDER_{spec.provider.upper()}_KEY)."
        )
    model = cls.model(spec.model)
    if model is None:
        raise BatchRefused(f"{cls.label} offers no model {spec.model!r}.")
    if not 1 <= spec.count <= MAX_TAKES_PER_BATCH:
        raise BatchRefused(f"Ask for 1 to {MAX_TAKES_PER_BATCH} takes at a time.")
    if spec.duration_s not in model.durations:
        allowed = ", ".join(str(d) for d in model.durations)
        raise BatchRefused(f"{model.label} makes clips of {allowed} seconds.")
    if spec.aspect not in model.aspects:
        raise BatchRefused(f"{model.label} makes {', '.join(model.aspects)} clips.")
    if len(prompt) > model.max_prompt_chars:
        raise BatchRefused(
            f"{model.label} takes prompts up to {model.max_prompt_chars} characters; this one "
            f"has {len(prompt)}."
        )
    if spec.seeds is not None and model.seed:
        if len(spec.seeds) != spec.count:
            raise BatchRefused(f"Give one seed per take: {spec.count} seeds.")
        if any(not 0 <= s <= model.max_seed for s in spec.seeds):
            raise BatchRefused(f"Seeds go from 0 to {model.max_seed}.")
    problem = parameters_problem(spec.parameters)
    if problem:
        raise BatchRefused(f"Parameter overrides: {problem}")
    for name, value in spec.parameters.items():
        expected = model.parameters.get(name)
        if expected is None:
            accepted = ", ".join(model.parameters) or "none"
            raise BatchRefused(f"{model.label} takes no parameter {name!r} (accepted: {accepted}).")
        if not _is_a(value, expected):
            raise BatchRefused(f"{name} must be a {expected.__name__}.")
    return model


def _is_a(value, expected: type) -> bool:
    """JSON types: a bool is not a number, an int is a fine float."""
    if isinstance(value, bool):
        return expected is bool
    if expected is float:
        return isinstance(value, int | float)
    return isinstance(value, expected)


def _seeds(spec: BatchSpec, model: providers.ModelSpec) -> list[int | None]:
    if not model.seed:
        return [None] * spec.count
    if spec.seeds is not None:
        return list(spec.seeds)
    rng = random.SystemRandom()
    return [rng.randint(0, model.max_seed) for _ in range(spec.count)]


def batch_create(
    *,
    version: PromptVersion,
    spec: BatchSpec,
    requested_by,
    regenerated_from: Take | None = None,
) -> GenerationBatch:
    """Validate, estimate and guard a batch; create one job per take. Running batches enqueue
    their submissions on commit; above the approval threshold the batch waits for a producer.
    Raises BatchRefused (with the numbers) and creates nothing when refused."""
    project = version.shot.project
    model = batch_validate(spec=spec, prompt=version.text)
    cost = guard.estimate(
        project=project, model=spec.model, duration_s=spec.duration_s, count=spec.count
    )
    negative = spec.negative_prompt if model.negative_prompt else ""
    with transaction.atomic():
        guard.lock_project(project.pk)
        state = guard.budget_state(project=project)
        guard.check(state=state, estimate_usd=cost.total_usd)
        waits = guard.needs_approval(state=state, estimate_usd=cost.total_usd)
        batch = GenerationBatch.objects.create(
            project=project,
            prompt_version=version,
            requested_by=requested_by,
            provider=spec.provider,
            model=spec.model,
            duration_s=spec.duration_s,
            aspect=spec.aspect,
            negative_prompt=negative,
            parameters=spec.parameters,
            count=spec.count,
            estimate_usd=cost.total_usd,
            price_usd_per_second=cost.price.usd_per_second,
            status=BatchStatus.AWAITING_APPROVAL if waits else BatchStatus.RUNNING,
            regenerated_from=regenerated_from,
        )
        now = timezone.now()
        jobs = []
        for seed in _seeds(spec, model):
            job = GenerationJob(
                batch=batch,
                project=project,
                prompt_version=version,
                provider=spec.provider,
                model=spec.model,
                seed=seed,
                status=GenerationStatus.WAITING if waits else GenerationStatus.QUEUED,
                queued_at=None if waits else now,
                estimate_usd=cost.per_take_usd,
                request={},
            )
            job.request = providers.GenerationRequest(
                model=spec.model,
                prompt=version.text,
                duration_s=spec.duration_s,
                aspect=spec.aspect,
                negative_prompt=negative,
                seed=seed,
                parameters=spec.parameters,
                idempotency_key=str(job.idempotency_key),
            ).as_dict()
            jobs.append(job)
        GenerationJob.objects.bulk_create(jobs)
        if not waits:
            _enqueue_submissions([j.pk for j in jobs])
    return batch


def _enqueue_submissions(job_ids: list[int]) -> None:
    def send() -> None:
        from ...tasks.generation import generation_submit

        for job_id in job_ids:
            try:
                generation_submit.delay(job_id)
            except Exception:  # broker down: the beat reconciler re-enqueues queued jobs
                return

    transaction.on_commit(send)


def batch_regenerate_version(*, take: Take, author, negative_prompt: str, parameters: dict):
    """'Regenerate as vN+1': a child of the take's version with the form's negative prompt and
    the take's parameters, ready for a batch."""
    version = take.prompt_version
    return prompt_version_create(
        shot=version.shot,
        parent=version,
        author=author,
        text=version.text,
        negative_prompt=negative_prompt,
        parameters={**version.parameters, **parameters},
        change_note=f"Regenerated from take {take.external_id}",
    )


def batch_approve(*, batch: GenerationBatch, producer) -> GenerationBatch:
    """A producer lets a waiting batch run: the guard is checked again under the lock (money
    may have gone out since it was asked for)."""
    with transaction.atomic():
        guard.lock_project(batch.project_id)
        batch = GenerationBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.AWAITING_APPROVAL:
            raise ServiceError("This batch is not waiting for approval any more.")
        state = guard.budget_state(project=batch.project)
        waiting = batch.jobs.filter(status=GenerationStatus.WAITING)
        guard.check(state=state, estimate_usd=sum((j.estimate_usd for j in waiting), Decimal(0)))
        ids = list(waiting.values_list("pk", flat=True))
        waiting.update(status=GenerationStatus.QUEUED, queued_at=timezone.now())
        batch.status = BatchStatus.RUNNING
        batch.decided_by, batch.decided_at = producer, timezone.now()
        batch.save(update_fields=["status", "decided_by", "decided_at"])
        _enqueue_submissions(ids)
    return batch


def batch_reject(*, batch: GenerationBatch, producer) -> GenerationBatch:
    with transaction.atomic():
        batch = GenerationBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.AWAITING_APPROVAL:
            raise ServiceError("This batch is not waiting for approval any more.")
        batch.jobs.filter(status=GenerationStatus.WAITING).update(
            status=GenerationStatus.CANCELLED,
            last_error="Rejected by a producer.",
            finished_at=timezone.now(),
        )
        batch.status = BatchStatus.REJECTED
        batch.decided_by, batch.decided_at = producer, timezone.now()
        batch.save(update_fields=["status", "decided_by", "decided_at"])
    return batch


def job_cancel(*, job: GenerationJob) -> bool:
    """Cancel one pending job; a job already at the provider is cancelled there after commit.
    False when it had already finished."""
    with transaction.atomic():
        cancelled = (
            GenerationJob.objects.filter(pk=job.pk, status__in=PENDING).update(
                status=GenerationStatus.CANCELLED,
                last_error="Cancelled.",
                finished_at=timezone.now(),
                claimed_at=None,
            )
            == 1
        )
        if cancelled:
            _after_cancel([job.pk])
            batch_settle(batch_id=job.batch_id)
    return cancelled


def batch_cancel(*, batch: GenerationBatch) -> int:
    with transaction.atomic():
        pending = GenerationJob.objects.select_for_update().filter(batch=batch, status__in=PENDING)
        ids = list(pending.values_list("pk", flat=True))
        GenerationJob.objects.filter(pk__in=ids, status__in=PENDING).update(
            status=GenerationStatus.CANCELLED,
            last_error="Cancelled.",
            finished_at=timezone.now(),
            claimed_at=None,
        )
        GenerationBatch.objects.filter(
            pk=batch.pk, status__in=(BatchStatus.AWAITING_APPROVAL, BatchStatus.RUNNING)
        ).update(status=BatchStatus.CANCELLED)
        _after_cancel(ids)
    return len(ids)


def _after_cancel(job_ids: list[int]) -> None:
    """Jobs the provider may be running get a cancel call there, from a worker."""

    def send() -> None:
        from ...tasks.generation import generation_cancel_remote

        for job_id in job_ids:
            try:
                generation_cancel_remote.delay(job_id)
            except Exception:
                return

    transaction.on_commit(send)


def batch_settle(*, batch_id: int) -> None:
    """A running batch whose jobs have all finished is done."""
    if not GenerationJob.objects.filter(batch_id=batch_id, status__in=PENDING).exists():
        GenerationBatch.objects.filter(pk=batch_id, status=BatchStatus.RUNNING).update(
            status=BatchStatus.DONE
        )
