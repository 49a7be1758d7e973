"""Reads for project pages. Each function is a bounded number of indexed queries."""

from decimal import Decimal

from django.db.models import Count, Q

from ..models import (
    Dimension,
    Membership,
    ModelPrice,
    Project,
    ProjectRollup,
    RollupRow,
    Shot,
    Take,
    TakeStatus,
)


def projects_for_user(*, user):
    return (
        Project.objects.filter(memberships__user=user)
        .annotate(
            n_shots=Count("shots", distinct=True),
        )
        .order_by("name")
    )


def project_summary(*, project: Project) -> dict:
    """Headline numbers for the overview, read from the worker-computed rollup rows (so the page
    costs the same at 1k or 1M takes), plus the few takes still being processed."""
    row = (
        RollupRow.objects.filter(project=project, dimension=Dimension.PROJECT)
        .values("takes", "reviewed", "accepted", "spend_usd")
        .first()
    ) or {"takes": 0, "reviewed": 0, "accepted": 0, "spend_usd": Decimal(0)}
    state = ProjectRollup.objects.filter(project=project).only("computed_at").first()
    spend = row["spend_usd"]
    budget = project.budget_usd
    return {
        "takes": row["takes"],
        "reviewed": row["reviewed"],
        "accepted": row["accepted"],
        "spend": spend,
        "budget_used": (spend / budget) if budget else None,
        # Indexed on status; only a handful of takes are ever processing at once.
        "processing": Take.objects.filter(project=project, status=TakeStatus.PROCESSING).count(),
        "computed_at": state.computed_at if state else None,
    }


def _rollup_counts(project: Project, dimension: str) -> dict[str, dict]:
    return {
        r["key"]: r
        for r in RollupRow.objects.filter(project=project, dimension=dimension).values(
            "key", "takes", "reviewed", "accepted"
        )
    }


def project_shots(*, project: Project) -> list[Shot]:
    """Shots with version counts, and take/accepted counts from the rollups."""
    shots = list(
        Shot.objects.filter(project=project)
        .annotate(n_versions=Count("versions", distinct=True))
        .order_by("name")
    )
    counts = _rollup_counts(project, Dimension.SHOT)
    for shot in shots:
        row = counts.get(str(shot.pk), {})
        shot.n_takes = row.get("takes", 0)
        shot.n_accepted = row.get("accepted", 0)
    return shots


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
