"""Plans that stay good on freshly bulk-loaded tables (no planner statistics for the new rows:
autovacuum is off here and lags a bulk load everywhere). Checked with EXPLAIN: the statements
a full recompute runs over a whole project never nest a loop (a nested aggregate re-run per
take is what turned a 291 ms query into an 8-minute one); and the recompute analyzes the
tables a bulk load left without statistics before it reads them."""

import pytest
from django.db import connection

from bench.data import make_realistic_project
from generations.models import Shot, Take
from generations.services.rollups import rollups_compute, rollups_recompute, rollups_rows
from generations.services.rollups.sql import rollups_plans

from .factories import UserFactory
from .test_rollups_incremental import comparable


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def reltuples(model) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [model._meta.db_table])
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_recompute_plans_hold_on_freshly_loaded_tables():
    # Start from tables that were never analyzed, whatever earlier tests left in pg_class:
    # TRUNCATE gives a table a new file with no statistics (reltuples -1); the test's
    # transaction rolls it back afterwards.
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Shot._meta.db_table}, {Take._meta.db_table} CASCADE")
    assert reltuples(Take) < 0
    project = make_realistic_project(slug="fresh", takes=6000, owner=UserFactory(), analyze=False)
    plans = rollups_plans(project_id=project.pk)
    for name, plan in plans.items():
        kinds = [node["Node Type"] for node in nodes(plan)]
        assert "Nested Loop" not in kinds, (name, kinds)
        assert "Hash Join" in kinds, (name, kinds)
    # The planner believed the project had next to no takes: the statistics were missing.
    estimated = [
        n["Plan Rows"]
        for n in nodes(plans["ledger"])
        if n.get("Relation Name") == Take._meta.db_table
    ]
    assert min(estimated) < 6000 / 10
    rollups_recompute(project_id=project.pk, ledger=True)
    assert reltuples(Take) >= 6000  # analyzed before the grouped queries ran
    stored = rollups_rows(project_id=project.pk)
    assert stored == comparable(rollups_compute(project_id=project.pk, portable=True))
    assert stored[("project", "", "")]["takes"] == 6000
