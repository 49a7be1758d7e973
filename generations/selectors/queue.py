"""Reads for the review queue, the editors' grid and compare.

The queue is a filtered, ordered list of take ids: unreviewed first, then oldest first. A
reviewing session carries `since` (when the queue was opened): takes judged after it keep their
place among the unreviewed, so the order does not shift under the reviewer's feet and J (previous)
goes back to the take just judged."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import OuterRef, Subquery

from ..models import (
    Dimension,
    FailureTag,
    Project,
    PromptVersion,
    Review,
    RollupRow,
    Take,
    Verdict,
)
from ..models.reviews import JUDGEMENTS
from .prompts import DiffPart, parameters_diff, word_diff
from .takes import take_history, take_notes

# The queue holds this many takes at most; a reviewer narrows it with the filters.
QUEUE_LIMIT = 1000
# Mean absolute change of mean luma between consecutive frames, on PyAV's limited-range scale
# (16–235). A clean clip measures ~0.1–1 (motion, grain); a clip whose exposure pops every
# other frame measures tens (render_test_clip(flicker=True) gives ~69). 4 levels ≈ 2% of the
# range on *average* over every frame pair is far above honest motion and a safe suggestion.
FLICKER_SUGGEST_THRESHOLD = 4.0

FILTER_KEYS = ("shot", "version", "unreviewed", "model", "pass", "tag", "verdict", "reviewer")


@dataclass
class QueueFilters:
    """The queue's filters, parsed from a query string; unknown or malformed values are ignored."""

    shot: int | None = None
    version: int | None = None
    unreviewed: bool = False
    model: str = ""
    pass_number: int | None = None
    tag: str = ""
    verdict: str = ""  # accept, reject, unreviewed
    reviewer: int | None = None
    since: datetime | None = None
    # Narrows the shot filter's list (not the takes): big projects search their shots.
    shot_q: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_query(cls, query, *, since: datetime | None = None) -> "QueueFilters":
        def as_int(name):
            try:
                return int(query.get(name, ""))
            except ValueError:
                return None

        verdict = query.get("verdict", "")
        filters = cls(
            shot=as_int("shot"),
            version=as_int("version"),
            unreviewed=query.get("unreviewed", "") in {"1", "on", "true"},
            model=query.get("model", "").strip()[:80],
            pass_number=as_int("pass"),
            tag=query.get("tag", "").strip()[:60],
            verdict=verdict if verdict in {"accept", "reject", "unreviewed"} else "",
            reviewer=as_int("reviewer"),
            since=since,
            shot_q=query.get("shot_q", "").strip()[:100],
        )
        filters.params = {k: query[k] for k in FILTER_KEYS if query.get(k)}
        return filters


def _filtered(*, project: Project, filters: QueueFilters):
    """The takes the filters allow, before the verdict split and the order."""
    qs = Take.objects.filter(project=project)
    if filters.shot:
        qs = qs.filter(shot_id=filters.shot)
    if filters.version:
        qs = qs.filter(prompt_version_id=filters.version)
    if filters.model:
        qs = qs.filter(model=filters.model)
    if filters.pass_number:
        qs = qs.filter(pass_number=filters.pass_number)
    if filters.tag:
        qs = qs.filter(
            current_verdict=Verdict.REJECT, current_review__failure_tags__slug=filters.tag
        )
    if filters.reviewer:
        qs = qs.filter(current_review__reviewer_id=filters.reviewer)
    return qs


def queue_ids(*, project: Project, filters: QueueFilters, limit: int = QUEUE_LIMIT) -> list[int]:
    """The queue's take ids in order: unreviewed takes (and takes judged since the session
    began) oldest first, then the other judged takes oldest first.

    A few LIMITed queries that walk the (project, current_verdict, created_at, id) index,
    instead of sorting every take of the project by a computed group: the cost stays the same
    at a thousand takes or a million."""
    base = _filtered(project=project, filters=filters)
    order = ("created_at", "id")
    only_unjudged = filters.unreviewed or filters.verdict == "unreviewed"
    first: dict[int, tuple] = {}
    if filters.verdict not in JUDGEMENTS:
        for pk, at in (
            base.filter(current_verdict="").order_by(*order).values_list("id", "created_at")[:limit]
        ):
            first[pk] = (at, pk)
    recent: set[int] = set()
    if filters.since is not None:
        # Driven by the reviews index: only this session's few reviews are looked at.
        fresh = Review.objects.filter(created_at__gte=filters.since).values("id")
        for pk, at in base.filter(current_review_id__in=fresh).values_list("id", "created_at")[
            :limit
        ]:
            first[pk] = (at, pk)
            recent.add(pk)
    ids = sorted(first, key=first.get)[:limit]
    if only_unjudged or len(ids) >= limit:
        return ids
    verdicts = [filters.verdict] if filters.verdict in JUDGEMENTS else list(JUDGEMENTS)
    # One index walk per verdict, merged here: an IN list would make the database sort every
    # judged take of the project. A few more than needed: the session's recent ones are listed.
    want = limit - len(ids) + len(recent)
    judged = sorted(
        row
        for verdict in verdicts
        for row in base.filter(current_verdict=verdict)
        .order_by(*order)
        .values_list("created_at", "id")[:want]
    )
    rest = [pk for _at, pk in judged if pk not in recent]
    return ids + rest[: limit - len(ids)]


@dataclass(frozen=True)
class QueuePosition:
    index: int  # 0-based; -1 when the take is not in the (filtered) queue
    total: int
    previous_id: int | None
    next_id: int | None


def queue_position(ids: list[int], take_id: int) -> QueuePosition:
    try:
        i = ids.index(take_id)
    except ValueError:
        return QueuePosition(-1, len(ids), None, ids[0] if ids else None)
    return QueuePosition(
        i,
        len(ids),
        ids[i - 1] if i > 0 else None,
        ids[i + 1] if i + 1 < len(ids) else None,
    )


def queue_take(*, project: Project, take_id: int) -> Take | None:
    return (
        Take.objects.select_related(
            "prompt_version", "prompt_version__parent", "shot", "current_review"
        )
        .filter(project=project, pk=take_id)
        .first()
    )


@dataclass(frozen=True)
class PromptChange:
    """The take's prompt and, folded under it in the queue, what changed since its parent."""

    version: PromptVersion
    parent: PromptVersion | None
    diff: list[DiffPart]
    negative_diff: list[DiffPart]
    params: list[tuple[str, object, object]]


@dataclass(frozen=True)
class QueueStage:
    """Everything the queue's stage shows about one take (take is None: the queue is empty)."""

    take: Take | None
    position: QueuePosition | None = None
    keyed_tags: list[tuple[FailureTag, int | None, bool]] = field(default_factory=list)
    notes: list = field(default_factory=list)
    history: list = field(default_factory=list)
    flicker: dict | None = None
    prompt: PromptChange | None = None


def prompt_change(version: PromptVersion) -> PromptChange:
    parent = version.parent
    if parent is None:
        return PromptChange(version, None, [], [], [])
    return PromptChange(
        version=version,
        parent=parent,
        diff=word_diff(parent.text, version.text),
        negative_diff=word_diff(parent.negative_prompt, version.negative_prompt)
        if (parent.negative_prompt or version.negative_prompt)
        else [],
        params=parameters_diff(parent.parameters, version.parameters),
    )


def queue_stage(
    *,
    project: Project,
    filters: QueueFilters,
    take_id: int | None = None,
    checked: set[str] | None = None,
) -> QueueStage | None:
    """The stage for `take_id` (default: the first take of the queue). None when `take_id` is
    not a take of this project. `checked`: tag slugs to show ticked instead of the take's own
    (a refused verdict keeps what the reviewer chose)."""
    ids = queue_ids(project=project, filters=filters)
    if take_id is None:
        take_id = ids[0] if ids else None
    if take_id is None:
        return QueueStage(take=None)
    take = queue_take(project=project, take_id=take_id)
    if take is None:
        return None
    if checked is None:
        checked = current_tag_slugs(take)
    tags = tags_in_key_order(project=project)
    return QueueStage(
        take=take,
        position=queue_position(ids, take.pk),
        keyed_tags=[(t, i + 1 if i < 9 else None, t.slug in checked) for i, t in enumerate(tags)],
        notes=list(take_notes(take=take)),
        history=list(take_history(take=take)[:6]),
        flicker=flicker_hint(take),
        prompt=prompt_change(take.prompt_version),
    )


def tags_in_key_order(*, project: Project) -> list[FailureTag]:
    """The taxonomy with the project's chosen order first: the first nine are keys 1–9."""
    tags = list(FailureTag.objects.all())
    rank = {slug: i for i, slug in enumerate(project.tag_order or [])}
    return sorted(tags, key=lambda t: (rank.get(t.slug, len(rank)), t.position, t.slug))


def current_tag_slugs(take: Take) -> set[str]:
    if take.current_verdict != Verdict.REJECT or not take.current_review_id:
        return set()
    return set(take.current_review.failure_tags.values_list("slug", flat=True))


# The shot filter lists at most this many shots (by name); a project of 100k shots is searched
# (`shot_q`) instead of sending every name in every queue and grid page.
SHOT_CHOICES = 200


def shot_choices(*, project: Project, q: str = "", selected: int | None = None) -> dict:
    """The shot filter's options: the first SHOT_CHOICES shots by name (the unique index on
    project and name walks them), or those whose name contains `q`; the selected shot is
    always among them. `more`: other shots exist (the page offers the search)."""
    shots = project.shots.order_by("name")
    if q:
        shots = shots.filter(name__icontains=q)
    listed = list(shots.values("id", "name")[: SHOT_CHOICES + 1])
    more = len(listed) > SHOT_CHOICES
    listed = listed[:SHOT_CHOICES]
    if selected and all(s["id"] != selected for s in listed):
        listed = list(project.shots.filter(pk=selected).values("id", "name")) + listed
    return {"shots": listed, "more": more, "q": q}


def queue_filter_choices(*, project: Project, filters: QueueFilters | None = None) -> dict:
    """Values for the filter selects: models, passes, shots (bounded: `shot_choices`),
    reviewers (four small queries)."""
    from django.contrib.auth import get_user_model

    # Models and passes come from the rollup rows: a DISTINCT over a million takes would not.
    dims = RollupRow.objects.filter(
        project=project, dimension__in=[Dimension.MODEL, Dimension.PASS]
    )
    keys = {Dimension.MODEL: set(), Dimension.PASS: set()}
    for dimension, key in dims.values_list("dimension", "key"):
        keys[dimension].add(key)
    return {
        "models": sorted(keys[Dimension.MODEL]),
        "passes": sorted(int(k) for k in keys[Dimension.PASS]),
        "shots": shot_choices(
            project=project,
            q=filters.shot_q if filters else "",
            selected=filters.shot if filters else None,
        ),
        "reviewers": list(
            get_user_model()
            .objects.filter(memberships__project=project)
            .order_by("username")
            .values("id", "username")
        ),
    }


def sparkline_points(series: list[float], *, width: int = 240, height: int = 36) -> str:
    """SVG polyline points for a series, scaled to the box (max at the top)."""
    if not series:
        return ""
    top = max(series) or 1.0
    n = len(series)
    step = width / max(1, n - 1)
    return " ".join(
        f"{i * step:.1f},{height - (v / top) * (height - 2) - 1:.1f}" for i, v in enumerate(series)
    )


def flicker_hint(take: Take) -> dict | None:
    """The flicker score, its sparkline and whether to suggest the `flicker` tag."""
    if take.flicker_score is None:
        return None
    return {
        "score": take.flicker_score,
        "points": sparkline_points(list(take.flicker_series or [])),
        "suggest": take.flicker_score >= FLICKER_SUGGEST_THRESHOLD,
        "threshold": FLICKER_SUGGEST_THRESHOLD,
    }


def grid_takes(*, project: Project, filters: QueueFilters, limit: int = 200) -> list[Take]:
    """The grid's takes in queue order (two or three indexed queries, then one fetch)."""
    ids = queue_ids(project=project, filters=filters, limit=limit)
    # The raw C2PA manifest store is kilobytes per take and only the export reads it.
    by_id = (
        Take.objects.select_related("prompt_version", "shot")
        .defer("provenance_manifest")
        .in_bulk(ids)
    )
    return [by_id[pk] for pk in ids if pk in by_id]


def compare_takes(*, project: Project, ids: list[int]) -> list[Take]:
    """The takes to compare, in the order asked, each with its prompt version (one query)."""
    by_id = {
        t.pk: t
        for t in Take.objects.filter(project=project, pk__in=ids).select_related(
            "prompt_version", "shot"
        )
    }
    return [by_id[i] for i in ids if i in by_id]


def latest_take_ids(*, project: Project, version_ids: list[int]) -> list[int]:
    """The newest take of each prompt version, in the order given (one query, any database)."""
    newest = (
        Take.objects.filter(prompt_version=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("id")
    )
    latest = dict(
        PromptVersion.objects.filter(shot__project=project, pk__in=version_ids)
        .annotate(take_id=Subquery(newest[:1]))
        .values_list("pk", "take_id")
    )
    return [latest[v] for v in version_ids if latest.get(v)]
