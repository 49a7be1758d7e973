"""One helper per object kind: fetch it *for this user*, or 404.

Every view of a project goes through these, so a non-member never learns that a project, shot or
take exists, and a member without the capability gets 403 (they already know it exists).

API requests authenticated by a token carry it as `request.api_token`; the token can only
narrow what its user's membership allows: a project outside its list answers 404 like any
other project, a write through a read-only token 403."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from .models import (
    GenerationBatch,
    GenerationJob,
    ManifestImport,
    Membership,
    Project,
    PromptVersion,
    Shot,
    Take,
    WebhookDelivery,
    WebhookEndpoint,
)
from .models.tokens import READ_ONLY_CAPABILITIES


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    membership: Membership
    read_only: bool = False  # a read-only API token

    @property
    def may(self) -> dict[str, bool]:
        """For templates: {% if access.may.review %}."""
        return {c: True for c in self.membership.capabilities if self.can(c)}

    def can(self, capability: str) -> bool:
        if self.read_only and capability not in READ_ONLY_CAPABILITIES:
            return False
        return self.membership.can(capability)

    def require(self, capability: str) -> None:
        if self.read_only and capability not in READ_ONLY_CAPABILITIES:
            raise PermissionDenied("This token is read-only.")
        if not self.can(capability):
            raise PermissionDenied(f"Your role cannot {capability.replace('_', ' ')} here.")


def _membership(user, project_slug: str) -> Membership:
    if not user.is_authenticated:
        raise Http404("No such project")
    try:
        return Membership.objects.select_related("project").get(
            user=user, project__slug=project_slug
        )
    except Membership.DoesNotExist:
        raise Http404("No such project") from None


def token_allows_project(request: HttpRequest, project_id: int) -> bool:
    token = getattr(request, "api_token", None)
    return token is None or not token.project_ids or project_id in token.project_ids


def get_project(request: HttpRequest, slug: str, capability: str = "view") -> ProjectAccess:
    membership = _membership(request.user, slug)
    if not token_allows_project(request, membership.project_id):
        raise Http404("No such project")
    token = getattr(request, "api_token", None)
    access = ProjectAccess(
        project=membership.project,
        membership=membership,
        read_only=bool(token and token.read_only),
    )
    access.require(capability)
    return access


def visible_projects(request: HttpRequest):
    """The projects this user (through this token, if any) may see."""
    projects = Project.objects.filter(memberships__user=request.user)
    token = getattr(request, "api_token", None)
    if token is not None and token.project_ids:
        projects = projects.filter(pk__in=token.project_ids)
    return projects


def get_shot(request: HttpRequest, slug: str, shot_id: int, capability: str = "view"):
    access = get_project(request, slug, capability)
    shot = get_object_or_404(Shot, pk=shot_id, project=access.project)
    return access, shot


def get_version(request: HttpRequest, slug: str, version_id: int, capability: str = "view"):
    access = get_project(request, slug, capability)
    version = get_object_or_404(
        PromptVersion.objects.select_related("shot", "parent", "author"),
        pk=version_id,
        shot__project=access.project,
    )
    return access, version


def get_take(request: HttpRequest, slug: str, take_id: int, capability: str = "view"):
    access = get_project(request, slug, capability)
    take = get_object_or_404(
        Take.objects.select_related("prompt_version", "shot", "current_review"),
        pk=take_id,
        project=access.project,
    )
    return access, take


def get_webhook_endpoint(
    request: HttpRequest, slug: str, endpoint_id: int, capability: str = "webhooks"
):
    access = get_project(request, slug, capability)
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id, project=access.project)
    return access, endpoint


def get_webhook_delivery(
    request: HttpRequest, slug: str, delivery_id: int, capability: str = "webhooks"
):
    access = get_project(request, slug, capability)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("endpoint"),
        pk=delivery_id,
        endpoint__project=access.project,
    )
    return access, delivery


def get_batch(request: HttpRequest, slug: str, batch_id: int, capability: str = "view"):
    access = get_project(request, slug, capability)
    batch = get_object_or_404(GenerationBatch, pk=batch_id, project=access.project)
    return access, batch


def get_job(request: HttpRequest, slug: str, job_id: int, capability: str = "view"):
    access = get_project(request, slug, capability)
    job = get_object_or_404(GenerationJob, pk=job_id, project=access.project)
    return access, job


def get_manifest_import(request: HttpRequest, slug: str, import_id: int, capability="import"):
    access = get_project(request, slug, capability)
    job = get_object_or_404(ManifestImport, pk=import_id, project=access.project)
    return access, job
