"""Reads for prompt lineage and diffs."""

import difflib
import re
from dataclasses import dataclass

from ..models import Dimension, PromptVersion, RollupRow, Shot, Take

_TOKEN = re.compile(r"\s+|[^\w\s]|\w+")


@dataclass(frozen=True)
class DiffPart:
    op: str  # "equal", "insert", "delete"
    text: str


def word_diff(old: str, new: str) -> list[DiffPart]:
    """Word-level diff of two prompts, keeping whitespace and punctuation as their own tokens."""
    a, b = _TOKEN.findall(old or ""), _TOKEN.findall(new or "")
    parts: list[DiffPart] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            parts.append(DiffPart("equal", "".join(a[i1:i2])))
        else:
            if i2 > i1:
                parts.append(DiffPart("delete", "".join(a[i1:i2])))
            if j2 > j1:
                parts.append(DiffPart("insert", "".join(b[j1:j2])))
    return parts


def parameters_diff(old: dict, new: dict) -> list[tuple[str, object, object]]:
    """(key, old, new) for every parameter that differs, sorted by key."""
    keys = sorted(set(old or {}) | set(new or {}))
    return [
        (k, (old or {}).get(k), (new or {}).get(k))
        for k in keys
        if (old or {}).get(k) != (new or {}).get(k)
    ]


def shot_lineage(*, shot: Shot) -> list[PromptVersion]:
    """The versions of a shot with take, reviewed and accepted counts from the rollup rows."""
    versions = list(
        PromptVersion.objects.filter(shot=shot)
        .select_related("author", "parent")
        .order_by("number")
    )
    counts = {
        r["key"]: r
        for r in RollupRow.objects.filter(
            project_id=shot.project_id, dimension=Dimension.VERSION, key2=str(shot.pk)
        ).values("key", "takes", "reviewed", "accepted")
    }
    for version in versions:
        row = counts.get(str(version.pk), {})
        version.n_takes = row.get("takes", 0)
        version.n_reviewed = row.get("reviewed", 0)
        version.n_accepted = row.get("accepted", 0)
    return versions


def version_takes(*, version: PromptVersion, limit: int = 200):
    return (
        Take.objects.filter(prompt_version=version)
        .select_related("current_review")
        .defer("provenance_manifest")  # kilobytes per take; only the export reads it
        .order_by("-created_at", "-id")[:limit]
    )
