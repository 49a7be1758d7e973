"""Web import of a manifest: upload on the project page, a progress bar while a worker imports
it, and the refused lines as a CSV afterwards. Owners only."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from ..access import get_manifest_import, get_project
from ..forms import ManifestImportForm
from ..manifest.report import errors_csv
from ..services import manifest_imports as import_services

TEMPLATE = "generations/manifest_import.html"


@login_required
@require_POST
def manifest_import_create(request, slug):
    access = get_project(request, slug, "import")
    form = ManifestImportForm(request.POST, request.FILES)
    if not form.is_valid():
        reasons = " ".join(form.errors.get("file", []))
        messages.error(request, reasons or "Choose a manifest file (.jsonl) to import.")
        return redirect("project_detail", slug)
    try:
        job = import_services.manifest_import_create(
            project=access.project, user=request.user, upload=form.cleaned_data["file"]
        )
    except import_services.ImportRejected as exc:
        messages.error(request, str(exc))
        return redirect("project_detail", slug)
    messages.success(request, f"Importing {job.original_filename}: {job.total_lines:,} lines.")
    return redirect("manifest_import_detail", slug, job.pk)


@login_required
@require_GET
def manifest_import_detail(request, slug, import_id):
    """The job's page; htmx polls its progress partial every second while it runs."""
    access, job = get_manifest_import(request, slug, import_id)
    context = {
        "project": access.project,
        "access": access,
        "job": job,
        "status": import_services.manifest_import_status(job=job),
        "warnings": (job.report or {}).get("warnings", []),
        "errors_preview": (job.report or {}).get("errors", [])[:20],
    }
    template = f"{TEMPLATE}#progress" if request.htmx else TEMPLATE
    return render(request, template, context)


@login_required
@require_GET
def manifest_import_errors(request, slug, import_id):
    """Every refused line with its number and reason, as CSV."""
    _access, job = get_manifest_import(request, slug, import_id)
    response = HttpResponse(
        errors_csv((job.report or {}).get("errors", [])), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response
