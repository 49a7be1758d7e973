import uuid

from django.db import models
from django.urls import reverse

from .projects import Project, PromptVersion, Shot


class TakeStatus(models.TextChoices):
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    BROKEN = "broken", "Broken"


class ProvenanceState(models.TextChoices):
    NOT_READ = "", "Not read"  # imported without a file, or not processed yet
    NONE = "none", "No provenance"
    VALID = "valid", "C2PA valid"
    INVALID = "invalid", "Invalid manifest"
    ERROR = "error", "Could not be read"


class CostSource(models.TextChoices):
    REPORTED = "reported", "Reported by the provider"
    ESTIMATED = "estimated", "Estimated from the model price"
    UNKNOWN = "unknown", "No price known"


def _media_path(prefix: str, ext: str) -> str:
    # Generated names only: the uploader's file name is kept as data, never as a path.
    return f"{prefix}/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.{ext}"


VIDEO_EXTENSIONS = {"mp4", "mov", "webm", "mkv", "avi"}


def take_media_path(instance, filename: str) -> str:
    # The service names the file after the sniffed container ("upload.webm"), never the user.
    ext = filename.rsplit(".", 1)[-1].lower()
    return _media_path("takes", ext if ext in VIDEO_EXTENSIONS else "mp4")


def take_image_path(instance, filename: str) -> str:
    return _media_path("posters", filename.rsplit(".", 1)[-1].lower() or "jpg")


class ModelPrice(models.Model):
    """USD per generated second for a model from a date; project-specific rows win over global."""

    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="model_prices"
    )
    model = models.CharField(max_length=80)
    usd_per_second = models.DecimalField(max_digits=10, decimal_places=4)
    valid_from = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model", "-valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "model", "valid_from"], name="modelprice_unique_from"
            )
        ]

    def __str__(self) -> str:
        return f"{self.model} ${self.usd_per_second}/s from {self.valid_from:%Y-%m-%d}"


class Take(models.Model):
    # project and shot repeat what prompt_version implies: the rollups group by them and
    # external_id must be unique per project. No single-column indexes on the three: the
    # composite indexes below lead with each of them, and every index is paid on every write
    # (a bulk import pays it a million times).
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="takes", db_index=False
    )
    shot = models.ForeignKey(Shot, on_delete=models.CASCADE, related_name="takes", db_index=False)
    prompt_version = models.ForeignKey(
        PromptVersion, on_delete=models.CASCADE, related_name="takes", db_index=False
    )
    pass_number = models.PositiveIntegerField(default=1)
    model = models.CharField(max_length=80)
    parameters = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    external_id = models.CharField(max_length=200)
    original_filename = models.CharField(max_length=255, blank=True)
    media = models.FileField(upload_to=take_media_path, blank=True, max_length=255)
    media_url = models.URLField(blank=True, max_length=1000)
    media_size = models.BigIntegerField(null=True, blank=True)

    duration_s = models.DecimalField(max_digits=9, decimal_places=3, null=True, blank=True)
    fps = models.DecimalField(max_digits=8, decimal_places=3, null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    codec = models.CharField(max_length=40, blank=True)

    poster = models.ImageField(upload_to=take_image_path, blank=True, max_length=255)
    thumbnail = models.ImageField(upload_to=take_image_path, blank=True, max_length=255)
    filmstrip = models.ImageField(upload_to=take_image_path, blank=True, max_length=255)
    filmstrip_frames = models.PositiveSmallIntegerField(default=0)
    # Mean luma change between consecutive frames, sampled; drives the flicker hint.
    flicker_score = models.FloatField(null=True, blank=True)
    flicker_series = models.JSONField(default=list, blank=True)

    status = models.CharField(max_length=12, choices=TakeStatus.choices, default=TakeStatus.READY)
    status_reason = models.CharField(max_length=500, blank=True)
    # When a media run claimed this take (conditional update, no row lock held while it
    # decodes); a claim older than the stale limit is presumed lost (services/takes.py).
    processing_claimed_at = models.DateTimeField(null=True, blank=True)

    # C2PA provenance read from the original file by the media task (services/provenance.py
    # has the state rule). Information only: it never makes a take broken.
    provenance_state = models.CharField(
        max_length=8, choices=ProvenanceState.choices, blank=True, default=ProvenanceState.NOT_READ
    )
    # The certificate chains to a trust list; "valid" alone means intact but signer untrusted.
    provenance_trusted = models.BooleanField(default=False)
    provenance_generator = models.CharField(max_length=200, blank=True)
    provenance_signer = models.CharField(max_length=255, blank=True)
    provenance_issuer = models.CharField(max_length=255, blank=True)
    provenance_signed_at = models.DateTimeField(null=True, blank=True)
    provenance_actions = models.JSONField(default=list, blank=True)
    # From the IPTC digital source type of the manifest's actions (trainedAlgorithmicMedia…).
    ai_generated = models.BooleanField(default=False)
    provenance_messages = models.JSONField(default=list, blank=True)
    # The whole manifest store as the library reports it, kept for later export.
    provenance_manifest = models.JSONField(null=True, blank=True)

    cost_usd = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    cost_source = models.CharField(
        max_length=12, choices=CostSource.choices, default=CostSource.UNKNOWN
    )
    # The price the estimate used, kept so later price changes never rewrite past spend.
    price_usd_per_second = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True
    )

    # Denormalised latest review, kept by the review service: list pages and rollups read it
    # instead of searching the history per take.
    current_review = models.ForeignKey(
        "generations.Review", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    current_verdict = models.CharField(max_length=8, blank=True, default="")

    created_at = models.DateTimeField(db_index=True)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "external_id"], name="take_unique_external")
        ]
        indexes = [
            models.Index(fields=["prompt_version", "-created_at"], name="take_version_recent"),
            # The review queue walks this in order: a project's takes of one verdict, oldest first.
            models.Index(
                fields=["project", "current_verdict", "created_at", "id"], name="take_queue_order"
            ),
            models.Index(fields=["shot", "current_verdict"], name="take_shot_verdict"),
            models.Index(fields=["project", "model"], name="take_project_model"),
            # Equality only (the reconciler's stuck takes): no varchar_pattern_ops twin.
            models.Index(fields=["status"], name="take_status"),
            # The budget page lists the takes no price covered: only those rows are indexed, so
            # the listing costs what the unpriced takes are, not the project's size.
            models.Index(
                fields=["project", "model"],
                condition=models.Q(cost_source="unknown"),
                name="take_unknown_cost",
            ),
        ]

    def __str__(self) -> str:
        return self.external_id

    def get_absolute_url(self) -> str:
        return reverse("take_detail", args=[self.project.slug, self.pk])

    @property
    def resolution(self) -> str:
        return f"{self.width}x{self.height}" if self.width and self.height else ""

    @property
    def fps_value(self) -> float:
        return float(self.fps) if self.fps else 24.0
