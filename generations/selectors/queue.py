"""Reads for the review queue, the editors' grid and compare.

The queue is a filtered, ordered list of take ids: unreviewed first, then oldest first. A
reviewing session carries `since` (when the queue was opened): takes judged after it keep their
place among the unreviewed, so the order does not shift under the reviewer's feet and J (previous)
goes back to the take just judged."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Case, IntegerField, Q, Value, When

from ..models import FailureTag, Project, Take, Verdict
from ..models.reviews import JUDGEMENTS

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
        )
        filters.params = {k: query[k] for k in FILTER_KEYS if query.get(k)}
        return filters


def _recent(filters: QueueFilters) -> Q:
    """Takes judged during this session (after `since`) still count as unreviewed for order."""
    if filters.since is None:
        return Q(pk__in=[])
    return Q(current_review__created_at__gte=filters.since)


def queue_queryset(*, project: Project, filters: QueueFilters):
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
    unjudged = Q(current_verdict="")
    if filters.unreviewed or filters.verdict == "unreviewed":
        qs = qs.filter(unjudged | _recent(filters))
    elif filters.verdict in JUDGEMENTS:
        qs = qs.filter(Q(current_verdict=filters.verdict) | _recent(filters))
    return qs.annotate(
        queue_group=Case(
            When(unjudged | _recent(filters), then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
    ).order_by("queue_group", "created_at", "id")


def queue_ids(*, project: Project, filters: QueueFilters) -> list[int]:
    """The queue's take ids in order: one query."""
    qs = queue_queryset(project=project, filters=filters)
    return list(qs.values_list("id", flat=True)[:QUEUE_LIMIT])


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
        Take.objects.select_related("prompt_version", "shot", "current_review")
        .filter(project=project, pk=take_id)
        .first()
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


def queue_filter_choices(*, project: Project) -> dict:
    """Values for the filter selects: models, passes, shots, reviewers (four small queries)."""
    from django.contrib.auth import get_user_model

    takes = Take.objects.filter(project=project)
    return {
        "models": list(takes.order_by("model").values_list("model", flat=True).distinct()),
        "passes": list(
            takes.order_by("pass_number").values_list("pass_number", flat=True).distinct()
        ),
        "shots": list(project.shots.order_by("name").values("id", "name")),
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


def grid_takes(*, project: Project, filters: QueueFilters, limit: int = 200):
    return queue_queryset(project=project, filters=filters).select_related("prompt_version")[:limit]


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
    """The newest take of each prompt version, in the order given (one query)."""
    latest: dict[int, int] = {}
    rows = (
        Take.objects.filter(project=project, prompt_version_id__in=version_ids)
        .order_by("prompt_version_id", "-created_at", "-id")
        .distinct("prompt_version_id")
        .values_list("prompt_version_id", "id")
    )
    for version_id, take_id in rows:
        latest[version_id] = take_id
    return [latest[v] for v in version_ids if v in latest]
