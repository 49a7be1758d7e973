"""Personal API tokens: the secret is shown once; only its SHA-256 is stored."""

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from ..models import ApiToken, Membership, Project
from .projects import ServiceError

PREFIX = "dly_"
# last_used_at is informative: write it at most once a minute, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic
def api_token_create(
    *, user, name: str, read_only: bool = False, projects: Iterable[Project] = ()
) -> tuple[ApiToken, str]:
    """A new token and its secret (shown once). `projects` limits it to those projects, which
    must be the user's own; none means every project the user is a member of, now or later."""
    projects = list(projects)
    member_of = set(
        Membership.objects.filter(user=user, project__in=projects).values_list(
            "project_id", flat=True
        )
    )
    foreign = [p.slug for p in projects if p.pk not in member_of]
    if foreign:
        raise ServiceError(f"You are not a member of {', '.join(foreign)}.")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name.strip() or "token", key_hash=_hash(secret),
                     prefix=secret[: len(PREFIX) + 4], read_only=read_only)  # fmt: skip
    token.full_clean()
    token.save()
    if projects:
        token.projects.set(projects)
    return token, secret


def api_token_lookup(*, secret: str) -> ApiToken | None:
    """The token of this secret if its user is active (with `project_ids` loaded: the projects
    it is limited to, empty for all), else None. Touches last_used_at at most once a minute."""
    if not secret.startswith(PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(secret)).first()
    if token is None or not token.user.is_active:
        return None
    token.project_ids = frozenset(token.projects.values_list("id", flat=True))
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_authenticate(*, secret: str):
    """The active user owning this secret, or None."""
    token = api_token_lookup(secret=secret)
    return token.user if token else None


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()
