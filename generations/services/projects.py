"""Writes for projects, memberships, shots, budgets and model prices."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from ..models import Membership, ModelPrice, Project, Role, Shot
from .rollups import rollups_schedule


class ServiceError(ValueError):
    """A rule of the domain was broken; the message is shown to the user."""


def _unique_slug(name: str) -> str:
    base = slugify(name)[:80] or "project"
    slug, n = base, 2
    while Project.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def project_create(*, name: str, owner, brief: str = "", slug: str = "", **fields) -> Project:
    project = Project(name=name, slug=slug or _unique_slug(name), brief=brief, created_by=owner)
    for key, value in fields.items():
        setattr(project, key, value)
    project.full_clean()
    project.save()
    Membership.objects.create(project=project, user=owner, role=Role.LEAD, is_owner=True)
    return project


def project_update_budget(
    *,
    project: Project,
    budget_usd: Decimal | None,
    target_accepted_takes: int | None,
    target_accepted_seconds: Decimal | None,
    deadline,
    generation_approval_usd: Decimal | None = None,
    generation_daily_cap_usd: Decimal | None = None,
) -> Project:
    project.budget_usd = budget_usd
    project.target_accepted_takes = target_accepted_takes
    project.target_accepted_seconds = target_accepted_seconds
    project.deadline = deadline
    project.generation_approval_usd = generation_approval_usd
    project.generation_daily_cap_usd = generation_daily_cap_usd
    project.full_clean()
    with transaction.atomic():
        project.save(
            update_fields=[
                "budget_usd",
                "target_accepted_takes",
                "target_accepted_seconds",
                "deadline",
                "generation_approval_usd",
                "generation_daily_cap_usd",
            ]
        )
        rollups_schedule(project_id=project.pk)
    return project


def membership_add(*, project: Project, email: str, role: str, is_owner: bool = False):
    User = get_user_model()
    email = email.strip().lower()
    user = (
        User.objects.filter(email__iexact=email).first()
        or User.objects.filter(username__iexact=email).first()
    )
    if user is None:
        # Invited users get an unusable password until an admin or reset sets one.
        user = User.objects.create_user(username=email, email=email)
    membership, created = Membership.objects.get_or_create(
        project=project, user=user, defaults={"role": role, "is_owner": is_owner}
    )
    if not created:
        raise ServiceError(f"{email} is already a member of this project.")
    return membership


def membership_update(*, membership: Membership, role: str, is_owner: bool) -> Membership:
    if membership.is_owner and not is_owner and not _other_owner_exists(membership):
        raise ServiceError("A project needs at least one owner.")
    membership.role = role
    membership.is_owner = is_owner
    membership.full_clean()
    membership.save(update_fields=["role", "is_owner"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    if membership.is_owner and not _other_owner_exists(membership):
        raise ServiceError("The last owner cannot be removed.")
    membership.delete()


def _other_owner_exists(membership: Membership) -> bool:
    return (
        Membership.objects.filter(project_id=membership.project_id, is_owner=True)
        .exclude(pk=membership.pk)
        .exists()
    )


def shot_create(
    *, project: Project, name: str, description: str = "", target_duration_s=None
) -> Shot:
    shot = Shot(
        project=project,
        name=name.strip(),
        description=description,
        target_duration_s=target_duration_s,
    )
    shot.full_clean()
    shot.save()
    return shot


def model_price_set(
    *, project: Project | None, model: str, usd_per_second: Decimal, valid_from=None
) -> ModelPrice:
    """A new price from a date. Past takes keep the price snapshot they were created with; a
    project's takes of this model that no price covered (cost "unknown") are estimated now if
    the new price was in force when they were made (`price.repriced_takes` says how many)."""
    from .takes import takes_reprice_unknown  # takes imports this module

    price = ModelPrice(
        project=project,
        model=model.strip(),
        usd_per_second=usd_per_second,
        valid_from=valid_from or timezone.now(),
    )
    price.full_clean()
    with transaction.atomic():
        price.save()
        price.repriced_takes = (
            takes_reprice_unknown(project=project, model=price.model) if project else 0
        )
    return price


def project_set_tag_order(*, project: Project, slugs: list[str]) -> Project:
    project.tag_order = [s for s in slugs if s]
    project.save(update_fields=["tag_order"])
    return project
