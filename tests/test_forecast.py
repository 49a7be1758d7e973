"""Deadline status (issue 11 item 5): the forecast's target date and run-out date against the
deadline give on track / at risk / late, with the numbers."""

from datetime import date

import pytest

from generations.selectors.forecast import (
    AT_RISK,
    LATE,
    ON_TRACK,
    UNKNOWN,
    deadline_status,
    target_date,
)

TODAY = date(2026, 12, 1)


def _forecast(*, needed=200.0, burn=10.0, last="2026-11-30", run_out=None, takes=50):
    return {
        "target_accepted_takes": takes,
        "target_accepted_seconds": None,
        "spend_to_target_usd": needed,
        "spend_to_target_seconds_usd": None,
        "burn_rate_usd_per_day": burn,
        "burn_window": ["2026-11-17", last],
        "run_out_date": run_out,
    }


def test_the_target_date_is_the_spend_still_needed_at_the_recent_burn():
    # $200 at $10/day from the last spending day (Nov 30): 20 days, Dec 20.
    assert target_date(_forecast(), today=TODAY) == date(2026, 12, 20)
    # $205 needs a 21st day.
    assert target_date(_forecast(needed=205.0), today=TODAY) == date(2026, 12, 21)
    # Spending stopped long ago: never before today.
    assert target_date(_forecast(last="2026-01-01", needed=10.0), today=TODAY) == TODAY
    assert target_date(_forecast(burn=None), today=TODAY) is None
    assert target_date(_forecast(needed=None), today=TODAY) is None


@pytest.mark.parametrize(
    "forecast, deadline, status, words",
    [
        # Dec 20 against Jan 31: 42 days early, budget lasts.
        (_forecast(run_out="2027-03-01"), date(2027, 1, 31), ON_TRACK, "42 days before"),
        # Dec 20 against Dec 15: 5 days late.
        (_forecast(), date(2026, 12, 15), LATE, "2026-12-20, 5 days late"),
        # In time, but the money ends Dec 10, 10 days before the target date.
        (_forecast(run_out="2026-12-10"), date(2027, 1, 31), AT_RISK, "10 days before the target"),
        # Dec 20 against Dec 22: 2 days of margin out of 21 left (less than a fifth).
        (_forecast(), date(2026, 12, 22), AT_RISK, "only 2 days before"),
        # The deadline passed without the target.
        (_forecast(), date(2026, 11, 20), LATE, "passed 11 days ago"),
        # Reached: on track whatever the date.
        (_forecast(needed=0.0), date(2026, 11, 20), ON_TRACK, "reached"),
        (_forecast(needed=None, takes=None), date(2027, 1, 31), UNKNOWN, "No target"),
        (_forecast(burn=None), date(2027, 1, 31), UNKNOWN, "Not enough data"),
    ],
)
def test_deadline_status(forecast, deadline, status, words):
    result = deadline_status(forecast=forecast, deadline=deadline, today=TODAY)
    assert result.status == status
    assert words in result.reason
    assert result.days_left == (deadline - TODAY).days
    assert result.as_dict()["deadline"] == deadline.isoformat()


def test_no_deadline_no_status():
    assert deadline_status(forecast=_forecast(), deadline=None, today=TODAY) is None
