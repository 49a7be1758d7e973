"""Outgoing webhooks: a project's endpoints, the deliveries written for its events, and the
budget thresholds already announced.

A delivery row is written in the same transaction as the change it announces and sent by a
worker after commit (generations.services.webhooks), so a rolled-back write sends nothing and a
worker that dies mid-send leaves a row that is picked up again."""

from django.conf import settings
from django.db import models

from .projects import Project


class WebhookEvent(models.TextChoices):
    TAKE_READY = "take.ready", "Take ready (media processed)"
    TAKE_BROKEN = "take.broken", "Take broken (media could not be processed)"
    REVIEW_RECORDED = "review.recorded", "Review recorded (a verdict or an undo)"
    BUDGET_THRESHOLD_CROSSED = "budget.threshold_crossed", "Budget threshold crossed"
    IMPORT_FINISHED = "import.finished", "Manifest import finished"


# Sent only by the test-send button, never subscribed to.
TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=1000)
    description = models.CharField(max_length=200, blank=True)
    # WebhookEvent values this endpoint receives.
    event_types = models.JSONField(default=list)
    # The Standard Webhooks secret (whsec_ + base64). Kept readable because every delivery is
    # signed with it; the UI shows it once, at creation or rotation.
    secret = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url

    def receives(self, event: str) -> bool:
        return event == TEST_EVENT or event in self.event_types


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"  # waiting for its (next) attempt
    SENDING = "sending", "Sending"  # claimed by a worker
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Failed"  # gave up: retries exhausted or the endpoint was disabled


class WebhookDelivery(models.Model):
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.CharField(max_length=40)
    # The Standard Webhooks webhook-id: the same on every attempt and on a redelivery, so a
    # receiver can drop duplicates.
    message_id = models.CharField(max_length=40, db_index=True)
    # The exact JSON text that is signed and sent, fixed when the event happens.
    body = models.TextField()
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The dispatcher's walk: due pending deliveries, oldest first.
            models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.state})"


class BudgetThresholdMark(models.Model):
    """A budget threshold (percent of the budget) that a project's spend has crossed and that
    was announced; removed when spend falls below it again (a raised budget), so it can fire
    again."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="budget_threshold_marks"
    )
    percent = models.PositiveSmallIntegerField()
    crossed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "percent"], name="budget_mark_unique")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}: {self.percent}%"
