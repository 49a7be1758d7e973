"""Importing the sample manifest gives, for every SPEC §4 key, what an independent computation
in plain Python over the JSON lines gives (no ORM, no rollups, its own Wilson interval)."""

import json
import math
import pathlib
from collections import defaultdict
from datetime import datetime

import pytest

from generations.models import Project
from generations.selectors.stats import project_stats
from generations.services.manifest import manifest_import
from generations.services.rollups import rollups_refresh

# The sample sits in shared/ beside the repository, as it does in CI (see the README).
MANIFEST = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "sample-manifest.jsonl"


def wilson(a: int, n: int):
    if not n:
        return None
    z = 1.959964
    p = a / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [centre - half, centre + half]


def reference(lines: list[dict], project: str) -> dict:
    def counts():
        return {"takes": 0, "reviewed": 0, "accepted": 0, "spend": 0.0, "seconds": 0.0}

    total, passes, models = counts(), defaultdict(counts), defaultdict(counts)
    failures, days = defaultdict(int), defaultdict(float)
    for line in lines:
        if line["project"] != project:
            continue
        reviews = sorted(
            enumerate(line.get("reviews") or []),
            key=lambda ir: (datetime.fromisoformat(ir[1]["reviewed_at"]), ir[0]),
        )
        current = reviews[-1][1] if reviews else None
        verdict = current["verdict"] if current else ""
        for bucket in (total, passes[line["pass"]], models[line["model"]]):
            bucket["takes"] += 1
            bucket["spend"] += line["cost_usd"]
            bucket["reviewed"] += verdict in ("accept", "reject")
            bucket["accepted"] += verdict == "accept"
            bucket["seconds"] += line["duration_s"] if verdict == "accept" else 0
        if verdict == "reject":
            for tag in set(current.get("failure_tags") or []):
                failures[tag] += 1
        days[line["created_at"][:10]] += line["cost_usd"]

    def rates(b):
        rate = b["accepted"] / b["reviewed"] if b["reviewed"] else None
        return {"reviewed": b["reviewed"], "accepted": b["accepted"], "acceptance_rate": rate}

    cumulative, burn = 0.0, []
    for day in sorted(days):
        cumulative += days[day]
        burn.append({"date": day, "spend_usd": days[day], "cumulative_usd": cumulative})
    return {
        "takes": total["takes"],
        "reviewed": total["reviewed"],
        "accepted": total["accepted"],
        "rejected": total["reviewed"] - total["accepted"],
        "acceptance_rate": total["accepted"] / total["reviewed"],
        "acceptance_ci95": wilson(total["accepted"], total["reviewed"]),
        "first_pass": rates(passes[1]),
        "by_pass": {str(k): rates(v) for k, v in passes.items()},
        "by_model": {
            k: {
                "takes": v["takes"],
                **rates(v),
                "spend_usd": v["spend"],
                "cost_per_accepted_usd": v["spend"] / v["accepted"] if v["accepted"] else None,
            }
            for k, v in models.items()
        },
        "spend_usd": total["spend"],
        "accepted_seconds": total["seconds"],
        "cost_per_accepted_usd": total["spend"] / total["accepted"],
        "cost_per_accepted_second_usd": total["spend"] / total["seconds"],
        "failure_breakdown": dict(failures),
        "burn_by_day": burn,
        "budget_usd": None,  # the manifest carries no budget
        "budget_used": None,
    }


def close(actual, expected, path=""):
    """Equal structure; numbers equal to the 4 decimals the API prints."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and set(actual) >= set(expected), path
        for key in expected:
            close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            close(a, e, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, abs=1.01e-4), path
    else:
        assert actual == expected, path


@pytest.mark.django_db
def test_sample_manifest_matches_an_independent_reference():
    raw = MANIFEST.read_text().splitlines()
    lines = [json.loads(line) for line in raw if line.strip()]
    report = manifest_import(lines=raw)
    assert report.ok and report.takes_created == len(lines)
    for slug in sorted({line["project"] for line in lines}):
        project = Project.objects.get(slug=slug)
        rollups_refresh(project_id=project.pk)
        stats = project_stats(project=project)
        expected = reference(lines, slug)
        close(stats, expected, slug)
        # Key order of the failure breakdown: most frequent first.
        assert list(stats["failure_breakdown"].values()) == sorted(
            expected["failure_breakdown"].values(), reverse=True
        )
        assert stats["computed_at"]
