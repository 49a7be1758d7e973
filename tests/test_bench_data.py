"""The benchmark's generator writes takes with raw SQL; keep it in step with the schema."""

import pytest

from bench.data import make_project
from generations.models import Review, Take
from generations.selectors.stats import project_stats
from generations.services.rollups import rollups_recompute

from .factories import UserFactory


@pytest.mark.django_db
def test_the_bench_generator_makes_a_project_the_app_can_read():
    project = make_project(slug="bench-test", takes=300, owner=UserFactory())
    assert Take.objects.filter(project=project).count() == 300
    reviewed = Take.objects.filter(project=project).exclude(current_verdict="").count()
    assert reviewed == 270  # every tenth take is left unreviewed
    assert Review.objects.filter(take__project=project).count() > reviewed  # second opinions
    rollups_recompute(project_id=project.pk)
    stats = project_stats(project=project)
    assert (stats["takes"], stats["reviewed"]) == (300, 270)
    assert 0 < stats["accepted"] < stats["reviewed"]
    assert_models_vary(project, stats)


def assert_models_vary(project, stats):
    """Every model of the generator gets takes, and a prompt version's takes span several
    models: a per-model rollup wired to the wrong column cannot pass on bench data."""
    from django.db.models import Count

    from bench.data import MODELS

    by_model = {model: row["takes"] for model, row in stats["by_model"].items()}
    assert set(by_model) == set(MODELS), by_model
    assert sum(by_model.values()) == stats["takes"]
    assert max(by_model.values()) - min(by_model.values()) <= stats["takes"] // len(MODELS)
    spread = (
        Take.objects.filter(project=project)
        .values("prompt_version")
        .annotate(n=Count("model", distinct=True))
        .order_by("-n")
        .values_list("n", flat=True)
    )
    assert spread[0] > 1


@pytest.mark.django_db
def test_the_realistic_shape_has_one_shot_per_prompt_and_2_to_5_versions():
    from django.db.models import Count, F, Max, Min

    from bench.data import make_realistic_project
    from generations.models import PromptVersion, Shot

    project = make_realistic_project(slug="bench-real", takes=2000, owner=UserFactory())
    assert Take.objects.filter(project=project).count() == 2000
    assert Shot.objects.filter(project=project).count() == 300  # 15% of the takes
    per_shot = (
        PromptVersion.objects.filter(shot__project=project)
        .values("shot")
        .annotate(n=Count("id"), top=Max("number"), low=Min("number"))
    )
    assert {r["n"] for r in per_shot} == {2, 3, 4, 5}
    assert all(r["low"] == 1 and r["top"] == r["n"] for r in per_shot)
    chained = PromptVersion.objects.filter(shot__project=project, number__gt=1)
    assert not chained.filter(parent__isnull=True).exists()
    assert not chained.exclude(parent__shot=F("shot")).exists()
    rollups_recompute(project_id=project.pk, ledger=True)
    stats = project_stats(project=project)
    assert stats["takes"] == 2000 and stats["dimensions"]["shots"] == 300
    assert len(stats["by_pass"]) == 5
    assert_models_vary(project, stats)
