from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ..access import get_take, get_version
from ..forms import NoteForm, ReviewForm, TakeUploadForm
from ..models import FailureTag
from ..models.takes import CostSource
from ..selectors import takes as take_selectors
from ..services import takes as take_services


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
            if _wants_json(request):
                return _upload_answer(created, rejected, form)
            if created:
                messages.success(
                    request,
                    f"Uploaded {len(created)} take{'s' if len(created) != 1 else ''}; "
                    "posters are being made.",
                )
                unknown = sum(1 for t in created if t.cost_source == CostSource.UNKNOWN)
                if unknown:
                    # Not free: the cost is unknown until the model has a price.
                    messages.warning(
                        request,
                        f"{data['model']} has no price: the cost of {unknown} take"
                        f"{'s' if unknown != 1 else ''} is unknown and not in the spend. "
                        "A producer can set its price on the Budget page.",
                    )
            if not rejected:
                return redirect(version)
    if request.method == "POST" and _wants_json(request):
        return _upload_answer([], rejected, form)
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


def _wants_json(request) -> bool:
    """The upload page's script sends one file per request and reads a JSON answer (to show
    each file's progress and outcome); the plain form gets the HTML page."""
    return request.headers.get("Accept", "").startswith("application/json")


def _upload_answer(created, rejected, form) -> JsonResponse:
    errors = [
        f"{form[name].label if name in form.fields else 'Upload'}: {e}"
        for name, es in form.errors.items()
        for e in es
    ]
    return JsonResponse(
        {
            "created": [
                {"id": t.pk, "external_id": t.external_id, "url": t.get_absolute_url()}
                for t in created
            ],
            "rejected": rejected,
            "errors": errors,
        },
        status=400 if (rejected or errors) and not created else 200,
    )


def take_context(request, access, take, form=None, note_form=None):
    history = list(take_selectors.take_history(take=take))
    latest = history[0] if history else None
    if form is None:
        # The form starts from the current verdict and its tags: changing one tag is one click.
        current_tags = (
            [t.slug for t in latest.failure_tags.all()]
            if latest and take.current_verdict == "reject"
            else []
        )
        form = ReviewForm(
            initial={
                "seen_review": take.current_review_id,
                "verdict": take.current_verdict or None,
                "tags": current_tags,
            }
        )
    return {
        "project": access.project,
        "access": access,
        "page": "take",
        "shot": take.shot,
        "version": take.prompt_version,
        "take": take,
        "history": history,
        "notes": take_selectors.take_notes(take=take),
        "tags": FailureTag.objects.all(),
        "note_tags": FailureTag.objects.all(),
        "form": form,
        "note_form": note_form or NoteForm(),
        # Undo takes back your own latest act only (the rule lives in review_undo).
        "may_undo": bool(
            latest
            and latest.reviewer_id == request.user.pk
            and latest.verdict in ("accept", "reject")
        ),
    }


@login_required
@require_GET
def take_detail(request, slug, take_id):
    access, take = get_take(request, slug, take_id)
    context = take_context(request, access, take)
    part = request.GET.get("part")
    if request.htmx and part == "status":
        return render(request, "generations/take_detail.html#status", context)
    if request.htmx and part == "notes":
        return render(request, "generations/review/_notes.html", context)
    return render(request, "generations/take_detail.html", context)
