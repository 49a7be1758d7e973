"""The stats: read from the rollups, never from raw takes."""

from typing import Any

from ninja import Router

from ..access import get_project
from ..selectors.stats import project_stats
from .errors import ERRORS

router = Router(tags=["stats"])


@router.get(
    "/projects/{slug}/stats",
    response={200: dict[str, Any], **ERRORS},
    url_name="project_stats",
    summary="The project's numbers (SPEC §4), from the rollups",
)
def stats_summary(request, slug: str):
    access = get_project(request, slug, "view")
    return project_stats(project=access.project)
