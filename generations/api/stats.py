"""The stats: read from the rollups, never from raw takes."""

from typing import Any

from ninja import Router

from ..access import get_project
from ..selectors.stats import (
    StatsQueryError,
    UnknownDimension,
    project_stats,
    stats_dimension_page,
)
from .errors import ERRORS, ApiError

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


@router.get(
    "/projects/{slug}/stats/{dimension}",
    response={200: dict[str, Any], **ERRORS},
    url_name="project_stats_dimension",
    summary="One page of a table that grows with the project",
    description=(
        "Dimensions: shots, prompt_versions, reviewers, failures_by_shot, tag_pairs. `sort`: "
        "takes, reviewed, accepted, spend or name, a leading `-` for descending (default "
        "-takes; -reviewed for reviewers); `q`: a case-insensitive search of the name; "
        "`cursor`: the `next_cursor` of the previous page; `limit`: 1-200. Answers "
        '{"dimension", "sort", "q", "limit", "total", "results", "next_cursor"}.'
    ),
)
def stats_dimension(
    request,
    slug: str,
    dimension: str,
    sort: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
):
    access = get_project(request, slug, "view")
    try:
        return stats_dimension_page(
            project=access.project, dimension=dimension, sort=sort, q=q, cursor=cursor,
            limit=limit,
        )  # fmt: skip
    except UnknownDimension as exc:
        raise ApiError(404, str(exc)) from exc
    except StatsQueryError as exc:
        raise ApiError(400, str(exc)) from exc
