"""The takes of a project as CSV, streamed: one row per take with its current verdict, cost and
tags. Rows are read in keyset chunks as plain tuples (no model instances), each chunk's tags in
one more query, so memory stays flat at any project size."""

import csv
from collections.abc import Iterator
from itertools import islice

from ..limits import single_line
from ..models import Project, PromptVersion, Review, Shot, Take, Verdict

CHUNK = 2000
HEADER = [
    "id", "external_id", "shot", "version", "pass", "model", "status", "duration_s", "fps",
    "width", "height", "cost_usd", "cost_source", "verdict", "tags", "reviewer", "reviewed_at",
    "created_at",
]  # fmt: skip
# No joins per chunk: shot names and version numbers are loaded once, the current reviews of a
# chunk by primary key (a join to the reviews table made the planner hash it for every chunk).
_FIELDS = [
    "id", "external_id", "shot_id", "prompt_version_id", "pass_number", "model", "status",
    "duration_s", "fps", "width", "height", "cost_usd", "cost_source", "current_verdict",
    "current_review_id", "created_at",
]  # fmt: skip
# A cell starting with one of these is a formula to a spreadsheet: keep it text.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """csv.writer's file: hands back the line it was given."""

    def write(self, value: str) -> str:
        return value


def _text(value) -> str:
    value = single_line(str(value))
    return "'" + value if value.startswith(_FORMULA) else value


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z") if moment else ""


def takes_csv_lines(*, project: Project, chunk: int = CHUNK) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER)
    shots = dict(Shot.objects.filter(project=project).values_list("id", "name"))
    versions = dict(PromptVersion.objects.filter(shot__project=project).values_list("id", "number"))
    # One ordered query read through a server-side cursor: keyset pages ("id > last LIMIT n")
    # re-scanned the project's rows for every page (no (project, id) index), so the export's
    # time grew with the square of the project.
    rows = (
        Take.objects.filter(project=project)
        .order_by("id")
        .values_list(*_FIELDS)
        .iterator(chunk_size=chunk)
    )
    while True:
        page = list(islice(rows, chunk))
        if not page:
            return
        reviews = {
            pk: (username, at)
            for pk, username, at in Review.objects.filter(
                pk__in=[r[14] for r in page if r[13] and r[14]]
            ).values_list("id", "reviewer__username", "created_at")
        }
        rejected = [r[14] for r in page if r[13] == Verdict.REJECT and r[14]]
        tags: dict[int, list[str]] = {}
        for review_id, slug in (
            Review.failure_tags.through.objects.filter(review_id__in=rejected)
            .order_by("failuretag__position", "failuretag__slug")
            .values_list("review_id", "failuretag__slug")
        ):
            tags.setdefault(review_id, []).append(slug)
        out = []
        for (pk, external_id, shot_id, version_id, pass_number, model, status, duration, fps,
             width, height, cost, cost_source, verdict, review_id, created_at) in page:  # fmt: skip
            reviewer, reviewed_at = reviews.get(review_id, ("", None))
            out.append(
                writer.writerow(
                    [
                        pk,
                        _text(external_id),
                        _text(shots.get(shot_id, "")),
                        versions.get(version_id, ""),
                        pass_number,
                        _text(model),
                        status,
                        duration if duration is not None else "",
                        fps if fps is not None else "",
                        width or "",
                        height or "",
                        cost,
                        cost_source,
                        verdict,
                        ";".join(tags.get(review_id, ())) if verdict == Verdict.REJECT else "",
                        _text(reviewer or "") if verdict else "",
                        _iso(reviewed_at) if verdict else "",
                        _iso(created_at),
                    ]
                )
            )
        yield "".join(out)
