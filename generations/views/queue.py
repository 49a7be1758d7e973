"""The review queue: one take at a time, judged from the keyboard.

The queue's verdict, undo and note forms post to the review actions shared with the take page
(views/reviews.py), which answer a queue form with the next take's stage (htmx) or a redirect
back into the queue (no JavaScript), using the helpers here."""

from datetime import UTC, datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import push_url

from ..access import get_project, get_version
from ..forms import ReviewForm
from ..models import FailureTag
from ..selectors import checklist as checklist_selectors
from ..selectors import queue as queue_selectors
from ..services import projects as project_services

STAGE = "generations/review/queue.html#stage"


def _since(query) -> datetime:
    """When this reviewing session opened (ms since the epoch in the URL), else now."""
    try:
        return datetime.fromtimestamp(int(query.get("since", "")) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return timezone.now()


def queue_state(query) -> tuple[queue_selectors.QueueFilters, dict[str, str]]:
    """The queue's filters and the parameters every link and form of the session carries."""
    since = _since(query)
    filters = queue_selectors.QueueFilters.from_query(query, since=since)
    carry = {**filters.params, "since": str(int(since.timestamp() * 1000))}
    return filters, carry


def queue_url(slug: str, carry: dict[str, str], take_id: int | None = None, **extra) -> str:
    params = dict(carry)
    if take_id:
        params["take"] = str(take_id)
    params.update({k: str(v) for k, v in extra.items() if v})
    return f"{reverse('review_queue', args=[slug])}?{urlencode(params)}"


def stage_context(request, access, filters, carry, take_id=None, *, last=None, form=None):
    """The queue stage's template context for `take_id` (default: the queue's first take)."""
    project = access.project
    tags = form.data.getlist("tags") if form is not None and form.data else []
    checked = set(tags) if tags else None
    stage = queue_selectors.queue_stage(
        project=project, filters=filters, take_id=take_id, checked=checked
    )
    if stage is None:
        raise Http404("No such take in this project")
    take, position = stage.take, stage.position
    link = lambda pk: queue_url(project.slug, carry, pk) if pk else ""  # noqa: E731
    return {
        "project": project,
        "access": access,
        "tab": "review",
        "page": "queue",
        "stage": stage,
        "take": take,
        "position": position,
        "prev_url": link(position.previous_id) if position else "",
        "next_url": link(position.next_id) if position else "",
        "carry": carry,
        "carry_query": urlencode(carry),
        "last": last,
        "keyed_tags": stage.keyed_tags,
        "notes": stage.notes,
        "note_tags": [t for t, _key, _on in stage.keyed_tags],
        "history": stage.history,
        "flicker": stage.flicker,
        "form": form
        or ReviewForm(initial={"seen_review": take.current_review_id if take else None}),
        "filters": filters,
    }


def render_stage(request, context, status=200, push: str | None = None):
    response = render(request, STAGE, context, status=status)
    if push:
        push_url(response, push)
    return response


@login_required
@require_GET
def review_queue(request, slug):
    access = get_project(request, slug)
    filters, carry = queue_state(request.GET)
    take_id = None
    if request.GET.get("take"):
        try:
            take_id = int(request.GET["take"])
        except ValueError:
            raise Http404("No such take") from None
    last = request.GET.get("last") or None
    context = stage_context(request, access, filters, carry, take_id, last=last)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, STAGE, context)
    context["choices"] = queue_selectors.queue_filter_choices(
        project=access.project, filters=filters
    )
    context["all_tags"] = FailureTag.objects.all()
    return render(request, "generations/review/queue.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def review_settings(request, slug):
    """Leads and owners choose which failure tags keys 1–9 toggle, in which order."""
    access = get_project(request, slug)
    project = access.project
    tags = queue_selectors.tags_in_key_order(project=project)
    known = {t.slug for t in tags}
    error = None
    if request.method == "POST":
        access.require("review_keys")
        slugs = [request.POST.get(f"key_{i}", "").strip() for i in range(1, 10)]
        chosen = [s for s in slugs if s]
        if any(s not in known for s in chosen):
            error = "Choose tags from the taxonomy."
        elif len(set(chosen)) != len(chosen):
            error = "Each tag can be on one key only."
        else:
            project_services.project_set_tag_order(project=project, slugs=chosen)
            messages.success(request, "Review keys saved.")
            return redirect("review_settings", slug)
    return render(
        request,
        "generations/review/settings.html",
        {
            "project": project,
            "access": access,
            "tab": "review",
            "tags": tags,
            "keys": [(i + 1, tags[i].slug if i < len(tags) else "") for i in range(9)],
            "may_edit": access.can("review_keys"),
            "error": error,
        },
        status=400 if error else 200,
    )


@login_required
@require_GET
def version_checklist(request, slug, version_id):
    """The practitioners' checklist for a prompt, with the project's evidence per item. Loaded
    into the prompt version page by htmx; a plain page without JavaScript."""
    access, version = get_version(request, slug, version_id)
    context = {
        "project": access.project,
        "access": access,
        "shot": version.shot,
        "version": version,
        "items": checklist_selectors.version_checklist(version=version),
        "min_reviewed": checklist_selectors.MIN_REVIEWED,
    }
    if request.htmx:
        return render(request, "generations/review/checklist.html#checklist", context)
    return render(request, "generations/review/checklist.html", context)
