"""Shapes shared by the rollup modules."""

from collections.abc import Callable

VALUE_FIELDS = (
    "label",
    "takes",
    "reviewed",
    "accepted",
    "spend_usd",
    "accepted_seconds",
    "pairs",
    "agreed",
)
# The numbers of a row, in the order a contribution delta holds them.
NUMBERS = VALUE_FIELDS[1:]
RowKey = tuple[str, str, str]
Progress = Callable[[int, str], None]
