"""Export of a project as a generation manifest (SPEC §3), the same format the importer reads:
importing an export into another instance recreates the project's takes, lineage and reviews.

Review kinds round-trip through an optional `"kind"` key, written only for reviews that are not
a reviewer's own judgement (`"undo"`, `"bulk"`) and read and validated by the importer; a line
without it (every other tool's manifest) imports as judgements. So a re-import gives the same
current verdicts and the same per-reviewer statistics, except for what a "clear" undo removed:
the format has no cleared verdict, so the reviews before it are not exported at all."""

import json
from collections.abc import Iterator

from ..limits import single_line
from ..models import Note, Project, Review, ReviewKind, Take
from ..models.reviews import JUDGEMENTS

CHUNK = 2000
# JSON leaves these raw, but str.splitlines() and many JSONL readers break lines at them.
_LINE_SEPARATORS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def _iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _number(value):
    if value is None:
        return None
    number = float(value)
    return int(number) if number.is_integer() and not isinstance(value, float) else number


def manifest_lines(*, project: Project) -> Iterator[str]:
    """One JSON line per take, streamed in chunks: a constant number of queries per chunk."""
    takes = (
        Take.objects.filter(project=project)
        .select_related("shot", "prompt_version", "prompt_version__parent")
        .order_by("created_at", "id")
    )
    last_id, last_at = None, None
    while True:
        page = takes
        if last_at is not None:
            page = takes.filter(created_at__gte=last_at).exclude(
                created_at=last_at, id__lte=last_id
            )
        chunk = list(page[:CHUNK])
        if not chunk:
            return
        ids = [t.pk for t in chunk]
        reviews: dict[int, list[Review]] = {}
        for review in (
            Review.objects.filter(take_id__in=ids)
            .select_related("reviewer")
            .prefetch_related("failure_tags")
            .order_by("created_at", "id")
        ):
            if review.verdict in JUDGEMENTS:
                reviews.setdefault(review.take_id, []).append(review)
            else:
                # The format has no "cleared" verdict: drop what the undo cleared, so the
                # re-imported take has the same current verdict (unreviewed).
                reviews[review.take_id] = []
        notes: dict[int, list[Note]] = {}
        for note in Note.objects.filter(take_id__in=ids).select_related("tag"):
            notes.setdefault(note.take_id, []).append(note)
        for take in chunk:
            line = _row(project, take, reviews.get(take.pk, []), notes.get(take.pk, []))
            yield json.dumps(line, ensure_ascii=False).translate(_LINE_SEPARATORS)
        last_at, last_id = chunk[-1].created_at, chunk[-1].pk


def _notes_by_review(reviews: list[Review], notes: list[Note]) -> dict[int | None, list[Note]]:
    """Notes go with their review; notes made outside a verdict ride on the latest exported
    review (the format keeps notes inside reviews)."""
    exported = {r.pk for r in reviews}
    latest = reviews[-1].pk if reviews else None
    out: dict[int | None, list[Note]] = {}
    for note in notes:
        key = note.review_id if note.review_id in exported else latest
        out.setdefault(key, []).append(note)
    return out


def _row(project: Project, take: Take, reviews: list[Review], notes: list[Note]) -> dict:
    version = take.prompt_version
    notes_of = _notes_by_review(reviews, notes)
    return {
        "project": project.slug,
        # Names are one line (rows written before the door rules may not be): a manifest
        # line must never carry a name the importer refuses.
        "shot": single_line(take.shot.name),
        "prompt_version": version.number,
        "parent_version": version.parent.number if version.parent else None,
        "prompt": version.text,
        "negative_prompt": version.negative_prompt or None,
        "parameters": take.parameters or None,
        "pass": take.pass_number,
        "model": single_line(take.model),
        "external_id": single_line(take.external_id),
        "duration_s": _number(take.duration_s),
        "resolution": take.resolution or None,
        "fps": _number(take.fps),
        "seed": take.seed,
        "cost_usd": _number(take.cost_usd) if take.cost_source != "unknown" else None,
        "created_at": _iso(take.created_at),
        "media_url": take.media_url or None,
        "reviews": [
            {
                "reviewer": single_line(r.reviewer.email or r.reviewer.username),
                "verdict": r.verdict,
                "failure_tags": sorted(single_line(t.slug) for t in r.failure_tags.all()),
                "notes": [
                    {
                        "t": float(n.seconds),
                        "tag": single_line(n.tag.slug) if n.tag else None,
                        "text": n.text,
                    }
                    for n in notes_of.get(r.pk, [])
                ],
                "reviewed_at": _iso(r.created_at),
                **({"comment": r.comment} if r.comment else {}),
                **({"kind": r.kind} if r.kind != ReviewKind.VERDICT else {}),
            }
            for r in reviews
        ],
    }
