import uuid

from django.conf import settings
from django.db import models

from .projects import Project


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


def import_file_path(instance, filename: str) -> str:
    # A generated name only: the uploader's file name is kept as data, never as a path.
    return f"imports/{uuid.uuid4().hex[:2]}/{uuid.uuid4().hex}.jsonl"


class ManifestImport(models.Model):
    """A manifest uploaded on the project page and imported by a worker: the durable record of
    its state and report. Progress while it runs goes through the cache
    (generations.services.manifest_imports)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imports")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to=import_file_path, max_length=255)
    original_filename = models.CharField(max_length=255, blank=True)
    size = models.BigIntegerField(default=0)
    total_lines = models.PositiveIntegerField(default=0)
    state = models.CharField(
        max_length=8, choices=ImportState.choices, default=ImportState.QUEUED, db_index=True
    )
    message = models.CharField(max_length=300, blank=True)
    # The run that holds the job: a worker claims it with a conditional update and a new token;
    # only the holder of the current token may finish it (a reclaimed job's old run may not).
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    lines = models.PositiveIntegerField(default=0)
    takes_created = models.PositiveIntegerField(default=0)
    takes_existing = models.PositiveIntegerField(default=0)
    reviews_created = models.PositiveIntegerField(default=0)
    errors_count = models.PositiveIntegerField(default=0)
    warnings_count = models.PositiveIntegerField(default=0)
    # ImportReport.as_dict(): the refused lines with their reasons, the warnings, the counts.
    report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["project", "-created_at"], name="import_project_recent")]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.original_filename} into {self.project_id}"
