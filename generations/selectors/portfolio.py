"""The portfolio: one row per project the user is a member of, from the rollups only.

Three queries whatever the number of projects, takes, shots or reviewers: the projects, their
project-total, first-pass and per-day rollup rows (the per-day rows grow with a project's days of
spending, never with its takes), and their rollup states. The forecast is the stats summary's own
(`selectors.stats._forecast`), so the portfolio and the producer dashboard always agree."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Q

from ..models import Dimension, Project, ProjectRollup, RollupRow
from .forecast import DeadlineStatus, deadline_status
from .stats import EMPTY, _band_position, _forecast, _money, _ratio


@dataclass(frozen=True)
class PortfolioRow:
    project: Project
    takes: int
    reviewed: int
    accepted: int
    spend_usd: float
    budget_usd: float | None
    budget_used: float | None
    acceptance_rate: float | None
    first_pass_reviewed: int
    first_pass_rate: float | None
    first_pass_position: str | None  # below / within / above the 10–20% band
    run_out_date: str | None
    deadline: DeadlineStatus | None
    computed_at: object


def portfolio_rows(*, user, today: date) -> list[PortfolioRow]:
    projects = list(Project.objects.filter(memberships__user=user).order_by("name", "pk"))
    if not projects:
        return []
    ids = [p.pk for p in projects]
    totals: dict[int, dict] = {}
    first: dict[int, dict] = {}
    days: dict[int, list[dict]] = defaultdict(list)
    rows = (
        RollupRow.objects.filter(project_id__in=ids)
        .filter(
            Q(dimension=Dimension.PROJECT)
            | Q(dimension=Dimension.PASS, key="1")
            | Q(dimension=Dimension.DAY)
        )
        .values(
            "project_id", "dimension", "key", "takes", "reviewed", "accepted", "spend_usd",
            "accepted_seconds",
        )
        .order_by("project_id", "dimension", "key")
    )  # fmt: skip
    for row in rows:
        pid = row["project_id"]
        if row["dimension"] == Dimension.PROJECT:
            totals[pid] = row
        elif row["dimension"] == Dimension.PASS:
            first[pid] = row
        else:
            days[pid].append(row)
    computed = dict(
        ProjectRollup.objects.filter(project_id__in=ids).values_list("project_id", "computed_at")
    )

    out = []
    for project in projects:
        total = totals.get(project.pk, EMPTY)
        fp = first.get(project.pk, EMPTY)
        burn, cumulative = [], Decimal(0)
        for row in days[project.pk]:  # ordered by key: ISO dates sort as days
            cumulative += row["spend_usd"]
            burn.append(
                {
                    "date": row["key"],
                    "spend_usd": _money(row["spend_usd"]),
                    "cumulative_usd": _money(cumulative),
                }
            )
        forecast = _forecast(project, total, burn)
        budget = project.budget_usd
        fp_rate = _ratio(fp["accepted"], fp["reviewed"])
        out.append(
            PortfolioRow(
                project=project,
                takes=total["takes"],
                reviewed=total["reviewed"],
                accepted=total["accepted"],
                spend_usd=_money(total["spend_usd"]),
                budget_usd=float(budget) if budget is not None else None,
                budget_used=_ratio(total["spend_usd"], budget) if budget else None,
                acceptance_rate=_ratio(total["accepted"], total["reviewed"]),
                first_pass_reviewed=fp["reviewed"],
                first_pass_rate=fp_rate,
                first_pass_position=_band_position(fp_rate),
                run_out_date=forecast["run_out_date"],
                deadline=deadline_status(forecast=forecast, deadline=project.deadline, today=today),
                computed_at=computed.get(project.pk),
            )
        )
    return out
