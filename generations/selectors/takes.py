"""Reads for take pages."""

from django.db.models import Count, Q, Sum

from ..models import ModelPrice, Note, Review, Take
from ..models.takes import CostSource


def take_history(*, take: Take):
    return (
        Review.objects.filter(take=take)
        .select_related("reviewer")
        .prefetch_related("failure_tags")
        .order_by("-created_at", "-id")
    )


def take_notes(*, take: Take):
    return Note.objects.filter(take=take).select_related("tag", "author").order_by("seconds", "id")


def known_models(*, project) -> list[str]:
    """Model names with a price for this project or the workspace, for the upload form."""
    return sorted(
        set(
            ModelPrice.objects.filter(Q(project=project) | Q(project__isnull=True)).values_list(
                "model", flat=True
            )
        )
    )


def unpriced_models(*, project) -> list[dict]:
    """Models whose takes no price covered (cost_source "unknown": not counted in the spend),
    with how many takes and seconds each has. Reads only those takes (a partial index)."""
    return list(
        Take.objects.filter(project=project, cost_source=CostSource.UNKNOWN)
        .values("model")
        .annotate(takes=Count("id"), seconds=Sum("duration_s"))
        .order_by("model")
    )
