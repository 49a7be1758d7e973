"""Analytics dashboards (producer, creative, editor). They read rollups only; each page polls a
tiny endpoint that answers 204 until the rollup revision moves, then swaps in the new panel."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ..access import get_project
from ..models import JobState
from ..selectors.forecast import deadline_status
from ..selectors.stats import (
    FIRST_PASS_BAND,
    TABLES,
    StatsQueryError,
    project_stats,
    rollup_state,
    stats_dimension_page,
    stats_failures_by_top_shots,
    stats_shot_versions,
    stats_top,
)
from ..services import rollups as rollup_services
from . import charts

# Rows a page shows of a table that grows with the project; the rest is one link away.
TOP_ROWS = 10
KINDS = {"producer": "Producer", "creative": "Creative", "editor": "Editor"}
TEMPLATE = "generations/dashboards/dashboard.html"


def _alert(used: float | None) -> tuple[str, str] | None:
    if used is None:
        return None
    if used >= 1:
        return "over", f"Over budget: {used:.0%} of the budget is spent."
    if used >= 0.8:
        return "warn", f"{used:.0%} of the budget is spent (alert at 80%)."
    if used >= 0.5:
        return "info", f"Half the budget is spent ({used:.0%})."
    return None


def _producer(stats: dict, request, project) -> dict:
    forecast = stats["forecast"]
    forecast_to = None
    if forecast["run_out_date"] and stats["budget_usd"] and stats["burn_by_day"]:
        last = stats["burn_by_day"][-1]
        if forecast["run_out_date"] > last["date"]:
            forecast_to = (forecast["run_out_date"], stats["budget_usd"])
    models = [(m, v["cost_per_accepted_second_usd"]) for m, v in stats["by_model"].items()]
    return {
        "alert": _alert(stats["budget_used"]),
        "gauge": charts.gauge(stats["budget_used"]),
        "burn_chart": charts.burn_chart(
            stats["burn_by_day"],
            budget=stats["budget_usd"],
            forecast_to=forecast_to,
            title="Cumulative spend vs budget, with the forecast at the last 14 days' burn",
        ),  # fmt: skip
        "cost_chart": charts.bar_chart(
            models,
            title="Cost per accepted second by model",
            x_label="Model",
            y_label="USD per accepted second",
            fmt=lambda v: f"${v:.2f}",
        ),  # fmt: skip
    }


def _creative(stats: dict, request, project) -> dict:
    passes = [(f"pass {k}", v["acceptance_rate"], v["acceptance_ci95"])
              for k, v in stats["by_pass"].items()]  # fmt: skip
    top_shots = stats_top(project=project, dimension="shots", limit=TOP_ROWS)
    shot = stats_shot_versions(project=project, name=request.GET.get("shot", ""), top=top_shots)
    return {
        "band": FIRST_PASS_BAND,
        "pass_chart": charts.interval_chart(
            passes,
            title="Acceptance by pass, with 95% intervals and the 10–20% first-pass band",
            x_label="Pass",
            band=FIRST_PASS_BAND,
        ),  # fmt: skip
        "top_shots": table_context(project, top_shots),
        "picked_shot": shot["name"] if shot else "",
        "shot_missing": shot is None and bool(request.GET.get("shot")),
        "versions": table_context(project, shot["versions"]) if shot else None,
        "version_chart": charts.interval_chart(
            [
                (v["prompt_version"].rsplit(" ", 1)[-1], v["acceptance_rate"], v["acceptance_ci95"])
                for v in shot["versions"]["results"]
            ],
            title=f"Acceptance by prompt version in {shot['name']}",
            x_label="Prompt version",
        )
        if shot
        else "",  # fmt: skip
        "reviewers": table_context(
            project, stats_top(project=project, dimension="reviewers", limit=TOP_ROWS)
        ),
        "pareto": charts.pareto_chart(stats["failure_breakdown"], title="Why takes fail (Pareto)"),
    }


def _editor(stats: dict, request, project) -> dict:
    tags = list(stats["failure_breakdown"])
    worst = stats_failures_by_top_shots(project=project, shots=TOP_ROWS)
    rows, values = worst["shots"], worst["cells"]
    return {
        "tags": tags,
        "rows": [
            (s, [values.get((s, t), 0) for t in tags], sum(values.get((s, t), 0) for t in tags))
            for s in rows
        ],
        "heatmap": charts.heatmap(rows, tags, values, title="Failure tags by shot (top shots)"),
        "tag_cells": worst["total"],
        "pairs": table_context(
            project, stats_top(project=project, dimension="tag_pairs", limit=15)
        ),
    }


BUILDERS = {"producer": _producer, "creative": _creative, "editor": _editor}


def _job(project, state) -> dict:
    """The recompute bar: the worker's last step from the cache, else the database record."""
    job = rollup_services.rollups_job_status(project_id=project.pk, state=state)
    return {"job": job, "running": job["running"]}


def _context(request, access, kind: str) -> dict:
    stats = project_stats(project=access.project)
    state = rollup_state(project=access.project)
    return {
        "project": access.project,
        "access": access,
        "tab": "dashboards",
        "kind": kind,
        "kinds": KINDS,
        "kind_name": KINDS[kind],
        "stats": stats,
        "state": state,
        **_job(access.project, state),
        "shot_query": request.GET.get("shot", ""),
        "deadline": deadline_status(
            forecast=stats["forecast"], deadline=access.project.deadline, today=timezone.localdate()
        ),
        **BUILDERS[kind](stats, request, access.project),
    }


@login_required
@require_GET
def dashboard(request, slug, kind):
    if kind not in KINDS:
        raise Http404("No such dashboard")
    access = get_project(request, slug)
    template = f"{TEMPLATE}#panel" if request.htmx else TEMPLATE
    return render(request, template, _context(request, access, kind))


def table_context(project, page: dict) -> dict:
    """A page of `stats_dimension_page` ready for the table partial: cells in column order, and
    a link to the shot where the row is one."""
    columns = TABLES[page["dimension"]].columns
    rows = []
    for row in page["results"]:
        link = (
            reverse("shot_detail", args=[project.slug, row["shot_id"]])
            if "shot_id" in row
            else None
        )
        rows.append({"link": link, "cells": [(row[c.field], c.numeric) for c in columns]})
    return {**page, "columns": columns, "rows": rows}


@login_required
@require_GET
def stats_table(request, slug, dimension):
    """Every row of a dimension, a page at a time, with a search and a sort."""
    access = get_project(request, slug)
    try:
        page = stats_dimension_page(
            project=access.project,
            dimension=dimension,
            sort=request.GET.get("sort"),
            q=request.GET.get("q"),
            cursor=request.GET.get("cursor"),
            limit=request.GET.get("limit", 50),
        )
    except StatsQueryError as exc:
        if dimension not in TABLES:
            raise Http404("No such table") from exc
        return render(
            request,
            "generations/dashboards/table.html",
            {"project": access.project, "access": access, "tab": "dashboards", "error": exc,
             "dimension": dimension, "title": TABLES[dimension].title},
            status=400,
        )  # fmt: skip
    return render(
        request,
        "generations/dashboards/table.html",
        {
            "project": access.project,
            "access": access,
            "tab": "dashboards",
            "dimension": dimension,
            "title": page["title"],
            "page": table_context(access.project, page),
            "sorts": SORT_CHOICES,
        },
    )


SORT_CHOICES = [
    ("-takes", "Most takes"),
    ("-spend", "Most spend"),
    ("-accepted", "Most accepted"),
    ("-reviewed", "Most reviewed"),
    ("name", "Name"),
]


@login_required
@require_GET
def dashboard_live(request, slug, kind):
    """Polled every few seconds: 204 (htmx keeps the page) until the rollup revision moves."""
    if kind not in KINDS:
        raise Http404("No such dashboard")
    access = get_project(request, slug)
    state = rollup_state(project=access.project)
    if request.GET.get("rev") == str(state.revision if state else 0):
        return HttpResponse(status=204)
    return render(request, f"{TEMPLATE}#panel", _context(request, access, kind))


def _progress(request, access, status=200):
    state = rollup_state(project=access.project)
    context = {"project": access.project, "access": access, "state": state}
    return render(
        request,
        f"{TEMPLATE}#progress",
        {**context, **_job(access.project, state)},
        status=status,
    )  # fmt: skip


@login_required
@require_POST
def stats_recompute(request, slug):
    access = get_project(request, slug, "recompute")
    if rollup_services.rollups_job_start(project_id=access.project.pk):
        from ..tasks import rollups_recompute

        try:
            rollups_recompute.delay(access.project.pk)
        except Exception:
            rollup_services.rollups_job_progress(
                project_id=access.project.pk, percent=0, state=JobState.FAILED,
                message="The task queue is unreachable; the reconciler will catch up.",
            )  # fmt: skip
    if request.htmx:
        return _progress(request, access, status=202)
    messages.info(request, "Recompute started.")
    return redirect("dashboards", slug)


@login_required
@require_GET
def stats_progress(request, slug):
    return _progress(request, get_project(request, slug))
