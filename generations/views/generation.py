"""Generate from Dailies: the batch form with its live estimate, the version's takes section
(placeholders that turn into takes, polled by htmx), the project's batches with approval, and
cancel."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import providers
from ..access import get_batch, get_job, get_project, get_version
from ..forms import GenerationForm
from ..models import BatchStatus, Take, TakeStatus
from ..selectors import generation as selectors
from ..selectors import prompts as prompt_selectors
from ..services import generation as gen
from ..services.projects import ServiceError

FORM = "generations/generation_form.html"
TAKES = "generations/version_detail.html#takes"
# While anything is on its way the section polls itself; the browser stops when it is done.
POLL_EVERY = "every 2s"


def _regenerating(request, version) -> Take | None:
    take_id = request.POST.get("take") or request.GET.get("take")
    if not take_id:
        return None
    try:
        return version.takes.get(pk=int(take_id))
    except (ValueError, Take.DoesNotExist):
        raise Http404("No such take on this version") from None


def _initial(version, take: Take | None) -> dict:
    initial = {"negative_prompt": version.negative_prompt}
    if take is None:
        return initial
    # Regenerate: the take's model, duration, aspect and seed, and the overrides it was made with.
    params = take.parameters or {}
    for cls in providers.configured():
        spec = cls.model(take.model)
        if spec is not None and params.get("provider", cls.name) == cls.name:
            initial["model"] = f"{cls.name}|{spec.id}"
            overrides = {k: v for k, v in params.items() if k in spec.parameters}
            if overrides:
                initial["parameters"] = overrides
            break
    if params.get("duration_s"):
        initial["duration_s"] = params["duration_s"]
    if params.get("aspect"):
        initial["aspect"] = params["aspect"]
    if take.seed is not None:
        initial.update(seed_mode="fixed", seeds=str(take.seed), count=1)
    return initial


def _estimate_context(project, form: GenerationForm) -> dict:
    """The estimate beside the budget left, for whatever the form holds so far."""
    state = gen.budget_state(project=project)
    context = {"budget": state, "estimate": None, "estimate_error": "", "model_spec": None}
    data = form.data if form.is_bound else form.initial
    provider, _, model = str(data.get("model") or "").partition("|")
    try:
        count = int(data.get("count") or form.fields["count"].initial)
        duration = int(data.get("duration_s") or form.fields["duration_s"].initial)
    except (TypeError, ValueError):
        return context
    try:
        context["model_spec"] = providers.adapter_class(provider).model(model)
    except providers.NotConfigured:
        return context
    if context["model_spec"] is None:
        return context
    try:
        context["estimate"] = gen.estimate(
            project=project, model=model, duration_s=duration, count=count
        )
    except gen.BatchRefused as exc:
        context["estimate_error"] = str(exc)
    context["count"], context["duration"] = count, duration
    return context


@login_required
@require_http_methods(["GET", "POST"])
def generation_new(request, slug, version_id):
    access, version = get_version(request, slug, version_id, "generate")
    take = _regenerating(request, version)
    choices = selectors.model_choices()
    if request.method == "POST":
        form = GenerationForm(request.POST, choices=choices)
        if form.is_valid():
            data = form.cleaned_data
            provider, model = form.provider_model()
            spec = gen.BatchSpec(
                provider=provider,
                model=model,
                count=data["count"],
                duration_s=data["duration_s"],
                aspect=data["aspect"],
                negative_prompt=data["negative_prompt"],
                seeds=data["seeds"] if data["seed_mode"] == "fixed" else None,
                parameters=data["parameters"],
            )
            try:
                target = version
                if data["new_version"] and take is not None:
                    # Validate first: a refused batch must not leave a new version behind.
                    gen.batch_validate(spec=spec, prompt=version.text)
                    target = gen.batch_regenerate_version(
                        take=take,
                        author=request.user,
                        negative_prompt=data["negative_prompt"],
                        parameters=data["parameters"],
                    )
                batch = gen.batch_create(
                    version=target, spec=spec, requested_by=request.user, regenerated_from=take
                )
            except gen.BatchRefused as exc:
                form.add_error(None, str(exc))
            else:
                if batch.status == BatchStatus.AWAITING_APPROVAL:
                    messages.info(
                        request,
                        f"The batch (${batch.estimate_usd:,.2f}) is above this project's "
                        "approval threshold: it waits for a producer.",
                    )
                else:
                    messages.success(
                        request, f"{batch.count} take{'s' if batch.count != 1 else ''} on the way."
                    )
                return redirect(target)
    else:
        form = GenerationForm(initial=_initial(version, take), choices=choices)
    context = {
        "project": access.project,
        "access": access,
        "shot": version.shot,
        "version": version,
        "take": take,
        "form": form,
        "providers_configured": bool(choices),
        **_estimate_context(access.project, form),
    }
    return render(request, FORM, context, status=400 if form.errors else 200)


@login_required
@require_GET
def generation_estimate(request, slug, version_id):
    """The estimate panel, refreshed by htmx as the form changes."""
    access, version = get_version(request, slug, version_id, "generate")
    form = GenerationForm(request.GET or None, choices=selectors.model_choices())
    context = {"project": access.project, "version": version, "form": form}
    return render(
        request, f"{FORM}#estimate", {**context, **_estimate_context(access.project, form)}
    )


def takes_context(version) -> dict:
    placeholders = selectors.version_placeholders(version=version)
    takes = list(prompt_selectors.version_takes(version=version))
    # A finished job's take still has its poster to make: keep polling until it is ready, or
    # the grid would stop on a card without a picture.
    waiting = any(job.is_pending for job in placeholders) or any(
        take.status == TakeStatus.PROCESSING for take in takes
    )
    return {"takes": takes, "placeholders": placeholders, "poll": POLL_EVERY if waiting else ""}


@login_required
@require_GET
def version_takes(request, slug, version_id):
    """The version's takes section: placeholders for jobs on their way, then the takes."""
    access, version = get_version(request, slug, version_id)
    context = {
        "project": access.project,
        "access": access,
        "version": version,
        **takes_context(version),
    }
    return render(request, TAKES, context)


@login_required
@require_GET
def generation_batches(request, slug):
    access = get_project(request, slug)
    return render(
        request,
        "generations/generation_batches.html",
        {
            "project": access.project,
            "access": access,
            "batches": selectors.project_batches(project=access.project),
            "budget": gen.budget_state(project=access.project),
        },
    )


def _back(request, fallback: str, slug: str):
    # Only our own pages: a POST's "next" is never an open redirect.
    target = request.POST.get("next", "")
    if target.startswith(f"/projects/{slug}/") and "//" not in target:
        return redirect(target)
    return redirect(fallback, slug)


@login_required
@require_POST
def generation_batch_approve(request, slug, batch_id):
    access, batch = get_batch(request, slug, batch_id, "budget")
    try:
        gen.batch_approve(batch=batch, producer=request.user)
        messages.success(request, f"Approved: {batch.count} takes on the way.")
    except ServiceError as exc:
        messages.error(request, str(exc))
    return _back(request, "generation_batches", slug)


@login_required
@require_POST
def generation_batch_reject(request, slug, batch_id):
    access, batch = get_batch(request, slug, batch_id, "budget")
    try:
        gen.batch_reject(batch=batch, producer=request.user)
        messages.success(request, "Batch rejected; nothing was spent.")
    except ServiceError as exc:
        messages.error(request, str(exc))
    return _back(request, "generation_batches", slug)


@login_required
@require_POST
def generation_batch_cancel(request, slug, batch_id):
    access, batch = get_batch(request, slug, batch_id, "generate")
    cancelled = gen.batch_cancel(batch=batch)
    messages.success(request, f"Cancelled {cancelled} job{'s' if cancelled != 1 else ''}.")
    return _back(request, "generation_batches", slug)


@login_required
@require_POST
def generation_job_cancel(request, slug, job_id):
    access, job = get_job(request, slug, job_id, "generate")
    if not gen.job_cancel(job=job):
        messages.info(request, "That job had already finished.")
    if request.htmx:
        context = {
            "project": access.project,
            "access": access,
            "version": job.prompt_version,
            **takes_context(job.prompt_version),
        }
        return render(request, TAKES, context)
    return redirect(job.prompt_version)
