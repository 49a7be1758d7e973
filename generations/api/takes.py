"""Takes: the listing (the review queue's filters, cursor pagination), one take, its reviews
and notes."""

import base64
import binascii
from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from ..access import get_project, get_take
from ..models import FailureTag
from ..selectors import listing
from ..selectors import takes as take_selectors
from ..selectors.queue import QueueFilters
from ..services import reviews as review_services
from ..services.reviews import ANY, NoteInput, StaleReview
from . import out
from .errors import ERRORS, ApiError, ErrorOut, field_error
from .schemas import NoteIn, NoteOut, ReviewIn, ReviewOut, TakeOut, TakePage

router = Router(tags=["takes"])


class TakeFilters(Schema):
    shot: int | None = Field(None, description="shot id")
    version: int | None = Field(None, description="prompt version id")
    model: str | None = Field(None, max_length=80)
    pass_number: int | None = Field(None, alias="pass", ge=1, le=1_000_000)
    tag: str | None = Field(None, max_length=60, description="failure tag of the current reject")
    verdict: Literal["accept", "reject", "unreviewed"] | None = None
    reviewer: int | None = Field(None, description="user id of the current verdict's reviewer")
    cursor: str | None = Field(None, max_length=200, description="next_cursor of the last page")
    limit: int = Field(50, ge=1, le=listing.PAGE_MAX)


def _encode(cursor) -> str | None:
    if cursor is None:
        return None
    at, pk = cursor
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{pk}".encode()).decode().rstrip("=")


def _decode(value: str | None):
    if not value:
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, pk = raw.rsplit("|", 1)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError
        return moment, int(pk)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise field_error("cursor", "Not a cursor this API gave out.") from None


@router.get(
    "/projects/{slug}/takes",
    response={200: TakePage, **ERRORS},
    summary="Takes, oldest first, filtered like the review queue; follow next_cursor",
)
def take_list(request, slug: str, filters: Query[TakeFilters]):
    access = get_project(request, slug)
    queue_filters = QueueFilters(
        shot=filters.shot,
        version=filters.version,
        model=(filters.model or "").strip().lower(),
        pass_number=filters.pass_number,
        tag=(filters.tag or "").strip(),
        verdict=filters.verdict or "",
        reviewer=filters.reviewer,
    )
    takes, cursor = listing.takes_page(
        project=access.project,
        filters=queue_filters,
        cursor=_decode(filters.cursor),
        limit=filters.limit,
    )
    return {"items": [out.take_out(t) for t in takes], "next_cursor": _encode(cursor)}


def _take_out(take) -> dict:
    listing.attach_current_tags([take])
    return out.take_out(take)


@router.get("/projects/{slug}/takes/{int:take_id}", response={200: TakeOut, **ERRORS})
def take_detail(request, slug: str, take_id: int):
    access, take = get_take(request, slug, take_id)
    take.project = access.project
    return _take_out(take)


@router.get(
    "/projects/{slug}/takes/{int:take_id}/reviews",
    response={200: list[ReviewOut], **ERRORS},
    tags=["reviews"],
    summary="A take's review history, newest first",
)
def review_list(request, slug: str, take_id: int):
    _access, take = get_take(request, slug, take_id)
    return [out.review_out(r) for r in take_selectors.take_history(take=take)]


@router.post(
    "/projects/{slug}/takes/{int:take_id}/reviews",
    response={201: ReviewOut, 409: ErrorOut, **ERRORS},
    tags=["reviews"],
    summary="Record a verdict, with failure tags (rejects), a comment and time-coded notes",
)
def review_new(request, slug: str, take_id: int, payload: ReviewIn):
    _access, take = get_take(request, slug, take_id, "review")
    tags = _tags(payload.tags)
    for note in payload.notes:
        _tags([note.tag] if note.tag else [], field="notes")
    try:
        review = review_services.review_record(
            take=take,
            reviewer=request.user,
            verdict=payload.verdict,
            tags=tags,
            comment=payload.comment.strip(),
            notes=[
                NoteInput(seconds=n.seconds, text=n.text, tag_slug=n.tag, drawing=n.drawing)
                for n in payload.notes
            ],
            expected_current=payload.seen_review
            if "seen_review" in payload.model_fields_set
            else ANY,
        )
    except StaleReview as exc:
        raise ApiError(409, str(exc)) from None
    return Status(201, out.review_out(review))


def _tags(slugs: list[str], field: str = "tags") -> list[FailureTag]:
    wanted = list(dict.fromkeys(s.strip() for s in slugs if s.strip()))
    found = {t.slug: t for t in FailureTag.objects.filter(slug__in=wanted)}
    unknown = [s for s in wanted if s not in found]
    if unknown:
        raise field_error(field, f"Unknown failure tag(s): {', '.join(unknown)}.")
    return [found[s] for s in wanted]


@router.get(
    "/projects/{slug}/takes/{int:take_id}/notes",
    response={200: list[NoteOut], **ERRORS},
    tags=["notes"],
)
def note_list(request, slug: str, take_id: int):
    _access, take = get_take(request, slug, take_id)
    return [out.note_out(n) for n in take_selectors.take_notes(take=take)]


@router.post(
    "/projects/{slug}/takes/{int:take_id}/notes",
    response={201: NoteOut, **ERRORS},
    tags=["notes"],
    summary="A time-coded note (seconds into the take), optionally with a tag and a drawing",
)
def note_new(request, slug: str, take_id: int, payload: NoteIn):
    _access, take = get_take(request, slug, take_id, "tag")
    _tags([payload.tag] if payload.tag else [], field="tag")
    note = review_services.note_add(
        take=take, author=request.user, seconds=payload.seconds, text=payload.text,
        tag_slug=payload.tag.strip(), drawing=payload.drawing,
    )  # fmt: skip
    return Status(201, out.note_out(note))
