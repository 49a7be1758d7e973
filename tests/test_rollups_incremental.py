"""Incremental refresh == full rebuild == a plain-Python reference, over random sequences of
creates, reviews, re-reviews, undos, deletes and cost changes (hypothesis)."""

import contextlib
import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generations.models import FailureTag, Take
from generations.services.projects import ServiceError
from generations.services.reviews import review_delete, review_record, review_undo
from generations.services.rollups import rollups_rebuild, rollups_refresh, rollups_rows
from generations.services.takes import take_delete, take_update_cost

from .factories import ProjectFactory, PromptVersionFactory, ShotFactory, TakeFactory, UserFactory

MODELS = ["sora-2", "veo-3", "kling-2"]
TAGS = ["flicker", "warping", "blur", "anatomy"]
DAY0 = dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)

op = st.one_of(
    st.tuples(st.just("create"), st.integers(0, 3), st.integers(0, 2), st.integers(1, 400),
              st.integers(0, 4), st.integers(3, 12)),
    st.tuples(st.just("review"), st.integers(0, 99), st.integers(0, 2),
              st.sampled_from(["accept", "reject"]), st.sets(st.sampled_from(TAGS), max_size=3)),
    st.tuples(st.just("undo"), st.integers(0, 99), st.integers(0, 2)),
    st.tuples(st.just("delete_review"), st.integers(0, 99)),
    st.tuples(st.just("delete_take"), st.integers(0, 99)),
    st.tuples(st.just("cost"), st.integers(0, 99), st.integers(0, 500)),
    st.just(("refresh",)),
)  # fmt: skip


def reference(project) -> dict:
    """SPEC §4 counts in plain Python over the ORM objects, one take at a time."""
    totals, by_model, tags = Counter(), Counter(), Counter()
    spend, seconds = Decimal(0), Decimal(0)
    for take in Take.objects.filter(project=project):
        latest = take.reviews.order_by("-created_at", "-id").first()
        verdict = latest.verdict if latest and latest.verdict in ("accept", "reject") else ""
        totals["takes"] += 1
        by_model[(take.model, "takes")] += 1
        spend += take.cost_usd
        if verdict:
            totals["reviewed"] += 1
            by_model[(take.model, "reviewed")] += 1
        if verdict == "accept":
            totals["accepted"] += 1
            seconds += take.duration_s
        if verdict == "reject":
            tags.update(latest.failure_tags.values_list("slug", flat=True))
    return {"totals": dict(totals), "models": dict(by_model), "tags": dict(tags),
            "spend": spend, "seconds": seconds}  # fmt: skip


def from_rows(rows) -> dict:
    total = rows.get(("project", "", ""), {})
    return {
        "totals": {k: total[k] for k in ("takes", "reviewed", "accepted") if total.get(k)},
        "models": {
            (key, field): values[field]
            for (dim, key, _), values in rows.items()
            if dim == "model"
            for field in ("takes", "reviewed")
            if values[field]
        },
        "tags": {key: v["takes"] for (dim, key, _), v in rows.items() if dim == "tag"},
        "spend": total.get("spend_usd", Decimal(0)),
        "seconds": total.get("accepted_seconds", Decimal(0)),
    }


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ops=st.lists(op, min_size=1, max_size=25))
def test_incremental_refresh_equals_full_rebuild(ops):
    with transaction.atomic():
        project = ProjectFactory()
        shots = [ShotFactory(project=project, name=f"s{i}") for i in range(2)]
        versions = [PromptVersionFactory(shot=shots[i % 2], number=i // 2 + 1) for i in range(4)]
        reviewers = [UserFactory(username=f"r{i}@studio.test") for i in range(3)]
        tags = {s: FailureTag.objects.get_or_create(slug=s, defaults={"name": s})[0] for s in TAGS}
        clock = [DAY0 + dt.timedelta(days=10)]

        def pick(i):
            takes = list(Take.objects.filter(project=project).order_by("pk"))
            return takes[i % len(takes)] if takes else None

        for step in ops:
            kind = step[0]
            if kind == "create":
                _, v, m, cents, day, secs = step
                TakeFactory(prompt_version=versions[v], model=MODELS[m],
                            cost_usd=Decimal(cents) / 100, duration_s=Decimal(secs),
                            created_at=DAY0 + dt.timedelta(days=day))  # fmt: skip
                continue
            if kind == "refresh":
                rollups_refresh(project_id=project.pk)
                continue
            take = pick(step[1])
            if take is None:
                continue
            clock[0] += dt.timedelta(minutes=1)
            if kind == "review":
                review_record(take=take, reviewer=reviewers[step[2]], verdict=step[3],
                              tags=[tags[s] for s in step[4]], at=clock[0])  # fmt: skip
            elif kind == "undo":
                with contextlib.suppress(ServiceError):
                    review_undo(take=take, reviewer=reviewers[step[2]])
            elif kind == "delete_review":
                latest = take.reviews.order_by("-created_at", "-id").first()
                if latest:
                    review_delete(review=latest)
            elif kind == "delete_take":
                take_delete(take=take)
            elif kind == "cost":
                take_update_cost(take=take, cost_usd=Decimal(step[2]) / 100)

        rollups_refresh(project_id=project.pk)
        incremental = rollups_rows(project_id=project.pk)
        assert from_rows(incremental) == reference(project)
        rollups_rebuild(project_id=project.pk)
        assert rollups_rows(project_id=project.pk) == incremental
        transaction.set_rollback(True)
