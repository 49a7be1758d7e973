"""Streamed exports: the takes as CSV and the project as a generation manifest (JSONL)."""

from django.http import StreamingHttpResponse
from ninja import Router

from ..access import get_project
from ..manifest.export import manifest_lines
from ..selectors.takes_csv import takes_csv_lines
from .errors import ERRORS

router = Router(tags=["exports"])


def _stream(content_type: str, description: str) -> dict:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {content_type: {"schema": {"type": "string"}}},
            }
        }
    }


@router.get(
    "/projects/{slug}/takes.csv",
    response={**ERRORS},
    openapi_extra=_stream("text/csv", "One row per take, streamed"),
    summary="Every take with its current verdict, cost and tags (CSV, streamed)",
)
def takes_csv(request, slug: str):
    access = get_project(request, slug, "view")
    response = StreamingHttpResponse(
        takes_csv_lines(project=access.project), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{access.project.slug}-takes.csv"'
    return response


@router.get(
    "/projects/{slug}/manifest.jsonl",
    response={**ERRORS},
    openapi_extra=_stream("application/x-ndjson", "One take per line (SPEC §3), streamed"),
    summary="The project as a generation manifest, the format import_manifest reads (streamed)",
)
def manifest(request, slug: str):
    access = get_project(request, slug, "export")
    lines = (line + "\n" for line in manifest_lines(project=access.project))
    response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{access.project.slug}.jsonl"'
    return response
