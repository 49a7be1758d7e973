"""Reads for generation: a version's placeholders, a project's batches, the producer's panel.
Each is a bounded number of indexed queries (jobs are found by project or version and status)."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Avg, Case, Count, F, Q, Sum, When
from django.utils import timezone

from .. import providers
from ..models import BatchStatus, GenerationBatch, GenerationJob, GenerationStatus, PromptVersion
from ..models.generation import IN_FLIGHT, PENDING

RECENT_FAILURES = timedelta(hours=24)
MAX_PLACEHOLDERS = 60


def version_placeholders(*, version: PromptVersion) -> list[GenerationJob]:
    """Jobs still on their way (with status and progress), then the ones that failed (or that
    the budget guard refused at submission) in the last day with their reason: the grid shows
    them before the takes."""
    recent = timezone.now() - RECENT_FAILURES
    jobs = (
        GenerationJob.objects.filter(prompt_version=version)
        .filter(
            Q(status__in=PENDING)
            | Q(
                status__in=(
                    GenerationStatus.FAILED,
                    GenerationStatus.MODERATED,
                    GenerationStatus.REFUSED,
                ),
                finished_at__gte=recent,
            )
        )
        .order_by("created_at", "id")[:MAX_PLACEHOLDERS]
    )
    return list(jobs)


def model_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """(provider label, [("provider|model", model label)]) for the configured providers."""
    return [
        (cls.label, [(f"{cls.name}|{m.id}", f"{m.label} ({m.id})") for m in cls.models()])
        for cls in providers.configured()
    ]


def project_batches(*, project, limit: int = 50) -> list[GenerationBatch]:
    """Batches waiting for a producer first, then the latest, with their job counts."""
    batches = (
        GenerationBatch.objects.filter(project=project)
        .select_related("prompt_version__shot", "requested_by", "decided_by")
        .annotate(
            pending=Count("jobs", filter=Q(jobs__status__in=PENDING)),
            done=Count("jobs", filter=Q(jobs__status=GenerationStatus.DONE)),
            failed=Count("jobs", filter=Q(jobs__status=GenerationStatus.FAILED)),
            moderated=Count("jobs", filter=Q(jobs__status=GenerationStatus.MODERATED)),
            refused=Count("jobs", filter=Q(jobs__status=GenerationStatus.REFUSED)),
        )
        .annotate(later=Case(When(status=BatchStatus.AWAITING_APPROVAL, then=0), default=1))
        .order_by("later", "-created_at", "-id")[:limit]
    )
    return list(batches)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def generation_panel(*, project) -> dict:
    """The producer's panel: money in flight, jobs by provider with failure and moderation
    rates (over finished jobs), and the mean time from submission to a take per model."""
    jobs = GenerationJob.objects.filter(project=project)
    in_flight = jobs.filter(status__in=IN_FLIGHT).aggregate(usd=Sum("estimate_usd"), n=Count("id"))
    finished = Q(status__in=(GenerationStatus.DONE, GenerationStatus.FAILED,
                             GenerationStatus.MODERATED))  # fmt: skip
    by_provider = []
    for row in (
        jobs.values("provider")
        .annotate(
            total=Count("id"),
            finished=Count("id", filter=finished),
            done=Count("id", filter=Q(status=GenerationStatus.DONE)),
            failed=Count("id", filter=Q(status=GenerationStatus.FAILED)),
            moderated=Count("id", filter=Q(status=GenerationStatus.MODERATED)),
            pending=Count("id", filter=Q(status__in=PENDING)),
        )
        .order_by("provider")
    ):
        try:
            label = providers.adapter_class(row["provider"]).label
        except providers.NotConfigured:
            label = row["provider"]  # a provider since removed: its history stays
        by_provider.append(
            {
                **row,
                "label": label,
                "failure_rate": _rate(row["failed"], row["finished"]),
                "moderation_rate": _rate(row["moderated"], row["finished"]),
            }
        )
    by_model = [
        {
            "model": row["model"],
            "provider": row["provider"],
            "takes": row["takes"],
            "mean_seconds": row["mean"].total_seconds() if row["mean"] is not None else None,
        }
        for row in jobs.filter(status=GenerationStatus.DONE, submitted_at__isnull=False)
        .values("provider", "model")
        .annotate(takes=Count("id"), mean=Avg(F("finished_at") - F("submitted_at")))
        .order_by("provider", "model")
    ]
    return {
        "in_flight_usd": in_flight["usd"] or Decimal("0"),
        "in_flight_jobs": in_flight["n"],
        "awaiting_approval": GenerationBatch.objects.filter(
            project=project, status=BatchStatus.AWAITING_APPROVAL
        ).count(),
        "by_provider": by_provider,
        "by_model": by_model,
    }
