from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..access import get_project, get_shot, get_version
from ..forms import PromptVersionForm, ShotForm
from ..models import FailureTag, PromptVersion
from ..selectors import prompts as prompt_selectors
from ..services import projects as project_services
from ..services import prompts as prompt_services
from .generation import takes_context
from .projects import project_overview_context


@login_required
@require_POST
def shot_create(request, slug):
    access = get_project(request, slug, "write_prompts")
    form = ShotForm(request.POST, project=access.project)
    if form.is_valid():
        shot = project_services.shot_create(project=access.project, **form.cleaned_data)
        messages.success(request, f"Shot {shot.name} added. Write its first prompt.")
        return redirect("version_create", slug, shot.pk)
    context = project_overview_context(access, shot_form=form)
    return render(request, "generations/project_detail.html", context, status=400)


def _depths(versions: list[PromptVersion]) -> dict[int, int]:
    """Indentation of each version in the lineage tree (depth from its root)."""
    by_id = {v.pk: v for v in versions}
    depth: dict[int, int] = {}
    for v in versions:  # sorted by number: a parent always comes before its children
        depth[v.pk] = depth.get(v.parent_id, -1) + 1 if v.parent_id in by_id else 0
    return depth


@login_required
@require_GET
def shot_detail(request, slug, shot_id):
    access, shot = get_shot(request, slug, shot_id)
    versions = prompt_selectors.shot_lineage(shot=shot)
    depth = _depths(versions)
    for v in versions:
        v.depth = min(depth[v.pk], 8)
    return render(
        request,
        "generations/shot_detail.html",
        {"project": access.project, "access": access, "shot": shot, "versions": versions},
    )


@login_required
@require_http_methods(["GET", "POST"])
def version_create(request, slug, shot_id):
    access, shot = get_shot(request, slug, shot_id, "write_prompts")
    parent = None
    parent_id = request.POST.get("parent") or request.GET.get("from")
    if parent_id:
        try:
            parent = shot.versions.get(pk=int(parent_id))
        except (ValueError, PromptVersion.DoesNotExist):
            raise Http404("No such version in this shot") from None
    if request.method == "POST":
        form = PromptVersionForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            version = prompt_services.prompt_version_create(
                shot=shot,
                parent=parent,
                author=request.user,
                text=data["text"],
                negative_prompt=data["negative_prompt"],
                parameters=data["parameters"],
                change_note=data["change_note"],
            )
            messages.success(request, f"Saved {version.label}.")
            return redirect(version)
    else:
        initial = {}
        if parent is not None:
            # Iterating: start from the parent's text and parameters.
            initial = {
                "text": parent.text,
                "negative_prompt": parent.negative_prompt,
                "parameters": parent.parameters,
                "parent": parent.pk,
            }
        form = PromptVersionForm(initial=initial)
    return render(
        request,
        "generations/version_form.html",
        {"project": access.project, "access": access, "shot": shot, "parent": parent, "form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def version_detail(request, slug, version_id):
    access, version = get_version(request, slug, version_id)
    shot = version.shot
    against = version.parent
    if request.GET.get("against"):
        try:
            against = shot.versions.get(pk=int(request.GET["against"]))
        except (ValueError, PromptVersion.DoesNotExist):
            raise Http404("No such version in this shot") from None
    diff = prompt_selectors.word_diff(against.text, version.text) if against else None
    negative_diff = (
        prompt_selectors.word_diff(against.negative_prompt, version.negative_prompt)
        if against
        else None
    )
    params_diff = (
        prompt_selectors.parameters_diff(against.parameters, version.parameters) if against else []
    )
    return render(
        request,
        "generations/version_detail.html",
        {
            "project": access.project,
            "access": access,
            "shot": shot,
            "version": version,
            "against": against,
            # "Compare with" picks each version's latest take: only offered when it has one.
            "against_has_takes": bool(against and against.takes.exists()),
            "diff": diff,
            "negative_diff": negative_diff,
            "params_diff": params_diff,
            # shot_id too: the related manager reads it on every row, a query each if deferred.
            "siblings": shot.versions.order_by("number").only("id", "number", "shot_id"),
            # The takes, and placeholders for generation jobs on their way (polled by htmx).
            **takes_context(version),
            "tags": FailureTag.objects.all(),
        },
    )
