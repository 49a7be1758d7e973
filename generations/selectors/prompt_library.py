"""Reads for the prompt library export: a project's shots and versions in two queries."""

from django.db.models import F

from ..models import Project, PromptVersion, Shot
from ..prompt_files import file_names, shot_document


def prompt_library_files(*, project: Project) -> dict[str, str]:
    """File name -> YAML text, one file per shot (shots without versions included)."""
    shots = list(Shot.objects.filter(project=project).order_by("name", "pk"))
    by_shot: dict[int, list[PromptVersion]] = {}
    versions = (
        PromptVersion.objects.filter(shot__project=project)
        .annotate(parent_number=F("parent__number"))
        .only("shot_id", "number", "text", "negative_prompt", "parameters", "change_note")
        .order_by("shot_id", "number")
    )
    for version in versions:
        by_shot.setdefault(version.shot_id, []).append(version)
    names = file_names([s.name for s in shots])
    return {names[s.name]: shot_document(shot=s, versions=by_shot.get(s.pk, [])) for s in shots}
