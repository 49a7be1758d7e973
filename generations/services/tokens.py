"""Personal API tokens: the secret is shown once; only its SHA-256 is stored."""

import hashlib
import secrets
from datetime import timedelta

from django.utils import timezone

from ..models import ApiToken

PREFIX = "dly_"
# last_used_at is informative: write it at most once a minute, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user, name: str) -> tuple[ApiToken, str]:
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name.strip() or "token", key_hash=_hash(secret),
                     prefix=secret[: len(PREFIX) + 4])  # fmt: skip
    token.full_clean()
    token.save()
    return token, secret


def api_token_authenticate(*, secret: str):
    """The active user owning this secret, or None."""
    if not secret.startswith(PREFIX):
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=_hash(secret)).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at < now - TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()
