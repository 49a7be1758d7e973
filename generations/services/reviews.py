"""Writes for reviews and notes. Reviews are append-only; the take keeps a pointer to its
latest one (its current verdict), maintained here and nowhere else."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from ..drawing import DrawingError, drawing_clean
from ..models import FailureTag, Note, Review, ReviewKind, Take, Verdict
from . import webhooks
from .projects import ServiceError
from .rollups import rollups_schedule
from .verdicts import take_current_refresh, take_current_set


class StaleReview(ServiceError):
    """The take was judged by someone else after the reviewer loaded it."""


ANY = object()  # review_record(expected_current=ANY): no staleness check


@dataclass(frozen=True)
class NoteInput:
    seconds: float
    text: str
    tag_slug: str = ""
    drawing: list | None = None  # strokes on the frame (generations.drawing)


def frame_at(seconds: float, fps: float) -> int:
    # Round, not floor: 1.0 s at 23.976 fps is frame 24, not 23 from float error.
    return max(0, int(round(float(seconds) * float(fps))))


def _set_current(take: Take, latest: Review | None) -> None:
    take_current_set(take=take, review=latest)


def _refresh_current(take: Take) -> None:
    take_current_refresh(take=take)


def review_record(
    *,
    take: Take,
    reviewer,
    verdict: str,
    tags: Iterable[FailureTag] = (),
    notes: Iterable[NoteInput] = (),
    comment: str = "",
    at=None,
    expected_current=ANY,
    kind: str = ReviewKind.VERDICT,
) -> Review:
    """Append a verdict. `expected_current` is the current review id the reviewer saw (None for
    unreviewed): checked under the row lock, so two reviewers cannot both win a race. `kind`
    says whether this is the reviewer's own judgement (the default) or written by an undo."""
    if verdict not in Verdict.values:
        raise ServiceError(f"Unknown verdict {verdict!r}.")
    if kind not in ReviewKind.values:
        raise ServiceError(f"Unknown review kind {kind!r}.")
    tags = list(tags)
    if verdict != Verdict.REJECT:
        # An accepted take has no failure tags: they would count in the failure breakdown
        # only for rejected takes anyway, and keeping them invites confusion.
        tags = []
    with transaction.atomic():
        # Lock the take: two reviewers at once still get a well-defined "latest".
        take = Take.objects.select_for_update().get(pk=take.pk)
        if expected_current is not ANY and take.current_review_id != expected_current:
            raise StaleReview(
                "Someone reviewed this take while you were looking: check the history, "
                "then submit again. Your verdict was not saved yet."
            )
        now_given = at is None
        if now_given:
            at = timezone.now()
            # A verdict given now is the latest, even if the clock of an earlier import ran
            # ahead of ours: otherwise it would be saved and silently not count.
            newest = take.reviews.order_by("-created_at").values_list("created_at", flat=True)
            ahead = newest.first()
            if ahead is not None and ahead >= at:
                at = ahead + timedelta(milliseconds=1)
        review = Review(
            take=take,
            reviewer=reviewer,
            verdict=verdict,
            kind=kind,
            comment=comment,
            created_at=at,
        )
        # The take is locked above and the reviewer is a loaded user: no FK lookups needed.
        review.full_clean(exclude=["take", "reviewer"])
        review.save()
        if tags:
            review.failure_tags.set(tags)
        for note in notes:
            note_add(take=take, author=reviewer, review=review, **note.__dict__, _schedule=False)
        if now_given:
            # Dated after every earlier review (above): it is the latest, no need to look.
            _set_current(take, review)
        else:
            _refresh_current(take)
        rollups_schedule(project_id=take.project_id, take_ids=[take.pk])
        webhooks.webhooks_review_recorded(review=review)
    return review


def review_undo(*, take: Take, reviewer) -> Review:
    """Undo the latest verdict with a new review that restores the state before it, so the
    history keeps both. Only the reviewer who wrote the latest review may undo it: someone
    else's verdict is answered with a verdict. Undoing a first verdict writes a "clear" review:
    back to unreviewed.
    Either way the review is of kind `undo`: it changes the current verdict, but it is not a
    judgement of the undoer's and does not count in the per-reviewer statistics."""
    history = list(take.reviews.order_by("-created_at", "-id")[:2].prefetch_related("failure_tags"))
    if not history or history[0].verdict == Verdict.CLEAR:
        raise ServiceError("There is no verdict to undo on this take.")
    if history[0].reviewer_id != reviewer.pk:
        # Undo takes back your own last act; someone else's verdict is answered with a verdict.
        raise ServiceError(
            "The latest verdict on this take is someone else's: judge it again instead."
        )
    if len(history) == 1:
        return review_record(
            take=take,
            reviewer=reviewer,
            verdict=Verdict.CLEAR,
            comment="Undo",
            kind=ReviewKind.UNDO,
        )
    previous = history[1]
    return review_record(
        take=take,
        reviewer=reviewer,
        verdict=previous.verdict,
        tags=previous.failure_tags.all(),
        comment=f"Undo: restores the verdict of {previous.created_at:%Y-%m-%d %H:%M:%S}",
        kind=ReviewKind.UNDO,
    )


def review_added_elsewhere(*, review: Review) -> None:
    """A review saved outside `review_record` (the admin): make it current if it is the
    latest and tell the rollups."""
    with transaction.atomic():
        take = Take.objects.select_for_update().get(pk=review.take_id)
        _refresh_current(take)
        rollups_schedule(project_id=take.project_id, take_ids=[take.pk])


def review_delete(*, review: Review) -> None:
    """Administrative removal (a mistaken import, the undo of a first verdict)."""
    with transaction.atomic():
        take = Take.objects.select_for_update().get(pk=review.take_id)
        review.delete()
        _refresh_current(take)
        rollups_schedule(project_id=take.project_id, take_ids=[take.pk])


def note_add(
    *,
    take: Take,
    author,
    seconds: float,
    text: str,
    tag_slug: str = "",
    drawing=None,
    review: Review | None = None,
    _schedule: bool = True,
) -> Note:
    text = (text or "").strip()
    if not text:
        raise ServiceError("A note needs text.")
    try:
        drawing = drawing_clean(drawing)
    except DrawingError as exc:
        raise ServiceError(str(exc)) from None
    seconds = max(0.0, float(seconds))
    if take.duration_s is not None and seconds > float(take.duration_s) + 0.001:
        raise ServiceError(f"{seconds:.3f}s is past the end of the take ({take.duration_s}s).")
    tag = FailureTag.objects.filter(slug=tag_slug).first() if tag_slug else None
    if tag_slug and tag is None:
        raise ServiceError(f"Unknown failure tag {tag_slug!r}.")
    note = Note(
        take=take,
        review=review,
        author=author,
        seconds=Decimal(str(round(seconds, 3))),
        frame=frame_at(seconds, take.fps_value),
        tag=tag,
        text=text,
        drawing=drawing,
    )
    note.full_clean()
    note.save()
    return note


def takes_bulk_tag(
    *,
    takes: list[Take],
    reviewer,
    add: Iterable[FailureTag] = (),
    remove: Iterable[FailureTag] = (),
) -> int:
    """Add or remove failure tags on the rejected takes among `takes`, in one transaction and
    one rollup refresh. A take whose tags change gets a new review (a reject carrying the new
    tags): history stays append-only. That review is of kind `bulk`: the editor re-tagged the
    take but did not judge it, so it does not count in the per-reviewer statistics. Accepted
    and unreviewed takes are left alone — tagging must not turn them into rejects. Each review
    is announced as `review.recorded` (kind `bulk`) after commit. Returns the number of takes
    changed."""
    add, remove = set(add), set(remove)
    if not takes or not (add or remove):
        return 0
    project_ids = {t.project_id for t in takes}
    if len(project_ids) != 1:
        raise ServiceError("Bulk tagging works within one project.")
    now = timezone.now()
    through = Review.failure_tags.through
    with transaction.atomic():
        locked = list(
            Take.objects.select_for_update().filter(pk__in=[t.pk for t in takes]).order_by("pk")
        )
        tags_of_review: dict[int, set[int]] = {}
        for row in through.objects.filter(
            review_id__in=[t.current_review_id for t in locked if t.current_review_id]
        ).values("review_id", "failuretag_id"):
            tags_of_review.setdefault(row["review_id"], set()).add(row["failuretag_id"])
        add_ids, remove_ids = {t.pk for t in add}, {t.pk for t in remove}
        changes: list[tuple[Take, Review, set[int]]] = []
        for take in locked:
            if take.current_verdict != Verdict.REJECT:
                continue  # failure tags belong to rejects; judge the take first
            current = tags_of_review.get(take.current_review_id, set())
            new = (current | add_ids) - remove_ids
            if new == current:
                continue
            review = Review(
                take=take,
                reviewer=reviewer,
                verdict=Verdict.REJECT,
                kind=ReviewKind.BULK,
                created_at=now,
                comment="Bulk tag edit",
            )
            changes.append((take, review, new))
        if not changes:
            return 0
        Review.objects.bulk_create([review for _, review, _ in changes])
        through.objects.bulk_create(
            [
                through(review_id=review.pk, failuretag_id=tag_id)
                for _, review, tag_ids in changes
                for tag_id in tag_ids
            ]
        )
        for take, review, _ in changes:
            take.current_review = review
            take.current_verdict = Verdict.REJECT
        Take.objects.bulk_update([t for t, _, _ in changes], ["current_review", "current_verdict"])
        rollups_schedule(project_id=project_ids.pop(), take_ids=[t.pk for t, _, _ in changes])
        # One `review.recorded` per review written, built in a fixed number of queries and
        # sent once this transaction commits.
        webhooks.webhooks_reviews_recorded(reviews=[review for _, review, _ in changes])
    return len(changes)
