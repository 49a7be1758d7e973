"""Projects, shots and prompt versions."""

from django.shortcuts import get_object_or_404
from ninja import Router, Status

from ..access import ProjectAccess, get_project, get_shot, get_version, visible_projects
from ..models import Membership, PromptVersion
from ..services import prompts as prompt_services
from ..services.projects import shot_create
from . import out
from .errors import ERRORS, field_error
from .schemas import ProjectOut, ShotIn, ShotOut, ShotVersionIn, VersionIn, VersionOut

router = Router(tags=["projects"])


@router.get("/projects", response={200: list[ProjectOut], **ERRORS}, summary="Your projects")
def project_list(request):
    projects = visible_projects(request).order_by("name")
    memberships = Membership.objects.filter(user=request.user, project__in=projects)
    token = getattr(request, "api_token", None)
    read_only = bool(token and token.read_only)
    return [
        out.project_out(ProjectAccess(project=m.project, membership=m, read_only=read_only))
        for m in memberships.select_related("project").order_by("project__name")
    ]


@router.get("/projects/{slug}", response={200: ProjectOut, **ERRORS}, summary="One project")
def project_detail(request, slug: str):
    return out.project_out(get_project(request, slug))


@router.get("/projects/{slug}/shots", response={200: list[ShotOut], **ERRORS}, tags=["shots"])
def shot_list(request, slug: str):
    access = get_project(request, slug)
    return [out.shot_out(s) for s in access.project.shots.order_by("name")]


@router.post(
    "/projects/{slug}/shots", response={201: ShotOut, **ERRORS}, tags=["shots"], summary="New shot"
)
def shot_new(request, slug: str, payload: ShotIn):
    access = get_project(request, slug, "write_prompts")
    if access.project.shots.filter(name=payload.name).exists():
        raise field_error("name", f"A shot named {payload.name!r} already exists.")
    shot = shot_create(
        project=access.project,
        name=payload.name,
        description=payload.description,
        target_duration_s=payload.target_duration_s,
    )
    return Status(201, out.shot_out(shot))


@router.get(
    "/projects/{slug}/shots/{int:shot_id}", response={200: ShotOut, **ERRORS}, tags=["shots"]
)
def shot_detail(request, slug: str, shot_id: int):
    _access, shot = get_shot(request, slug, shot_id)
    return out.shot_out(shot)


@router.get(
    "/projects/{slug}/shots/{int:shot_id}/versions",
    response={200: list[VersionOut], **ERRORS},
    tags=["prompt versions"],
    summary="A shot's prompt lineage, oldest first",
)
def version_list(request, slug: str, shot_id: int):
    _access, shot = get_shot(request, slug, shot_id)
    versions = shot.versions.select_related("author").order_by("number")
    return [out.version_out(v) for v in versions]


@router.post(
    "/projects/{slug}/shots/{int:shot_id}/versions",
    response={201: VersionOut, **ERRORS},
    tags=["prompt versions"],
    summary="New prompt version (vN+1), optionally from a parent of the same shot",
)
def version_new(request, slug: str, shot_id: int, payload: ShotVersionIn):
    _access, shot = get_shot(request, slug, shot_id, "write_prompts")
    parent = None
    if payload.parent_id is not None:
        parent = PromptVersion.objects.filter(pk=payload.parent_id, shot=shot).first()
        if parent is None:
            raise field_error("parent_id", "No version with this id in this shot.")
    version = _create(shot=shot, parent=parent, payload=payload, user=request.user)
    return Status(201, out.version_out(version))


@router.get(
    "/projects/{slug}/versions/{int:version_id}",
    response={200: VersionOut, **ERRORS},
    tags=["prompt versions"],
)
def version_detail(request, slug: str, version_id: int):
    _access, version = get_version(request, slug, version_id)
    return out.version_out(version)


@router.post(
    "/projects/{slug}/versions/{int:version_id}/iterate",
    response={201: VersionOut, **ERRORS},
    tags=["prompt versions"],
    summary="Iterate: vN+1 of the shot with this version as parent (fields left out are copied)",
)
def version_iterate(request, slug: str, version_id: int, payload: VersionIn):
    _access, parent = get_version(request, slug, version_id, "write_prompts")
    version = _create(shot=parent.shot, parent=parent, payload=payload, user=request.user)
    return Status(201, out.version_out(version))


def _create(*, shot, parent, payload: VersionIn, user) -> PromptVersion:
    text = payload.text if payload.text is not None else (parent.text if parent else None)
    if not text:
        raise field_error("text", "A first version needs a prompt text.")
    version = prompt_services.prompt_version_create(
        shot=shot,
        parent=parent,
        author=user,
        text=text,
        negative_prompt=_inherit(payload.negative_prompt, parent, "negative_prompt", ""),
        parameters=_inherit(payload.parameters, parent, "parameters", {}),
        change_note=payload.change_note,
    )
    return get_object_or_404(PromptVersion.objects.select_related("author"), pk=version.pk)


def _inherit(value, parent, name, default):
    if value is not None:
        return value
    return getattr(parent, name) if parent else default
