"""Model rows to the API's response shapes (plain dicts, so an idempotent POST can store and
replay exactly what it answered)."""

from ..access import ProjectAccess
from ..models import Note, PromptVersion, Review, Shot, Take


def _float(value):
    return None if value is None else float(value)


def project_out(access: ProjectAccess) -> dict:
    project, membership = access.project, access.membership
    return {
        "slug": project.slug,
        "name": project.name,
        "brief": project.brief,
        "budget_usd": _float(project.budget_usd),
        "deadline": project.deadline.isoformat() if project.deadline else None,
        "role": membership.role,
        "is_owner": membership.is_owner,
        "capabilities": sorted(c for c in membership.capabilities if access.can(c)),
        "created_at": project.created_at,
    }


def shot_out(shot: Shot) -> dict:
    return {
        "id": shot.pk,
        "name": shot.name,
        "description": shot.description,
        "target_duration_s": _float(shot.target_duration_s),
        "created_at": shot.created_at,
    }


def version_out(version: PromptVersion) -> dict:
    return {
        "id": version.pk,
        "shot_id": version.shot_id,
        "number": version.number,
        "label": version.label,
        "parent_id": version.parent_id,
        "text": version.text,
        "negative_prompt": version.negative_prompt,
        "parameters": version.parameters or {},
        "change_note": version.change_note,
        "author": version.author.username if version.author_id else None,
        "created_at": version.created_at,
    }


def take_out(take: Take, tags: list[str] | None = None) -> dict:
    if tags is None:
        tags = getattr(take, "current_tags", [])
    return {
        "id": take.pk,
        "external_id": take.external_id,
        "shot_id": take.shot_id,
        "shot": take.shot.name,
        "prompt_version_id": take.prompt_version_id,
        "version": take.prompt_version.number,
        "pass_number": take.pass_number,
        "model": take.model,
        "seed": take.seed,
        "status": take.status,
        "status_reason": take.status_reason,
        "duration_s": _float(take.duration_s),
        "fps": _float(take.fps),
        "width": take.width,
        "height": take.height,
        "codec": take.codec,
        "media_url": take.media_url,
        "original_filename": take.original_filename,
        "cost_usd": float(take.cost_usd),
        "cost_source": take.cost_source,
        "verdict": take.current_verdict or None,
        "tags": tags,
        "created_at": take.created_at.isoformat(),
        "url": take.get_absolute_url(),
    }


def review_out(review: Review) -> dict:
    return {
        "id": review.pk,
        "verdict": review.verdict,
        "kind": review.kind,
        "reviewer": review.reviewer.username,
        "tags": [t.slug for t in review.failure_tags.all()],
        "comment": review.comment,
        "created_at": review.created_at,
    }


def note_out(note: Note) -> dict:
    return {
        "id": note.pk,
        "seconds": float(note.seconds),
        "frame": note.frame,
        "text": note.text,
        "tag": note.tag.slug if note.tag_id else None,
        "drawing": note.drawing or [],
        "author": note.author.username if note.author_id else None,
        "review_id": note.review_id,
        "created_at": note.created_at,
    }
