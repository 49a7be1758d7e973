"""The editors' grid: posters that scrub their filmstrip on hover; select many, tag at once."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from ..access import get_project
from ..models import FailureTag, Take
from ..selectors import queue as queue_selectors
from ..services import reviews as review_services
from ..services.projects import ServiceError

GRID_LIMIT = 200


def _context(request, access, query):
    filters = queue_selectors.QueueFilters.from_query(query)
    return {
        "project": access.project,
        "access": access,
        "tab": "grid",
        "filters": filters,
        "filter_query": urlencode(filters.params),
        "takes": list(
            queue_selectors.grid_takes(project=access.project, filters=filters, limit=GRID_LIMIT)
        ),
        "limit": GRID_LIMIT,
        "tags": FailureTag.objects.all(),
        "choices": queue_selectors.queue_filter_choices(project=access.project, filters=filters),
    }


@login_required
@require_GET
def take_grid(request, slug):
    access = get_project(request, slug)
    context = _context(request, access, request.GET)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "generations/review/grid.html#grid", context)
    return render(request, "generations/review/grid.html", context)


@login_required
@require_POST
def grid_bulk_tag(request, slug):
    """Add and remove tags on the selected takes: one request, one transaction, one rollup
    refresh (the service does all three)."""
    access = get_project(request, slug, "tag")
    ids = [int(i) for i in request.POST.getlist("takes") if i.isdigit()]
    takes = list(Take.objects.filter(project=access.project, pk__in=ids))
    add = list(FailureTag.objects.filter(slug__in=request.POST.getlist("add")))
    remove = list(FailureTag.objects.filter(slug__in=request.POST.getlist("remove")))
    error = None
    changed = 0
    if not takes:
        error = "Select one or more takes."
    elif not (add or remove):
        error = "Choose a tag to add or remove."
    else:
        try:
            changed = review_services.takes_bulk_tag(
                takes=takes, reviewer=request.user, add=add, remove=remove
            )
        except ServiceError as exc:
            error = str(exc)
    skipped = sum(1 for t in takes if t.current_verdict != "reject")
    message = error or (
        f"Tags changed on {changed} of {len(takes)} selected takes"
        + (f" ({skipped} not rejected: judge those first)." if skipped else ".")
    )
    if request.htmx:
        context = _context(request, access, QueryDict(request.POST.get("filter_query", "")))
        context["result"] = {"error": bool(error), "message": message}
        return render(request, "generations/review/grid.html#grid", context)
    (messages.error if error else messages.success)(request, message)
    back = reverse("take_grid", args=[slug])
    query = request.POST.get("filter_query", "")
    return redirect(f"{back}?{query}" if query else back)
