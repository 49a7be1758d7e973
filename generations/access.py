"""One helper per object kind: fetch it *for this user*, or 404.

Every view of a project goes through these, so a non-member never learns that a project, shot or
take exists, and a member without the capability gets 403 (they already know it exists)."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404

from .models import Membership, Project, PromptVersion, Shot, Take


@dataclass(frozen=True)
class ProjectAccess:
    project: Project
    membership: Membership

    @property
    def may(self) -> dict[str, bool]:
        """For templates: {% if access.may.review %}."""
        return dict.fromkeys(self.membership.capabilities, True)

    def can(self, capability: str) -> bool:
        return self.membership.can(capability)

    def require(self, capability: str) -> None:
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


def get_project(request: HttpRequest, slug: str, capability: str = "view") -> ProjectAccess:
    membership = _membership(request.user, slug)
    access = ProjectAccess(project=membership.project, membership=membership)
    access.require(capability)
    return access


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
