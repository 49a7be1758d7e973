"""The statistics of SPEC §4, read from rollup rows only (never from takes), so the stats API,
`project_stats` and the dashboards cost the same at 10k and at 1M takes.

Money is in USD as numbers, rates are fractions 0–1, and anything undefined is None."""

import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum

from ..models import Dimension, Project, ProjectRollup, RollupCount, RollupRow
from .stats_numbers import (  # noqa: F401  (wilson_ci95 re-exported for tests and callers)
    MONEY_DIGITS,
    wilson_ci95,
)
from .stats_numbers import acceptance as _acceptance
from .stats_numbers import costs as _costs
from .stats_numbers import money as _money
from .stats_numbers import ratio as _ratio
from .stats_tables import (  # noqa: F401  (re-exported: the API imports them from here)
    STATS_DIMENSIONS,
    TABLES,
    StatsQueryError,
    UnknownDimension,
    stats_dimension_page,
    stats_failures_by_top_shots,
    stats_shot_versions,
    stats_top,
)

# Practitioners report 10–20% acceptance on a first pass of prompts (SPEC §1).
FIRST_PASS_BAND = (0.10, 0.20)
BURN_WINDOW_DAYS = 14


def _band_position(rate: float | None) -> str | None:
    if rate is None:
        return None
    low, high = FIRST_PASS_BAND
    return "below" if rate < low else "above" if rate > high else "within"


def _sorted_counts(counts: dict[str, int]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


EMPTY = {
    "takes": 0,
    "reviewed": 0,
    "accepted": 0,
    "spend_usd": Decimal(0),
    "accepted_seconds": Decimal(0),
}


def _forecast(project: Project, total: dict, days: list[dict]) -> dict:
    """At the observed acceptance rate and mean cost per take: the spend needed to reach the
    target; and the day the budget runs out at the burn rate of the last 14 days of spending."""
    takes, reviewed, accepted = total["takes"], total["reviewed"], total["accepted"]
    spend = float(total["spend_usd"])
    rate = accepted / reviewed if reviewed else None
    mean_cost = spend / takes if takes else None
    out: dict = {
        "acceptance_rate": _ratio(accepted, reviewed),
        "mean_cost_per_take_usd": _ratio(spend, takes, MONEY_DIGITS),
        "target_accepted_takes": project.target_accepted_takes,
        "target_accepted_seconds": (
            float(project.target_accepted_seconds) if project.target_accepted_seconds else None
        ),
        "takes_needed": None,
        "spend_to_target_usd": None,
        "spend_at_target_usd": None,
        "takes_needed_for_seconds": None,
        "spend_to_target_seconds_usd": None,
        "burn_rate_usd_per_day": None,
        "burn_window": None,
        "run_out_date": None,
    }
    if rate and mean_cost is not None:
        if project.target_accepted_takes:
            remaining = max(0, project.target_accepted_takes - accepted)
            needed = math.ceil(remaining / rate)
            out["takes_needed"] = needed
            out["spend_to_target_usd"] = _money(needed * mean_cost)
            out["spend_at_target_usd"] = _money(spend + needed * mean_cost)
        if project.target_accepted_seconds and accepted:
            seconds_per_accept = float(total["accepted_seconds"]) / accepted
            remaining_s = max(
                0.0, float(project.target_accepted_seconds) - float(total["accepted_seconds"])
            )
            needed = (
                math.ceil(remaining_s / seconds_per_accept / rate) if seconds_per_accept else None
            )
            if needed is not None:
                out["takes_needed_for_seconds"] = needed
                out["spend_to_target_seconds_usd"] = _money(needed * mean_cost)
                if out["spend_at_target_usd"] is None:
                    out["spend_at_target_usd"] = _money(spend + needed * mean_cost)
    if days:
        # The window ends on the last day with spending, so the figure depends only on the data.
        end = date.fromisoformat(days[-1]["date"])
        start = end - timedelta(days=BURN_WINDOW_DAYS - 1)
        window = sum(d["spend_usd"] for d in days if date.fromisoformat(d["date"]) >= start)
        burn = window / BURN_WINDOW_DAYS
        out["burn_rate_usd_per_day"] = _money(burn)
        out["burn_window"] = [start.isoformat(), end.isoformat()]
        budget = float(project.budget_usd) if project.budget_usd is not None else None
        if budget is not None:
            crossed = next((d["date"] for d in days if d["cumulative_usd"] >= budget), None)
            if crossed:
                out["run_out_date"] = crossed
            elif burn > 0:
                out["run_out_date"] = (
                    end + timedelta(days=math.ceil((budget - spend) / burn))
                ).isoformat()
    return out


# The summary reads only the dimensions whose row count does not grow with the project: the
# total, passes, models, days and failure tags (the taxonomy is small). Shots, prompt versions,
# reviewers, tags by shot and tag pairs are served a page at a time by `stats_dimension_page`.
SUMMARY_DIMENSIONS = (
    Dimension.PROJECT, Dimension.PASS, Dimension.MODEL, Dimension.DAY, Dimension.TAG,
    Dimension.TAG_MODEL, Dimension.TAG_PASS,
)  # fmt: skip


def project_stats(*, project: Project) -> dict:
    """SPEC §4 as a dict ready for JSON: exactly its keys, plus a few more the dashboards use.
    Four indexed queries whatever the size of the project; the response is a few KB."""
    state = ProjectRollup.objects.filter(project=project).first()
    by_dim: dict[str, list[dict]] = defaultdict(list)
    for row in RollupRow.objects.filter(project=project, dimension__in=SUMMARY_DIMENSIONS).values(
        "dimension", "key", "key2", "takes", "reviewed", "accepted", "spend_usd",
        "accepted_seconds",
    ):  # fmt: skip
        by_dim[row["dimension"]].append(row)
    agreement = RollupRow.objects.filter(project=project, dimension=Dimension.REVIEWER).aggregate(
        pairs=Sum("pairs"), agreed=Sum("agreed")
    )
    counts = dict(RollupCount.objects.filter(project=project).values_list("dimension", "rows"))
    total = (by_dim[Dimension.PROJECT] or [EMPTY])[0]
    passes = {int(r["key"]): r for r in by_dim[Dimension.PASS]}
    first = passes.get(1, EMPTY)

    days, cumulative = [], Decimal(0)
    for row in sorted(by_dim[Dimension.DAY], key=lambda r: r["key"]):
        cumulative += row["spend_usd"]
        days.append(
            {
                "date": row["key"],
                "spend_usd": _money(row["spend_usd"]),
                "cumulative_usd": _money(cumulative),
            }
        )

    def tag_counts(dimension: str) -> dict[str, dict[str, int]]:
        grouped: dict[str, dict[str, int]] = defaultdict(dict)
        for row in by_dim[dimension]:
            grouped[row["key2"]][row["key"]] = row["takes"]
        return {k: _sorted_counts(v) for k, v in sorted(grouped.items())}

    # Each pair is counted once from either side.
    pairs, agreed = (agreement["pairs"] or 0) // 2, (agreement["agreed"] or 0) // 2
    spend = total["spend_usd"]
    budget = project.budget_usd
    return {
        **_acceptance(total),
        "first_pass": {
            **_acceptance(first),
            "band": list(FIRST_PASS_BAND),
            "position": _band_position(_ratio(first["accepted"], first["reviewed"])),
        },
        "by_pass": {str(k): _acceptance(r) for k, r in sorted(passes.items())},
        "by_model": {
            r["key"]: {**_acceptance(r), **_costs(r)}
            for r in sorted(by_dim[Dimension.MODEL], key=lambda r: r["key"])
        },
        **_costs(total),
        "failure_breakdown": _sorted_counts({r["key"]: r["takes"] for r in by_dim[Dimension.TAG]}),
        "failure_by_model": tag_counts(Dimension.TAG_MODEL),
        "failure_by_pass": dict(
            sorted(tag_counts(Dimension.TAG_PASS).items(), key=lambda kv: int(kv[0]))
        ),
        "reviewer_agreement": {"pairs": pairs, "agreed": agreed, "rate": _ratio(agreed, pairs)},
        "burn_by_day": days,
        "budget_usd": float(budget) if budget is not None else None,
        "budget_used": _ratio(spend, budget) if budget else None,
        "forecast": _forecast(project, total, days),
        # How many rows each paginated table has: GET /api/v1/projects/<slug>/stats/<name>.
        "dimensions": {name: counts.get(table.dimension, 0) for name, table in TABLES.items()},
        "computed_at": (
            state.computed_at.isoformat().replace("+00:00", "Z")
            if state and state.computed_at
            else None
        ),
        "revision": state.revision if state else 0,
    }


def rollup_state(*, project: Project) -> ProjectRollup | None:
    return ProjectRollup.objects.filter(project=project).first()
