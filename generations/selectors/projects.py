"""Reads for project pages. Each function is a bounded number of indexed queries."""

from django.db.models import Count, Q, Sum

from ..models import Membership, ModelPrice, Project, Shot, Take
from ..models.reviews import Verdict


def projects_for_user(*, user):
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(
            n_shots=Count("shots", distinct=True),
        )
        .order_by("name")
    )


def project_summary(*, project: Project) -> dict:
    """Headline numbers for the overview from the denormalised current verdicts (one query).
    The analytics dashboards read the worker-computed rollups instead."""
    row = Take.objects.filter(project=project).aggregate(
        takes=Count("id"),
        reviewed=Count("id", filter=Q(current_verdict__in=[Verdict.ACCEPT, Verdict.REJECT])),
        accepted=Count("id", filter=Q(current_verdict=Verdict.ACCEPT)),
        processing=Count("id", filter=Q(status="processing")),
        spend=Sum("cost_usd"),
    )
    budget = project.budget_usd
    spend = row["spend"] or 0
    row["spend"] = spend
    row["budget_used"] = (spend / budget) if budget else None
    return row


def project_shots(*, project: Project):
    return (
        Shot.objects.filter(project=project)
        .annotate(
            n_versions=Count("versions", distinct=True),
            n_takes=Count("takes", distinct=True),
            n_accepted=Count(
                "takes", filter=Q(takes__current_verdict=Verdict.ACCEPT), distinct=True
            ),
        )
        .order_by("name")
    )


def project_members(*, project: Project):
    return (
        Membership.objects.filter(project=project)
        .select_related("user")
        .order_by("-is_owner", "role", "user__username")
    )


def model_prices(*, project: Project):
    """Prices in force and history: the project's own first, then the workspace defaults."""
    return ModelPrice.objects.filter(Q(project=project) | Q(project__isnull=True)).order_by(
        "model", "project_id", "-valid_from"
    )
