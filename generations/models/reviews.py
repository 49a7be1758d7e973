import json

from django.conf import settings
from django.db import models


class Verdict(models.TextChoices):
    ACCEPT = "accept", "Accept"
    REJECT = "reject", "Reject"
    # Written only by undo when the verdict being undone was the first: the take goes back to
    # unreviewed without deleting history. Never counts as reviewed.
    CLEAR = "clear", "Cleared (undo)"


JUDGEMENTS = (Verdict.ACCEPT, Verdict.REJECT)


class ReviewKind(models.TextChoices):
    """Why a review was written. Only a `verdict` is a reviewer's own judgement and counts in
    the per-reviewer statistics; every kind can be the latest review, the current verdict."""

    VERDICT = "verdict", "Verdict"
    # Written by undo: restores the previous verdict (or clears), authored by whoever undid.
    UNDO = "undo", "Undo"
    # Written by a bulk tag edit: a reject carrying the new tags, authored by the editor.
    BULK = "bulk", "Bulk tag edit"


class FailureTag(models.Model):
    """Workspace-wide failure taxonomy (SPEC §2), seeded by a data migration and editable."""

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=100)
    definition = models.TextField(blank=True)
    group = models.CharField(max_length=60, blank=True)
    benchmark = models.CharField(max_length=200, blank=True)
    remediation = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=100)
    # Created by an import from an unknown slug: an owner should merge or rename it.
    is_imported = models.BooleanField(default=False)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.slug


class Review(models.Model):
    """One verdict on a take. Append-only: a new verdict is a new row; the latest is current."""

    # Indexed by review_take_latest, which leads with it.
    take = models.ForeignKey(
        "generations.Take", on_delete=models.CASCADE, related_name="reviews", db_index=False
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    kind = models.CharField(max_length=8, choices=ReviewKind.choices, default=ReviewKind.VERDICT)
    failure_tags = models.ManyToManyField(FailureTag, blank=True, related_name="reviews")
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["take", "-created_at", "-id"], name="review_take_latest")]

    def __str__(self) -> str:
        return f"{self.verdict} by {self.reviewer} on take {self.take_id}"


class Note(models.Model):
    """A time-coded note on a take, at a second and its frame at the take's fps."""

    take = models.ForeignKey("generations.Take", on_delete=models.CASCADE, related_name="notes")
    review = models.ForeignKey(
        Review, null=True, blank=True, on_delete=models.SET_NULL, related_name="notes"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    seconds = models.DecimalField(max_digits=9, decimal_places=3)
    frame = models.PositiveIntegerField(default=0)
    tag = models.ForeignKey(
        FailureTag, null=True, blank=True, on_delete=models.SET_NULL, related_name="notes"
    )
    text = models.TextField()
    # Strokes and arrows drawn on the frame, normalised to the picture (generations.drawing).
    drawing = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["seconds", "id"]

    def __str__(self) -> str:
        return f"{self.seconds}s: {self.text[:40]}"

    @property
    def drawing_json(self) -> str:
        """For a data attribute: the player draws it when the note is clicked."""
        return json.dumps(self.drawing or [], separators=(",", ":"))
