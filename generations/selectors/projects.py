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
from .stats import stats_top


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


def project_top_shots(*, project: Project, limit: int = 10, newest: int = 5) -> dict:
    """The shots with the most takes (from the rollups, with "and N more"), and the newest
    shots, which may have no take yet. Four indexed queries at any number of shots."""
    top = stats_top(project=project, dimension="shots", limit=limit)
    ids = [r["shot_id"] for r in top["results"]]
    found = {
        s.pk: s for s in Shot.objects.filter(pk__in=ids).annotate(n_versions=Count("versions"))
    }
    shots = []
    for row in top["results"]:
        shot = found.get(row["shot_id"])
        if shot is not None:  # deleted since the last refresh
            shot.n_takes, shot.n_accepted = row["takes"], row["accepted"]
            shots.append(shot)
    return {
        "shots": shots,
        "more": top["more"],
        "total": top["total"],
        "newest": list(Shot.objects.filter(project=project).order_by("-id")[:newest]),
    }


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


def recent_imports(*, project: Project, limit: int = 5) -> list:
    """The project's latest web imports, for the project page."""
    from ..models import ManifestImport

    return list(
        ManifestImport.objects.filter(project=project)
        .only("pk", "original_filename", "state", "errors_count", "created_at")
        .order_by("-created_at", "-id")[:limit]
    )
