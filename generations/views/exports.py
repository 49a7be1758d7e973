import shutil
import tempfile
import zipfile

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from ..access import get_project
from ..manifest.export import manifest_lines
from ..models import Shot
from ..selectors.selects import (
    FORMATS,
    media_filename,
    selects_file,
    selects_filename,
    selects_takes,
    selects_timeline,
)


@login_required
@require_GET
def manifest_export(request, slug):
    """The project as a generation manifest (JSONL), streamed: the same format import reads."""
    access = get_project(request, slug, "export")
    lines = (line + "\n" for line in manifest_lines(project=access.project))
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{access.project.slug}.jsonl"'
    return response


@login_required
@require_GET
def selects_export(request, slug):
    """The accepted takes as an edit timeline (?format=otio|edl|xml|fcpxml, optional ?shot=id)."""
    access = get_project(request, slug, "export")
    project = access.project
    format = request.GET.get("format", "otio")
    shot = _shot(request, project)
    if format not in FORMATS:
        return _refuse(request, project, shot, f"Unknown format {format!r}: use {_CHOICES}.")
    timeline = selects_timeline(project=project, shot=shot, base_url=_base_url(request))
    if not timeline.find_clips():
        where = f"shot {shot.name}" if shot else project.name
        return _refuse(request, project, shot, f"No accepted takes in {where}: nothing to export.")
    body = selects_file(timeline=timeline, format=format)
    response = HttpResponse(body.encode("utf-8"), content_type=FORMATS[format].content_type)
    name = selects_filename(project=project, shot=shot, format=format)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def selects_media(request, slug):
    """The selects' stored media as one ZIP (optional ?shot=id), each file named as the exported
    timelines reference it: unzip next to the .xml/.fcpxml/.edl/.otio and relink by name.
    Video is already compressed, so entries are stored, not deflated. Imported takes that only
    have a provider URL are not in it (the timelines keep that URL)."""
    access = get_project(request, slug, "export")
    project = access.project
    shot = _shot(request, project)
    takes = [t for t in selects_takes(project=project, shot=shot) if t.media]
    if not takes:
        where = f"shot {shot.name}" if shot else project.name
        return _refuse(
            request, project, shot, f"No accepted takes with stored media in {where}: no ZIP."
        )
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for take in takes:
            info = zipfile.ZipInfo(media_filename(take), date_time=take.created_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            with take.media.open("rb") as source, archive.open(info, "w", force_zip64=True) as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
    spool.seek(0)
    stem = selects_filename(project=project, shot=shot, format="otio").removesuffix(".otio")
    return FileResponse(
        spool, as_attachment=True, filename=f"{stem}-media.zip", content_type="application/zip"
    )


def _shot(request, project):
    if not request.GET.get("shot"):
        return None
    shot_id = request.GET["shot"]
    if not shot_id.isdigit():
        raise Http404("No such shot")
    return get_object_or_404(Shot, pk=shot_id, project=project)


_CHOICES = ", ".join(FORMATS)


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def _refuse(request, project, shot, message: str):
    # A page, not an empty file: the editor must see why nothing downloaded.
    return render(
        request,
        "generations/export_refused.html",
        {"project": project, "shot": shot, "message": message},
        status=400,
    )
