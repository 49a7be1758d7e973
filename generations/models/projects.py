from django.conf import settings
from django.db import models
from django.urls import reverse


class Role(models.TextChoices):
    LEAD = "lead", "Creative lead"
    EDITOR = "editor", "Editor"
    PRODUCER = "producer", "Producer"
    VIEWER = "viewer", "Viewer"


# What each role may do (SPEC §1). Owners may do everything on top of their role.
# review_keys: choose which failure tags keys 1–9 toggle in the review queue.
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.LEAD: frozenset(
        {"view", "write_prompts", "upload", "generate", "review", "tag", "review_keys"}
    ),
    Role.EDITOR: frozenset({"view", "review", "tag", "export"}),
    Role.PRODUCER: frozenset({"view", "budget"}),
    Role.VIEWER: frozenset({"view"}),
}
OWNER_CAPABILITIES = frozenset(
    {
        "view",
        "write_prompts",
        "upload",
        "generate",
        "review",
        "tag",
        "review_keys",
        "export",
        "budget",
        "members",
        "recompute",
        "webhooks",
        "import",
    }
)


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    brief = models.TextField(blank=True)
    budget_usd = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    target_accepted_takes = models.PositiveIntegerField(null=True, blank=True)
    target_accepted_seconds = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    deadline = models.DateField(null=True, blank=True)
    # Budget guard for generation from Dailies (services/generation/guard.py): a batch
    # estimated above the threshold waits for a producer; the cap bounds a UTC day's spend.
    generation_approval_usd = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    generation_daily_cap_usd = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True
    )
    # Order of failure tags bound to keys 1–9 in the review queue; empty = taxonomy order.
    tag_order = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("project_detail", args=[self.slug])


class Membership(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.VIEWER)
    is_owner = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.project} · {self.role}"

    @property
    def capabilities(self) -> frozenset[str]:
        return OWNER_CAPABILITIES if self.is_owner else ROLE_CAPABILITIES[self.role]

    def can(self, capability: str) -> bool:
        return capability in self.capabilities


class Shot(models.Model):
    # Indexed by shot_newest and shot_unique_name, which lead with it.
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="shots", db_index=False
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    target_duration_s = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="shot_unique_name")]
        # The newest shots of a project page (they may have no takes, so no rollup row, yet).
        indexes = [models.Index(fields=["project", "-id"], name="shot_newest")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("shot_detail", args=[self.project.slug, self.pk])


class PromptVersion(models.Model):
    # Indexed by promptversion_unique_number, which leads with it.
    shot = models.ForeignKey(
        Shot, on_delete=models.CASCADE, related_name="versions", db_index=False
    )
    number = models.PositiveIntegerField()
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    text = models.TextField()
    negative_prompt = models.TextField(blank=True)
    # Camera move, duration, aspect ratio, seed, model settings: free-form, shown as a table.
    parameters = models.JSONField(default=dict, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shot", "number"]
        constraints = [
            models.UniqueConstraint(fields=["shot", "number"], name="promptversion_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.shot.name} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("version_detail", args=[self.shot.project.slug, self.pk])

    @property
    def label(self) -> str:
        return f"v{self.number}"
