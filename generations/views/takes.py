from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from ..access import get_take, get_version
from ..forms import NoteForm, ReviewForm, TakeUploadForm
from ..models import FailureTag
from ..selectors import takes as take_selectors
from ..services import reviews as review_services
from ..services import takes as take_services
from ..services.projects import ServiceError
from ..services.reviews import NoteInput


@login_required
@require_http_methods(["GET", "POST"])
def take_upload(request, slug, version_id):
    access, version = get_version(request, slug, version_id, "upload")
    form = TakeUploadForm()
    rejected: list[str] = []
    if request.method == "POST":
        form = TakeUploadForm(request.POST, request.FILES)
        # Files over the cap were dropped while streaming in (generations.uploads).
        rejected = [
            f"{name}: over the {settings.DAILIES_MAX_UPLOAD_BYTES / 1_048_576:,.1f} MB limit."
            for name in getattr(request, "oversize_uploads", [])
        ]
        if not form.is_valid() and rejected and list(form.errors) == ["files"]:
            form.errors.pop("files")  # "choose a file" would hide the real reason above
        elif form.is_valid():
            data = form.cleaned_data
            # Sniff every file first, then store the good ones: a bad file never blocks the
            # good ones, and a refused file leaves nothing behind.
            checked = []
            for upload in data["files"]:
                try:
                    checked.append((upload, take_services.take_probe_upload(upload)))
                except take_services.UploadRejected as exc:
                    rejected.append(str(exc))
            created = [
                take_services.take_register_upload(
                    version=version,
                    upload=upload,
                    info=info,
                    model=data["model"],
                    uploader=request.user,
                    pass_number=data["pass_number"],
                    reported_cost=data["cost_usd"],
                    seed=data["seed"],
                )
                for upload, info in checked
            ]
            if created:
                messages.success(
                    request,
                    f"Uploaded {len(created)} take{'s' if len(created) != 1 else ''}; "
                    "posters are being made.",
                )
            if not rejected:
                return redirect(version)
    return render(
        request,
        "generations/take_upload.html",
        {
            "project": access.project,
            "access": access,
            "shot": version.shot,
            "version": version,
            "form": form,
            "rejected": rejected,
            "max_mb": settings.DAILIES_MAX_UPLOAD_MB,
            "known_models": take_selectors.known_models(project=access.project),
        },
        status=400 if (form.errors or rejected) else 200,
    )


def _take_context(request, access, take, form=None, note_form=None):
    return {
        "project": access.project,
        "access": access,
        "shot": take.shot,
        "version": take.prompt_version,
        "take": take,
        "history": take_selectors.take_history(take=take),
        "notes": take_selectors.take_notes(take=take),
        "tags": FailureTag.objects.all(),
        "form": form or ReviewForm(initial={"seen_review": take.current_review_id}),
        "note_form": note_form or NoteForm(),
    }


@login_required
@require_GET
def take_detail(request, slug, take_id):
    access, take = get_take(request, slug, take_id)
    context = _take_context(request, access, take)
    part = request.GET.get("part")
    if request.htmx and part in ("status", "notes"):
        return render(request, f"generations/take_detail.html#{part}", context)
    return render(request, "generations/take_detail.html", context)


@login_required
@require_POST
def review_create(request, slug, take_id):
    access, take = get_take(request, slug, take_id, "review")
    form = ReviewForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        notes = []
        if data.get("note_text"):
            notes.append(
                NoteInput(
                    seconds=float(data["note_seconds"]),
                    text=data["note_text"],
                    tag_slug=data.get("note_tag") or "",
                )
            )
        # The form carries the review the reviewer saw; the service checks it under the lock.
        seen = data.get("seen_review") if "seen_review" in request.POST else review_services.ANY
        try:
            with transaction.atomic():
                review_services.review_record(
                    take=take,
                    reviewer=request.user,
                    verdict=data["verdict"],
                    tags=data["tags"],
                    notes=notes,
                    comment=data["comment"],
                    expected_current=seen,
                )
        except review_services.StaleReview as exc:
            form.add_error(None, str(exc))
            take.refresh_from_db()
            form.data = form.data.copy()
            form.data["seen_review"] = take.current_review_id
            status = 409
        except ServiceError as exc:
            form.add_error(None, str(exc))
        else:
            take.refresh_from_db()
            if request.htmx:
                context = _take_context(request, access, take)
                response = render(request, "generations/take_detail.html#review", context)
                return trigger_client_event(response, "review-saved", {"take": take.pk})
            messages.success(request, f"Saved: {data['verdict']}.")
            return redirect(take)
    context = _take_context(request, access, take, form=form)
    template = "generations/take_detail.html" + ("#review" if request.htmx else "")
    return render(request, template, context, status=status)


@login_required
@require_POST
def note_create(request, slug, take_id):
    access, take = get_take(request, slug, take_id, "tag")
    form = NoteForm(request.POST)
    if form.is_valid():
        try:
            review_services.note_add(take=take, author=request.user, **form.note_fields())
        except ServiceError as exc:
            form.add_error(None, str(exc))
    if request.htmx:
        context = _take_context(request, access, take, note_form=form if form.errors else None)
        return render(
            request,
            "generations/take_detail.html#notes",
            context,
            status=400 if form.errors else 200,
        )
    if form.errors:
        context = _take_context(request, access, take, note_form=form)
        return render(request, "generations/take_detail.html", context, status=400)
    messages.success(request, "Note added.")
    return redirect(take)
