"""Reads for the webhooks tab: bounded, indexed queries whatever the size of the log."""

from django.db.models import Count, Max, Q

from ..models import DeliveryState, Project, WebhookDelivery, WebhookEndpoint

LOG_ROWS = 50


def webhook_endpoints(*, project: Project) -> list[WebhookEndpoint]:
    """The project's endpoints with their latest delivery time and failures in one query."""
    return list(
        WebhookEndpoint.objects.filter(project=project).annotate(
            last_delivery_at=Max("deliveries__created_at"),
            failed=Count("deliveries", filter=Q(deliveries__state=DeliveryState.FAILED)),
        )
    )


def webhook_deliveries(*, endpoint: WebhookEndpoint, limit: int = LOG_ROWS) -> dict:
    """The latest deliveries of an endpoint (the log), newest first, and whether any is still
    waiting (the page polls until none is)."""
    rows = list(
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .defer("body")
        .order_by("-created_at", "-id")[:limit]
    )
    waiting = any(d.state in (DeliveryState.PENDING, DeliveryState.SENDING) for d in rows)
    return {"deliveries": rows, "waiting": waiting}
