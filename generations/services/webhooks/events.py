"""The events Dailies announces, and their payloads. Each `webhooks_<event>` is the one call a
writer makes, inside its own transaction; payloads are built only if some endpoint listens.

Every body is `{"type": <event>, "timestamp": <ISO 8601>, "data": <payload>}`; the payloads are
documented in the README ("Webhooks")."""

from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from ...models import (
    BudgetThresholdMark,
    Dimension,
    Project,
    Review,
    RollupRow,
    Take,
    WebhookEndpoint,
    WebhookEvent,
)
from .delivery import db_timeouts, webhooks_deliveries_write, webhooks_emit, webhooks_listening

# Percent of the budget; each fires once when spend reaches it, again only after spend fell
# below it (the budget was raised).
BUDGET_THRESHOLDS = (50, 80, 100)


def _link(path: str) -> str:
    return getattr(settings, "DAILIES_SITE_URL", "").rstrip("/") + path


def _project(project: Project) -> dict:
    return {"id": project.pk, "slug": project.slug, "name": project.name}


def take_payload(take: Take) -> dict:
    version = take.prompt_version
    return {
        "id": take.pk,
        "external_id": take.external_id,
        "status": take.status,
        "status_reason": take.status_reason,
        "shot": {"id": take.shot_id, "name": take.shot.name},
        "prompt_version": {"id": version.pk, "number": version.number},
        "model": take.model,
        "pass_number": take.pass_number,
        "duration_s": take.duration_s,
        "cost_usd": take.cost_usd,
        "current_verdict": take.current_verdict or None,
        "url": _link(f"/projects/{take.project.slug}/takes/{take.pk}/"),
    }


def _take_event(take_id: int, event: str) -> None:
    row = Take.objects.filter(pk=take_id).values_list("project_id", flat=True).first()
    if row is None:
        return

    def payload() -> dict:
        take = Take.objects.select_related("project", "shot", "prompt_version").get(pk=take_id)
        return {"project": _project(take.project), "take": take_payload(take)}

    webhooks_emit(project_id=row, event=event, payload=payload)


def webhooks_take_ready(*, take_id: int) -> None:
    _take_event(take_id, WebhookEvent.TAKE_READY)


def webhooks_take_broken(*, take_id: int) -> None:
    _take_event(take_id, WebhookEvent.TAKE_BROKEN)


def webhooks_review_recorded(*, review: Review) -> None:
    webhooks_reviews_recorded(reviews=[review])


def webhooks_reviews_recorded(*, reviews: Sequence[Review]) -> None:
    """`review.recorded` for reviews saved in the caller's transaction, in order. The queries
    do not grow with their number: the listening endpoints (one query, and all there is when
    nobody listens), then the takes, the reviewers not loaded yet and the failure tags, one
    query each, and the deliveries, one insert."""
    if not reviews:
        return
    event = WebhookEvent.REVIEW_RECORDED
    take_ids = sorted({r.take_id for r in reviews})
    listening = webhooks_listening(event=event, take_ids=take_ids)
    if not listening:
        return
    takes = Take.objects.select_related("project", "shot", "prompt_version").in_bulk(take_ids)
    loaded = {r.pk: r.reviewer for r in reviews if Review.reviewer.is_cached(r)}
    missing = {r.reviewer_id for r in reviews if r.pk not in loaded}
    users = get_user_model().objects.in_bulk(missing) if missing else {}
    tags: dict[int, list[str]] = {}
    through = Review.failure_tags.through.objects.filter(review_id__in=[r.pk for r in reviews])
    for review_id, slug in through.values_list("review_id", "failuretag__slug"):
        tags.setdefault(review_id, []).append(slug)
    sends = []
    for review in reviews:
        take = takes[review.take_id]
        reviewer = loaded.get(review.pk) or users.get(review.reviewer_id)
        data = {
            "project": _project(take.project),
            "take": take_payload(take),
            "review": {
                "id": review.pk,
                "verdict": review.verdict,
                "kind": review.kind,
                "reviewer": getattr(reviewer, "email", "") or getattr(reviewer, "username", ""),
                "failure_tags": sorted(tags.get(review.pk, [])),
                "comment": review.comment,
                "created_at": review.created_at,
            },
        }
        sends.extend((endpoint, data) for endpoint in listening.get(take.project_id, []))
    webhooks_deliveries_write(event=event, sends=sends)


IMPORT_ERRORS_SHOWN = 20


def webhooks_import_finished(*, report) -> None:
    """A manifest import finished (`report`: its ImportReport): one event per project it
    touched, carrying the import's counts (for the whole file) and its first errors."""
    summary = report.as_dict()
    errors = summary.pop("errors")
    summary["errors_count"] = len(errors)
    summary["errors"] = errors[:IMPORT_ERRORS_SHOWN]
    for project in Project.objects.filter(slug__in=sorted(report.projects)).order_by("pk"):
        webhooks_emit(
            project_id=project.pk,
            event=WebhookEvent.IMPORT_FINISHED,
            payload=lambda project=project: {"project": _project(project), "import": summary},
        )


def webhooks_budget_check(*, project_id: int) -> list[int]:
    """At the end of a rollups refresh: compare the project's spend (its rollup total) with
    its budget, announce each threshold newly reached, and re-arm those spend fell below.
    Returns the thresholds announced now."""
    if not WebhookEndpoint.objects.filter(project_id=project_id, is_active=True).exists():
        return []  # nothing listens: nothing to remember either (checked again next refresh)
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        return []
    spend = (
        RollupRow.objects.filter(project_id=project_id, dimension=Dimension.PROJECT)
        .values_list("spend_usd", flat=True)
        .first()
    ) or Decimal(0)
    budget = project.budget_usd
    percent = (spend * 100 / budget) if budget else None
    crossed = [] if percent is None else [t for t in BUDGET_THRESHOLDS if percent >= t]
    fired = []
    with db_timeouts():
        marks = BudgetThresholdMark.objects.filter(project_id=project_id)
        marks.exclude(percent__in=crossed).delete()
        already = set(marks.values_list("percent", flat=True))
        for threshold in crossed:
            if threshold in already:
                continue
            try:
                with transaction.atomic():
                    BudgetThresholdMark.objects.create(project_id=project_id, percent=threshold)
            except IntegrityError:  # a concurrent refresh announced it
                continue
            fired.append(threshold)
        if fired:
            webhooks_emit(
                project_id=project_id,
                event=WebhookEvent.BUDGET_THRESHOLD_CROSSED,
                payload={
                    "project": _project(project),
                    # The highest threshold reached now; all of them in order.
                    "threshold_percent": fired[-1],
                    "thresholds_crossed": fired,
                    "spend_usd": spend,
                    "budget_usd": budget,
                    "spend_percent": float(round(percent, 1)),
                },
            )
    return fired
