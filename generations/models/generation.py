"""Generation from Dailies: a batch of N takes asked of a provider on a prompt version, one
GenerationJob per take. The services in generations/services/generation/ own every transition;
the states and their meaning are here so the admin, the grid and the dashboards agree."""

import uuid

from django.conf import settings
from django.db import models

from .projects import Project, PromptVersion
from .takes import Take


class BatchStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting", "Awaiting a producer's approval"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REJECTED = "rejected", "Rejected by a producer"
    CANCELLED = "cancelled", "Cancelled"


class GenerationStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for approval"
    QUEUED = "queued", "Queued"
    # Claimed by a worker that is calling the provider: the outcome of that call is unknown
    # until the provider's job id is stored. Never resubmitted blindly (see services).
    SUBMITTING = "submitting", "Submitting"
    RUNNING = "running", "Generating"
    DOWNLOADING = "downloading", "Downloading"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    MODERATED = "moderated", "Refused by moderation"
    # The budget guard, checked again when the job was about to be sent, said no (the budget
    # or today's cap would be passed): nothing was sent, nothing spent; the reason is kept.
    REFUSED = "refused", "Refused by the budget guard"
    CANCELLED = "cancelled", "Cancelled"


# Money committed at a provider: counted "in flight" by the budget guard until the take exists.
IN_FLIGHT = (
    GenerationStatus.QUEUED,
    GenerationStatus.SUBMITTING,
    GenerationStatus.RUNNING,
    GenerationStatus.DOWNLOADING,
)
PENDING = (GenerationStatus.WAITING, *IN_FLIGHT)
FINAL = (
    GenerationStatus.DONE,
    GenerationStatus.FAILED,
    GenerationStatus.MODERATED,
    GenerationStatus.REFUSED,
    GenerationStatus.CANCELLED,
)


class GenerationBatch(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="generation_batches"
    )
    prompt_version = models.ForeignKey(
        PromptVersion, on_delete=models.CASCADE, related_name="generation_batches"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=80)
    duration_s = models.PositiveSmallIntegerField()
    aspect = models.CharField(max_length=8)
    negative_prompt = models.TextField(blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    count = models.PositiveSmallIntegerField()
    # ModelPrice × duration × count, with the price it used (a later price never rewrites it).
    estimate_usd = models.DecimalField(max_digits=12, decimal_places=4)
    price_usd_per_second = models.DecimalField(max_digits=10, decimal_places=4)
    status = models.CharField(max_length=10, choices=BatchStatus.choices)
    # The rejected take this batch regenerates, when it came from "Regenerate".
    regenerated_from = models.ForeignKey(
        Take, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "status"], name="genbatch_project_status")]

    def __str__(self) -> str:
        return f"{self.count} × {self.model} on {self.prompt_version_id}"


class GenerationJob(models.Model):
    """One take asked of a provider."""

    batch = models.ForeignKey(GenerationBatch, on_delete=models.CASCADE, related_name="jobs")
    # project and prompt_version repeat the batch's: the guard sums in-flight money per
    # project and the grid lists a version's placeholders, each with one indexed query.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="generation_jobs")
    prompt_version = models.ForeignKey(
        PromptVersion, on_delete=models.CASCADE, related_name="generation_jobs"
    )
    provider = models.CharField(max_length=40)
    model = models.CharField(max_length=80)
    # The GenerationRequest as sent (prompt, duration, aspect, seed, parameters, key).
    request = models.JSONField()
    seed = models.BigIntegerField(null=True, blank=True)
    # Sent with every attempt of this job where the provider honours one (Runway).
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    provider_job_id = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=12, choices=GenerationStatus.choices)
    progress = models.FloatField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # submissions tried
    polls = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    estimate_usd = models.DecimalField(max_digits=12, decimal_places=4)
    # What the provider reported charging, when it does (Runway); else the take is estimated.
    cost_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    output_url = models.URLField(max_length=2000, blank=True)
    take = models.OneToOneField(
        Take, null=True, blank=True, on_delete=models.SET_NULL, related_name="generation_job"
    )
    # Set by the conditional update that claims the job for a submission or a download; the
    # claim's time identifies it, so a stale run cannot overwrite a newer one.
    claimed_at = models.DateTimeField(null=True, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    # When the budget guard, checked again at the job's first submission under the project's
    # row lock, let it go to its provider. From then on its estimate counts as sent (against
    # the budget and against that UTC day's cap), also while a retry waits in the queue.
    cleared_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["project", "status"], name="genjob_project_status"),
            models.Index(fields=["prompt_version", "status"], name="genjob_version_status"),
            models.Index(fields=["status", "updated_at"], name="genjob_status_updated"),
        ]
        constraints = [
            # One row per provider job: a resubmission that returned an existing job cannot
            # become a second take.
            models.UniqueConstraint(
                fields=["provider", "provider_job_id"],
                condition=~models.Q(provider_job_id=""),
                name="genjob_unique_provider_job",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider}:{self.provider_job_id or '—'} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING
