from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.views.decorators.http import require_GET

from ..access import get_project
from ..selectors.manifest import manifest_lines


@login_required
@require_GET
def manifest_export(request, slug):
    """The project as a generation manifest (JSONL), streamed: the same format import reads."""
    access = get_project(request, slug, "export")
    lines = (line + "\n" for line in manifest_lines(project=access.project))
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{access.project.slug}.jsonl"'
    return response
