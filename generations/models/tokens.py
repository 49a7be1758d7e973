from django.conf import settings
from django.db import models

# What a read-only token may still do: read, and download exports (both are GETs).
READ_ONLY_CAPABILITIES = frozenset({"view", "export"})


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is stored; the secret is shown once.

    A token acts as its user and never does more than the user's role allows; it can do less:
    limited to some projects (none chosen = all of the user's projects) and to reading."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    # First characters of the secret, so a user can tell their tokens apart.
    prefix = models.CharField(max_length=12)
    read_only = models.BooleanField(default=False)
    projects = models.ManyToManyField("generations.Project", blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyKey(models.Model):
    """A POST made with an `Idempotency-Key` header: the first answer is kept and replayed for a
    retry with the same key and the same request, so a script that retries after a timeout
    never registers a take twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path and body: the same key on a different request is refused.
    fingerprint = models.CharField(max_length=64)
    # Null while the first request is still running.
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_unique_user_key")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code or 'in flight'})"
