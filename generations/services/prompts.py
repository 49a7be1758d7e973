"""Writes for prompt versions: each new version takes the next number in its shot and records
the version it was iterated from."""

from django.db import IntegrityError, transaction
from django.db.models import Max

from ..models import PromptVersion, Shot
from .projects import ServiceError


def prompt_version_create(
    *,
    shot: Shot,
    text: str,
    author=None,
    parent: PromptVersion | None = None,
    negative_prompt: str = "",
    parameters: dict | None = None,
    change_note: str = "",
) -> PromptVersion:
    if parent is not None and parent.shot_id != shot.pk:
        raise ServiceError("A version can only be iterated from a version of the same shot.")
    for _attempt in range(3):
        try:
            with transaction.atomic():
                latest = shot.versions.aggregate(n=Max("number"))["n"] or 0
                version = PromptVersion(
                    shot=shot,
                    number=latest + 1,
                    parent=parent,
                    text=text.strip(),
                    negative_prompt=negative_prompt.strip(),
                    parameters=parameters or {},
                    author=author,
                    change_note=change_note.strip(),
                )
                version.full_clean(validate_unique=False)
                version.save()
                return version
        except IntegrityError:
            continue  # two authors took the same number at once: take the next one
    raise ServiceError("Could not number the new version; try again.")
