"""The review queue: one take at a time, judged from the keyboard.

Every action is a plain form POST that redirects back into the queue (works without JavaScript);
with htmx the same POST answers with the next take's stage and pushes its URL, so Back and reload
land on the take the reviewer was looking at."""

from datetime import UTC, datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import push_url

from ..access import get_project, get_take, get_version
from ..forms import NoteForm, ReviewForm
from ..models import FailureTag, Role
from ..selectors import checklist as checklist_selectors
from ..selectors import queue as queue_selectors
from ..selectors import takes as take_selectors
from ..services import projects as project_services
from ..services import reviews as review_services
from ..services.projects import ServiceError

STAGE = "generations/review/queue.html#stage"


def _since(query) -> datetime:
    """When this reviewing session opened (ms since the epoch in the URL), else now."""
    try:
        return datetime.fromtimestamp(int(query.get("since", "")) / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return timezone.now()


def _state(query) -> tuple[queue_selectors.QueueFilters, dict[str, str]]:
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


def _stage_context(request, access, filters, carry, take_id=None, *, last=None, form=None):
    project = access.project
    ids = queue_selectors.queue_ids(project=project, filters=filters)
    if take_id is None:
        take_id = ids[0] if ids else None
    take = queue_selectors.queue_take(project=project, take_id=take_id) if take_id else None
    if take_id and take is None:
        raise Http404("No such take in this project")
    position = queue_selectors.queue_position(ids, take.pk) if take else None
    tags = queue_selectors.tags_in_key_order(project=project)
    checked = queue_selectors.current_tag_slugs(take) if take else set()
    if form is not None and form.data.getlist("tags"):
        checked = set(form.data.getlist("tags"))
    link = lambda pk: queue_url(project.slug, carry, pk) if pk else ""  # noqa: E731
    return {
        "project": project,
        "access": access,
        "tab": "review",
        "take": take,
        "position": position,
        "prev_url": link(position.previous_id) if position else "",
        "next_url": link(position.next_id) if position else "",
        "carry": carry,
        "carry_query": urlencode(carry),
        "last": last,
        "keyed_tags": [
            (t, i + 1 if i < 9 else None, t.slug in checked) for i, t in enumerate(tags)
        ],
        "notes": take_selectors.take_notes(take=take) if take else [],
        "history": take_selectors.take_history(take=take)[:6] if take else [],
        "flicker": queue_selectors.flicker_hint(take) if take else None,
        "form": form
        or ReviewForm(initial={"seen_review": take.current_review_id if take else None}),
        "filters": filters,
    }


def _render_stage(request, context, status=200, push: str | None = None):
    response = render(request, STAGE, context, status=status)
    if push:
        push_url(response, push)
    return response


@login_required
@require_GET
def review_queue(request, slug):
    access = get_project(request, slug)
    filters, carry = _state(request.GET)
    take_id = None
    if request.GET.get("take"):
        try:
            take_id = int(request.GET["take"])
        except ValueError:
            raise Http404("No such take") from None
    last = request.GET.get("last") or None
    context = _stage_context(request, access, filters, carry, take_id, last=last)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, STAGE, context)
    context["choices"] = queue_selectors.queue_filter_choices(project=access.project)
    context["all_tags"] = FailureTag.objects.all()
    return render(request, "generations/review/queue.html", context)


def _carried(request) -> QueryDict:
    """The queue state a POST carries in its hidden `q` field."""
    return QueryDict(request.POST.get("q", ""))


@login_required
@require_POST
def review_verdict(request, slug, take_id):
    access, take = get_take(request, slug, take_id, "review")
    filters, carry = _state(_carried(request))
    form = ReviewForm(request.POST)
    error, status = None, 400
    if form.is_valid():
        data = form.cleaned_data
        # The review the reviewer saw is checked by the service, under the take's row lock.
        seen = data.get("seen_review") if "seen_review" in request.POST else review_services.ANY
        try:
            review_services.review_record(
                take=take,
                reviewer=request.user,
                verdict=data["verdict"],
                tags=data["tags"],
                expected_current=seen,
            )
        except review_services.StaleReview:
            status = 409
            error = (
                "Someone reviewed this take while you were looking: check the history, then "
                "judge again. Your verdict was not saved."
            )
        except ServiceError as exc:
            error = str(exc)
    else:
        error = "Choose accept or reject."
    if error:
        if not request.htmx:
            messages.error(request, error)
            return redirect(queue_url(slug, carry, take.pk))
        context = _stage_context(request, access, filters, carry, take.pk)
        context["error"] = error
        return _render_stage(request, context, status=status)
    # The order is stable within a session (see selectors.queue), so "next" is the neighbour.
    ids = queue_selectors.queue_ids(project=access.project, filters=filters)
    position = queue_selectors.queue_position(ids, take.pk)
    next_id = position.next_id or take.pk
    url = queue_url(slug, carry, next_id, last=take.pk)
    if not request.htmx:
        messages.success(request, f"{take.external_id}: {data['verdict']}.")
        return redirect(url)
    context = _stage_context(request, access, filters, carry, next_id, last=take.pk)
    if position.next_id is None:
        context["done"] = True
    return _render_stage(request, context, push=url)


@login_required
@require_POST
def review_undo(request, slug, take_id):
    """Undo the latest verdict on a take with a new review (history kept); show that take."""
    access, take = get_take(request, slug, take_id, "review")
    filters, carry = _state(_carried(request))
    latest = take.current_review
    error = None
    if latest is None or latest.verdict not in ("accept", "reject"):
        error = "There is no verdict to undo on this take."
    elif latest.reviewer_id != request.user.pk:
        error = "The latest verdict on this take is someone else's: judge it again instead."
    else:
        try:
            review_services.review_undo(take=take, reviewer=request.user)
        except ServiceError as exc:
            error = str(exc)
    url = queue_url(slug, carry, take.pk)
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Undid the verdict on {take.external_id}.")
        return redirect(url)
    context = _stage_context(request, access, filters, carry, take.pk)
    context["error"] = error
    context["undone"] = error is None
    return _render_stage(request, context, status=400 if error else 200, push=url)


@login_required
@require_POST
def review_note(request, slug, take_id):
    """A note at the playhead (N in the queue); htmx gets the notes panel back."""
    access, take = get_take(request, slug, take_id, "tag")
    filters, carry = _state(_carried(request))
    form = NoteForm(request.POST)
    error = None
    if form.is_valid():
        try:
            review_services.note_add(take=take, author=request.user, **form.note_fields())
        except ServiceError as exc:
            error = str(exc)
    else:
        error = "A note needs a time and some text."
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(queue_url(slug, carry, take.pk))
    context = {
        "project": access.project,
        "access": access,
        "take": take,
        "notes": take_selectors.take_notes(take=take),
        "carry_query": urlencode(carry),
        "keyed_tags": [
            (t, None, False) for t in queue_selectors.tags_in_key_order(project=access.project)
        ],
        "note_error": error,
    }
    return render(
        request, "generations/review/queue.html#notes", context, status=400 if error else 200
    )


def _may_order_tags(access) -> bool:
    return access.membership.is_owner or access.membership.role == Role.LEAD


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
        if not _may_order_tags(access):
            raise PermissionDenied("Only leads and owners set the review keys.")
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
            "may_edit": _may_order_tags(access),
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
