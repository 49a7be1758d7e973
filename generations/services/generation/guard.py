"""The budget guard in front of every generation.

Rules, checked for a new batch and again when a producer approves one, always while holding the
project's row lock (`select_for_update`), so two leads submitting at once are serialized and
the second sees the first one's jobs in flight:

1. A model without a ModelPrice cannot be estimated: the batch is refused (never costed at $0).
2. Budget: spent (the cost of every take) + in flight (the estimates of jobs queued, submitting,
   generating or downloading) + this batch's estimate must not pass the project's budget.
3. Daily cap: what was committed today (UTC: jobs sent today, or queued today and not yet
   sent, that are in flight or done, at their reported cost else their estimate) + this
   estimate must not pass the cap.
4. Approval: a batch estimated above the project's threshold waits for a producer.

A refusal carries the numbers, so the lead sees why and by how much.

Checked again at submission (`submit_refusal`). Accepting a batch is not spending: between
the two the cap may be lowered, the budget cut, takes uploaded or imported, a provider may
report more than the estimate, or jobs queued yesterday may all go out today. So the worker,
before a job's first call to its provider, takes the same project row lock and compares only
money that is really out: spent + the estimates of jobs already sent (`cleared_at` set, still
in flight) + this job must not pass the budget, and what was sent today + this job must not
pass the daily cap. The job is marked sent (`cleared_at`) in the same transaction, so two
workers submitting at once are serialized and the second counts the first. A job refused here
ends `refused` with the numbers and is never sent. A job already cleared (a retry after a 429,
say) keeps its place and is not checked again.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from ...models import GenerationJob, GenerationStatus, ModelPrice, Project, Take
from ...models.generation import IN_FLIGHT
from ..projects import ServiceError
from ..takes import price_lookup

CENT = Decimal("0.0001")
ZERO = Decimal("0")


class BatchRefused(ServiceError):
    """The guard refused the batch; the message has the numbers."""


@dataclass(frozen=True)
class Estimate:
    price: ModelPrice
    per_take_usd: Decimal
    total_usd: Decimal


@dataclass(frozen=True)
class BudgetState:
    budget_usd: Decimal | None
    spent_usd: Decimal
    in_flight_usd: Decimal
    today_usd: Decimal
    daily_cap_usd: Decimal | None
    approval_usd: Decimal | None

    @property
    def left_usd(self) -> Decimal | None:
        if self.budget_usd is None:
            return None
        return self.budget_usd - self.spent_usd - self.in_flight_usd


def estimate(*, project: Project, model: str, duration_s: int, count: int) -> Estimate:
    """ModelPrice × duration × N. Raises BatchRefused when the model has no price."""
    price = price_lookup(project=project, model=model, at=timezone.now())
    if price is None:
        raise BatchRefused(
            f"No price is known for {model}: a producer must add a ModelPrice for it (Budget & "
            "prices) before it can be generated, so its spend is never counted as $0."
        )
    per_take = (price.usd_per_second * Decimal(duration_s)).quantize(CENT, ROUND_HALF_UP)
    return Estimate(price=price, per_take_usd=per_take, total_usd=per_take * count)


def _day_start() -> datetime:
    return datetime.combine(timezone.now().date(), time.min, tzinfo=UTC)


def budget_state(*, project: Project) -> BudgetState:
    """The numbers the guard compares (three aggregate queries, all on indexed columns)."""
    jobs = GenerationJob.objects.filter(project=project)
    in_flight = jobs.filter(status__in=IN_FLIGHT).aggregate(s=Sum("estimate_usd"))["s"] or ZERO
    today = (
        jobs.annotate(day=Coalesce("cleared_at", "queued_at"))
        .filter(day__gte=_day_start(), status__in=(*IN_FLIGHT, GenerationStatus.DONE))
        .aggregate(s=Sum(Coalesce("cost_usd", "estimate_usd")))["s"]
        or ZERO
    )
    return _state(project=project, in_flight_usd=in_flight, today_usd=today)


def _state(*, project: Project, in_flight_usd: Decimal, today_usd: Decimal) -> BudgetState:
    """The project's limits and spend beside the two sums that differ by the check's moment."""
    spent = Take.objects.filter(project=project).aggregate(s=Sum("cost_usd"))["s"] or ZERO
    return BudgetState(
        budget_usd=project.budget_usd,
        spent_usd=spent,
        in_flight_usd=in_flight_usd,
        today_usd=today_usd,
        daily_cap_usd=project.generation_daily_cap_usd,
        approval_usd=project.generation_approval_usd,
    )


def _usd(value: Decimal) -> str:
    return f"${value:,.2f}"


def check(
    *,
    state: BudgetState,
    estimate_usd: Decimal,
    this: str = "this batch",
    in_flight: str = "in flight",
    today: str = "committed today",
) -> None:
    """Raise BatchRefused, with the numbers, when the estimate passes the budget or the cap."""
    if state.budget_usd is not None:
        total = state.spent_usd + state.in_flight_usd + estimate_usd
        if total > state.budget_usd:
            raise BatchRefused(
                f"Over budget: spent {_usd(state.spent_usd)} + {in_flight} "
                f"{_usd(state.in_flight_usd)} + {this} {_usd(estimate_usd)} = "
                f"{_usd(total)}, above the budget of {_usd(state.budget_usd)} "
                f"({_usd(max(state.left_usd, ZERO))} left)."
            )
    if state.daily_cap_usd is not None:
        total = state.today_usd + estimate_usd
        if total > state.daily_cap_usd:
            raise BatchRefused(
                f"Today's cap reached: {_usd(state.today_usd)} {today} + {this} "
                f"{_usd(estimate_usd)} = {_usd(total)}, above the daily cap of "
                f"{_usd(state.daily_cap_usd)}. New submissions resume tomorrow (UTC)."
            )


def needs_approval(*, state: BudgetState, estimate_usd: Decimal) -> bool:
    return state.approval_usd is not None and estimate_usd > state.approval_usd


def sent_state(*, project: Project, exclude_job_id: int | None = None) -> BudgetState:
    """The money really out, for the check at submission: spent, the estimates of jobs already
    sent to a provider and not yet a take, and what was sent today (UTC)."""
    sent = GenerationJob.objects.filter(project=project, cleared_at__isnull=False).exclude(
        pk=exclude_job_id
    )
    out = sent.filter(status__in=IN_FLIGHT).aggregate(s=Sum("estimate_usd"))["s"] or ZERO
    today = (
        sent.filter(
            cleared_at__gte=_day_start(), status__in=(*IN_FLIGHT, GenerationStatus.DONE)
        ).aggregate(s=Sum(Coalesce("cost_usd", "estimate_usd")))["s"]
        or ZERO
    )
    return _state(project=project, in_flight_usd=out, today_usd=today)


def submit_refusal(*, job: GenerationJob) -> str | None:
    """Why `job` may not be sent now, or None. Takes the project's row lock, which the caller's
    transaction holds until it has marked the job sent (or refused)."""
    project = lock_project(job.project_id)
    state = sent_state(project=project, exclude_job_id=job.pk)
    try:
        check(
            state=state,
            estimate_usd=job.estimate_usd,
            this="this take",
            in_flight="sent and not yet arrived",
            today="sent today",
        )
    except BatchRefused as exc:
        return f"Not sent (nothing spent): {exc}"
    return None


def lock_project(project_id: int) -> Project:
    """The row lock every guarded decision holds until its transaction commits."""
    return Project.objects.select_for_update().get(pk=project_id)
