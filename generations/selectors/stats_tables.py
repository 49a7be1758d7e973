"""The rollup rows whose number grows with the project (shots, prompt versions, reviewers, failure
tags by shot, tag pairs), served a page at a time: sorted, filtered by a search, and paginated
by an opaque keyset cursor, so a page costs two indexed queries whether the project has ten
shots or a hundred thousand.

`GET /api/v1/projects/<slug>/stats/<dimension>`, the "all rows" tables of the pages and the top
rows on the project page and dashboards all read through `stats_dimension_page`."""

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db.models import Q

from ..models import Dimension, Project, RollupCount, RollupRow
from .stats_numbers import acceptance, costs, ratio

MAX_LIMIT = 200
MAX_QUERY = 100
# sort name -> RollupRow column. A leading "-" sorts descending (the default for numbers).
SORTS = {
    "takes": "takes",
    "reviewed": "reviewed",
    "accepted": "accepted",
    "spend": "spend_usd",
    "name": "label",
}
_ROW_FIELDS = ("key", "key2", "label", *{f for f in SORTS.values()}, "accepted_seconds")


class StatsQueryError(ValueError):
    """A bad sort, cursor or limit: the API answers 400 with this message."""


class UnknownDimension(StatsQueryError):
    """Not one of STATS_DIMENSIONS: the API answers 404."""


@dataclass(frozen=True)
class Column:
    field: str
    heading: str
    numeric: bool = True


@dataclass(frozen=True)
class Table:
    dimension: str
    title: str
    default_sort: str
    row: Callable[[dict], dict]
    columns: tuple[Column, ...]
    # Columns a search (`q`, case-insensitive substring) looks in.
    search: tuple[str, ...] = ("label",)


def _takes_row(r: dict) -> dict:
    return {**acceptance(r), **costs(r)}


def _shot(r: dict) -> dict:
    return {"shot": r["label"], "shot_id": int(r["key"]), **_takes_row(r)}


def _version(r: dict) -> dict:
    return {
        "prompt_version": r["label"],
        "version_id": int(r["key"]),
        "shot": r["label"].rsplit(" v", 1)[0],
        "shot_id": int(r["key2"]),
        **_takes_row(r),
    }


def _reviewer(r: dict) -> dict:
    return {
        "reviewer": r["label"],
        "reviewer_id": int(r["key"]),
        "reviews": r["reviewed"],
        "accepted": r["accepted"],
        "share_accepted": ratio(r["accepted"], r["reviewed"]),
        "compared": r["pairs"],
        "agreed": r["agreed"],
        "agreement": ratio(r["agreed"], r["pairs"]),
    }


def _tag_shot(r: dict) -> dict:
    return {"shot": r["key2"], "tag": r["key"], "takes": r["takes"]}


def _tag_pair(r: dict) -> dict:
    return {"tags": [r["key"], r["key2"]], "label": r["label"], "takes": r["takes"]}


TAKE_COLUMNS = (
    Column("takes", "Takes"),
    Column("reviewed", "Reviewed"),
    Column("accepted", "Accepted"),
    Column("acceptance_rate", "Rate"),
    Column("spend_usd", "Spend (USD)"),
    Column("cost_per_accepted_usd", "USD per accepted"),
)
TABLES: dict[str, Table] = {
    "shots": Table(
        Dimension.SHOT, "Shots", "-takes", _shot, (Column("shot", "Shot", False), *TAKE_COLUMNS)
    ),
    "prompt_versions": Table(
        Dimension.VERSION,
        "Prompt versions",
        "-takes",
        _version,
        (Column("prompt_version", "Prompt version", False), *TAKE_COLUMNS),
    ),
    "reviewers": Table(
        Dimension.REVIEWER,
        "Reviewers",
        "-reviewed",
        _reviewer,
        (
            Column("reviewer", "Reviewer", False),
            Column("reviews", "Reviews"),
            Column("share_accepted", "Share accepted"),
            Column("compared", "Compared with others"),
            Column("agreement", "Agreement"),
        ),
    ),
    "failures_by_shot": Table(
        Dimension.TAG_SHOT,
        "Failure tags by shot",
        "-takes",
        _tag_shot,
        (
            Column("shot", "Shot", False),
            Column("tag", "Tag", False),
            Column("takes", "Rejected takes"),
        ),
        search=("key", "key2"),
    ),
    "tag_pairs": Table(
        Dimension.TAG_PAIR,
        "Failure tags together",
        "-takes",
        _tag_pair,
        (Column("label", "Tags", False), Column("takes", "Rejected takes")),
    ),
}
STATS_DIMENSIONS = tuple(TABLES)


def _encode(values: list) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, field: str) -> tuple:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, key, key2 = json.loads(raw)
        if not isinstance(key, str) or not isinstance(key2, str):
            raise ValueError
        if field == "label":
            if not isinstance(value, str):
                raise ValueError
        elif field == "spend_usd":
            value = Decimal(str(value))
        elif not isinstance(value, int):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeDecodeError):
        raise StatsQueryError(
            "Invalid cursor: pass back the next_cursor of a previous page."
        ) from None
    return value, key, key2


def _limit(limit) -> int:
    try:
        limit = int(limit)
    except (TypeError, ValueError):
        raise StatsQueryError("limit must be a whole number.") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise StatsQueryError(f"limit must be between 1 and {MAX_LIMIT}.")
    return limit


def _after(field: str, descending: bool, value, key: str, key2: str) -> Q:
    """Rows after the cursor in (field, key, key2) order. The redundant bound on `field` alone
    lets the index scan start at the cursor instead of filtering from the first row."""
    op = "lt" if descending else "gt"
    return Q(**{f"{field}__{op}e": value}) & (
        Q(**{f"{field}__{op}": value})
        | Q(**{field: value, f"key__{op}": key})
        | Q(**{field: value, "key": key, f"key2__{op}": key2})
    )


def stats_dimension_page(
    *,
    project: Project,
    dimension: str,
    sort: str | None = None,
    q: str | None = None,
    cursor: str | None = None,
    limit=50,
    shot_id: int | None = None,
) -> dict:
    """One page of a dimension's rows: {"dimension", "sort", "q", "limit", "total" (rows in the
    dimension, before the search), "results", "next_cursor" (None on the last page)}.
    `shot_id` keeps the prompt versions of one shot. Two indexed queries."""
    table = TABLES.get(dimension)
    if table is None:
        raise UnknownDimension(f"No dimension {dimension!r}: one of {', '.join(TABLES)}.")
    sort = sort or table.default_sort
    descending = sort.startswith("-")
    field = SORTS.get(sort.removeprefix("-"))
    if field is None:
        names = ", ".join(f"{name}, -{name}" for name in SORTS)
        raise StatsQueryError(f"Unknown sort {sort!r}: one of {names}.")
    limit = _limit(limit)
    rows = RollupRow.objects.filter(project=project, dimension=table.dimension)
    if shot_id is not None and table.dimension == Dimension.VERSION:
        rows = rows.filter(key2=str(shot_id))
    q = (q or "").strip()[:MAX_QUERY]
    if q:
        match = Q()
        for column in table.search:
            match |= Q(**{f"{column}__icontains": q})
        rows = rows.filter(match)
    if cursor:
        rows = rows.filter(_after(field, descending, *_decode(cursor, field)))
    prefix = "-" if descending else ""
    found = list(
        rows.order_by(f"{prefix}{field}", f"{prefix}key", f"{prefix}key2").values(
            *_ROW_FIELDS, "pairs", "agreed"
        )[: limit + 1]
    )
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        last = found[-1]
        value = last[field]
        next_cursor = _encode(
            [str(value) if isinstance(value, Decimal) else value, last["key"], last["key2"]]
        )
    total = (
        RollupCount.objects.filter(project=project, dimension=table.dimension)
        .values_list("rows", flat=True)
        .first()
    ) or 0
    return {
        "dimension": dimension,
        "title": table.title,
        "sort": sort,
        "q": q,
        "limit": limit,
        "total": total,
        "results": [table.row(r) for r in found],
        "next_cursor": next_cursor,
    }


def stats_top(*, project: Project, dimension: str, limit: int = 10, sort: str | None = None):
    """The first rows of a dimension for a page, with how many more the full table holds."""
    page = stats_dimension_page(project=project, dimension=dimension, sort=sort, limit=limit)
    return {**page, "more": max(0, page["total"] - len(page["results"]))}


def stats_shot_versions(*, project: Project, name: str = "", top: dict | None = None):
    """A shot's prompt versions in version order: the shot named `name`, else the first of
    `top` (a page of shots). None when there is no such shot (or no shot at all)."""
    from ..models import Shot

    name = (name or "").strip()[:200]
    if name:
        found = Shot.objects.filter(project=project, name=name).values_list("pk", "name").first()
    elif top and top["results"]:
        found = (top["results"][0]["shot_id"], top["results"][0]["shot"])
    else:
        found = None
    if found is None:
        return None
    page = stats_dimension_page(
        project=project, dimension="prompt_versions", shot_id=found[0], sort="name",
        limit=MAX_LIMIT,
    )  # fmt: skip
    page["results"].sort(key=lambda v: v["version_id"])
    return {"shot_id": found[0], "name": found[1], "versions": page}


def stats_failures_by_top_shots(*, project: Project, shots: int = 10) -> dict:
    """The failure tags of the shots with the largest tag counts: the largest (shot, tag) cells
    come first from the takes index, then every cell of those shots from the key2 index. Two
    queries whatever the number of shots."""
    cells = RollupRow.objects.filter(project=project, dimension=Dimension.TAG_SHOT)
    names: list[str] = []
    for shot in cells.order_by("-takes", "-key", "-key2").values_list("key2", flat=True)[
        : shots * 20
    ]:
        if shot not in names:
            names.append(shot)
            if len(names) == shots:
                break
    values = {
        (shot, tag): n
        for tag, shot, n in cells.filter(key2__in=names).values_list("key", "key2", "takes")
    }
    total = (
        RollupCount.objects.filter(project=project, dimension=Dimension.TAG_SHOT)
        .values_list("rows", flat=True)
        .first()
    ) or 0
    names.sort(key=lambda s: -sum(n for (shot, _), n in values.items() if shot == s))
    return {"shots": names, "cells": values, "total": total}
