"""Review actions: the verdict, undo and note POSTs of both the review queue and the take page.

One view per act. The form says which page it came from (a hidden `page` field): a queue form
also carries the queue's state in `q` and is answered with the next take's stage (htmx) or a
redirect back into the queue; a take-page form is answered with the take page's panels. Without
JavaScript every answer is a redirect (or, for a refused take-page form, the page with its
errors), so the forms work as plain HTML."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from ..access import get_take
from ..forms import NoteForm, ReviewForm
from ..selectors import queue as queue_selectors
from ..selectors import takes as take_selectors
from ..services import reviews as review_services
from ..services.projects import ServiceError
from .queue import queue_state, queue_url, render_stage, stage_context
from .takes import take_context

NOTES = "generations/review/_notes.html"
TAKE_PAGE = "generations/take_detail.html"


def _from_queue(request) -> bool:
    return request.POST.get("page") == "queue"


def _queue_state(request):
    """The queue state a queue form carries in its hidden `q` field."""
    return queue_state(QueryDict(request.POST.get("q", "")))


def _seen(request, form):
    """The current review the reviewer saw (checked by the service under the take's lock)."""
    if "seen_review" not in request.POST:
        return review_services.ANY
    return form.cleaned_data.get("seen_review")


@login_required
@require_POST
def review_verdict(request, slug, take_id):
    """Accept or reject a take (with failure tags, and on the take page a comment and a note)."""
    access, take = get_take(request, slug, take_id, "review")
    # Read before the verdict: a session without `since` starts now, before this verdict, so
    # the take just judged keeps its place and "next" is its neighbour.
    state = _queue_state(request) if _from_queue(request) else None
    form = ReviewForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        try:
            review_services.review_record(
                take=take,
                reviewer=request.user,
                verdict=data["verdict"],
                tags=data["tags"],
                notes=form.notes(),
                comment=data["comment"],
                expected_current=_seen(request, form),
            )
        except review_services.StaleReview as exc:
            form.add_error(None, str(exc))
            status = 409
        except ServiceError as exc:
            form.add_error(None, str(exc))
    error = form.first_error() if form.errors else None
    if state is not None:
        return _verdict_in_queue(request, access, take, form, error, status, state)
    return _verdict_on_take_page(request, access, take, form, error, status)


def _verdict_in_queue(request, access, take, form, error, status, state):
    slug = access.project.slug
    filters, carry = state
    if error:
        if not request.htmx:
            messages.error(request, error)
            return redirect(queue_url(slug, carry, take.pk))
        context = stage_context(request, access, filters, carry, take.pk, form=form)
        context["error"] = error
        return render_stage(request, context, status=status)
    # The order is stable within a session (see selectors.queue), so "next" is the neighbour.
    ids = queue_selectors.queue_ids(project=access.project, filters=filters)
    position = queue_selectors.queue_position(ids, take.pk)
    next_id = position.next_id or take.pk
    url = queue_url(slug, carry, next_id, last=take.pk)
    if not request.htmx:
        messages.success(request, f"{take.external_id}: {form.cleaned_data['verdict']}.")
        return redirect(url)
    context = stage_context(request, access, filters, carry, next_id, last=take.pk)
    if position.next_id is None:
        context["done"] = True
    return render_stage(request, context, push=url)


def _verdict_on_take_page(request, access, take, form, error, status):
    take.refresh_from_db()
    if error:
        if status == 409:
            # Show what is current now, and let the reviewer submit again against it.
            form.data = form.data.copy()
            form.data["seen_review"] = take.current_review_id or ""
        context = take_context(request, access, take, form=form)
        template = "generations/take_detail.html" + ("#review" if request.htmx else "")
        return render(request, template, context, status=status)
    if request.htmx:
        context = take_context(request, access, take)
        response = render(request, "generations/take_detail.html#review", context)
        return trigger_client_event(response, "review-saved", {"take": take.pk})
    messages.success(request, f"Saved: {form.cleaned_data['verdict']}.")
    return redirect(take)


@login_required
@require_POST
def review_undo(request, slug, take_id):
    """Undo your own latest verdict with a new review (history kept); show that take."""
    access, take = get_take(request, slug, take_id, "review")
    state = _queue_state(request) if _from_queue(request) else None
    error = None
    try:
        review_services.review_undo(take=take, reviewer=request.user)
    except ServiceError as exc:
        error = str(exc)
    if state is not None:
        filters, carry = state
        url = queue_url(slug, carry, take.pk)
        if request.htmx:
            context = stage_context(request, access, filters, carry, take.pk)
            context["error"] = error
            context["undone"] = error is None
            return render_stage(request, context, status=400 if error else 200, push=url)
    else:
        url = take.get_absolute_url()
        if request.htmx:
            take.refresh_from_db()
            context = take_context(request, access, take)
            context["undo_error"] = error
            status = 400 if error else 200
            response = render(request, f"{TAKE_PAGE}#review", context, status=status)
            return response if error else trigger_client_event(response, "review-saved", {})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Undid the verdict on {take.external_id}.")
    return redirect(url)


@login_required
@require_POST
def review_note(request, slug, take_id):
    """A time-coded note (N in the queue); htmx gets the shared notes panel back."""
    access, take = get_take(request, slug, take_id, "tag")
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            review_services.note_add(take=take, author=request.user, **form.note_fields())
        except ServiceError as exc:
            form.add_error(None, str(exc))
    queue = _from_queue(request)
    if request.htmx:
        context = notes_context(request, access, take, page="queue" if queue else "take")
        context["note_form"] = form if form.errors else NoteForm()
        return render(request, NOTES, context, status=400 if form.errors else 200)
    if queue:
        _filters, carry = _queue_state(request)
        url = queue_url(slug, carry, take.pk)
    else:
        if form.errors:
            context = take_context(request, access, take, note_form=form)
            return render(request, "generations/take_detail.html", context, status=400)
        url = take.get_absolute_url()
    if form.errors:
        messages.error(request, form.first_error())
    else:
        messages.success(request, "Note added.")
    return redirect(url)


def notes_context(request, access, take, *, page: str) -> dict:
    """What the shared notes panel (_notes.html) needs, for either page."""
    context = {
        "project": access.project,
        "access": access,
        "take": take,
        "page": page,
        "notes": take_selectors.take_notes(take=take),
        "note_tags": queue_selectors.tags_in_key_order(project=access.project),
    }
    if page == "queue":
        _filters, carry = _queue_state(request)
        context["carry_query"] = urlencode(carry)
    return context
