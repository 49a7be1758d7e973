"""The prompt library as files in the browser: every member downloads it as a ZIP of YAML files
(one per shot), leads and owners upload one back to add the versions it holds."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from ..access import get_project
from ..forms import PromptLibraryUploadForm
from ..prompt_files import LibraryError, read_zip, zip_bytes
from ..selectors.prompt_library import prompt_library_files
from ..services.prompt_library import prompt_library_import


@login_required
@require_GET
def prompt_library_download(request, slug):
    access = get_project(request, slug)
    data = zip_bytes(prompt_library_files(project=access.project))
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{access.project.slug}-prompts.zip"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def prompt_library(request, slug):
    access = get_project(request, slug)
    form = PromptLibraryUploadForm()
    problems: list[str] = []
    if request.method == "POST":
        access.require("write_prompts")
        form = PromptLibraryUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                files = read_zip(form.cleaned_data["library"])
                report = prompt_library_import(
                    project=access.project, files=files, author=request.user
                )
            except LibraryError as exc:
                problems = exc.problems
            else:
                messages.success(
                    request,
                    f"Imported {report.created} new version(s) and "
                    f"{len(report.shots_created)} new shot(s); "
                    f"{report.unchanged} version(s) were already here.",
                )
                return redirect("prompt_library", slug)
    return render(
        request,
        "generations/prompt_library.html",
        {
            "project": access.project,
            "access": access,
            "form": form,
            "problems": problems[:50],
            "more_problems": max(0, len(problems) - 50),
        },
        status=400 if (problems or form.errors) else 200,
    )
