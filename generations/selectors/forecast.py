"""Deadline status: the forecast of the stats summary (selectors.stats, read from rollups)
compared with the project's deadline.

At the burn rate of the last 14 days, the spend still needed to reach the target takes
`spend_to_target / burn` more days from the last day with spending: that is the **target date**.
The **run-out date** is when the budget is spent at the same rate. Against the deadline:

- *late*: the deadline has passed without reaching the target, or the target date falls after it;
- *at risk*: the target date is in time, but the budget runs out before it, or the target lands
  in the last fifth of the time left (a few slow days make it late);
- *on track*: the target is reached, or lands in time with the money lasting;
- *unknown*: no target, or not enough data yet (nothing accepted, no spending).
Without a deadline there is no status (None)."""

import math
from dataclasses import dataclass
from datetime import date, timedelta

# The target landing in the last fifth of the days left before the deadline is "at risk".
AT_RISK_SHARE = 0.2

ON_TRACK, AT_RISK, LATE, UNKNOWN = "on_track", "at_risk", "late", "unknown"
LABELS = {ON_TRACK: "on track", AT_RISK: "at risk", LATE: "late", UNKNOWN: "unknown"}


@dataclass(frozen=True)
class DeadlineStatus:
    status: str
    deadline: date
    target_date: date | None
    run_out_date: date | None
    days_left: int  # from today to the deadline (negative once it has passed)
    reason: str

    @property
    def label(self) -> str:
        return LABELS[self.status]

    def as_dict(self) -> dict:
        return {
            "status": self.status,
            "deadline": self.deadline.isoformat(),
            "target_date": self.target_date.isoformat() if self.target_date else None,
            "run_out_date": self.run_out_date.isoformat() if self.run_out_date else None,
            "days_left": self.days_left,
            "reason": self.reason,
        }


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def _spend_to_target(forecast: dict) -> float | None:
    """The spend still needed for the target (takes first, else seconds), None without one."""
    for key in ("spend_to_target_usd", "spend_to_target_seconds_usd"):
        if forecast.get(key) is not None:
            return forecast[key]
    return None


def _target_set(forecast: dict) -> bool:
    return bool(forecast.get("target_accepted_takes") or forecast.get("target_accepted_seconds"))


def target_date(forecast: dict, *, today: date) -> date | None:
    """The day the target is reached at the recent burn rate; today if it already is; None
    without a target, an acceptance rate or a burn rate. Never before today: a project whose
    spending stopped weeks ago still has everything left to do."""
    needed = _spend_to_target(forecast)
    if needed is None:
        return None
    if needed <= 0:
        return today
    burn, window = forecast.get("burn_rate_usd_per_day"), forecast.get("burn_window")
    if not burn or not window:
        return None
    last = date.fromisoformat(window[1])
    return max(today, last + timedelta(days=math.ceil(needed / burn)))


def deadline_status(*, forecast: dict, deadline: date | None, today: date) -> DeadlineStatus | None:
    """The deadline status of one project from its stats summary's `forecast`."""
    if deadline is None:
        return None
    days_left = (deadline - today).days
    run_out = forecast.get("run_out_date")
    run_out = date.fromisoformat(run_out) if run_out else None
    reached = _spend_to_target(forecast) == 0
    when = target_date(forecast, today=today)

    def result(status: str, reason: str) -> DeadlineStatus:
        return DeadlineStatus(status, deadline, when, run_out, days_left, reason)

    if reached:
        return result(ON_TRACK, "The target is reached.")
    if days_left < 0:
        return result(LATE, f"The deadline passed {_days(-days_left)} ago without the target.")
    if not _target_set(forecast):
        return result(UNKNOWN, "No target set: set accepted takes or seconds.")
    if when is None:
        return result(UNKNOWN, "Not enough data yet: no accepted take or no recent spending.")
    margin = (deadline - when).days
    if margin < 0:
        return result(
            LATE, f"At the recent burn the target is reached on {when}, {_days(-margin)} late."
        )
    if run_out is not None and run_out < when:
        return result(
            AT_RISK,
            f"The budget runs out on {run_out}, {_days((when - run_out).days)} before the target"
            f" date {when}.",
        )
    if margin < AT_RISK_SHARE * days_left:
        return result(
            AT_RISK, f"The target is reached on {when}, only {_days(margin)} before the deadline."
        )
    return result(
        ON_TRACK, f"The target is reached on {when}, {_days(margin)} before the deadline."
    )
