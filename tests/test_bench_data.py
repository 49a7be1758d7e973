"""The benchmark's generator writes takes with raw SQL; keep it in step with the schema."""

import pytest

from bench.data import make_project
from generations.models import Review, Take
from generations.selectors.stats import project_stats
from generations.services.rollups import rollups_rebuild

from .factories import UserFactory


@pytest.mark.django_db
def test_the_bench_generator_makes_a_project_the_app_can_read():
    project = make_project(slug="bench-test", takes=300, owner=UserFactory())
    assert Take.objects.filter(project=project).count() == 300
    reviewed = Take.objects.filter(project=project).exclude(current_verdict="").count()
    assert reviewed == 270  # every tenth take is left unreviewed
    assert Review.objects.filter(take__project=project).count() > reviewed  # second opinions
    rollups_rebuild(project_id=project.pk)
    stats = project_stats(project=project)
    assert (stats["takes"], stats["reviewed"]) == (300, 270)
    assert 0 < stats["accepted"] < stats["reviewed"]
