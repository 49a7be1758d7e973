"""Writing and sending webhook deliveries.

- `webhooks_emit` runs inside the writer's transaction: it writes one delivery row per endpoint
  subscribed to the event and enqueues the sends with `transaction.on_commit`. A rolled-back
  write takes its rows with it and enqueues nothing. An event about many rows at once (a bulk
  of reviews) finds its endpoints with `webhooks_listening` and writes with
  `webhooks_deliveries_write`: a bounded number of queries, not a few per row.
- `webhook_attempt` (the task's body) claims a due delivery with a conditional update, signs it
  with the Standard Webhooks scheme, POSTs it through `netsafe.post` (public addresses only, a
  timeout per call) outside any transaction, and records the answer.
- A failed attempt is retried on a schedule spread over about a day, with jitter. Short waits
  are Celery countdowns; the longer ones (beyond the broker's visibility timeout, where a
  countdown would be redelivered early) are left to `webhooks_dispatch_due`, which beat runs
  every minute and which also re-sends what a down broker or a dead worker lost.
- A delivery that exhausts its attempts disables its endpoint, unless the endpoint accepted
  something since the delivery was written."""

import base64
import json
import logging
import random
import secrets
import uuid
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks import Webhook

from ... import netsafe
from ...limits import single_line
from ...models import DeliveryState, Take, WebhookDelivery, WebhookEndpoint
from ...models.webhooks import TEST_EVENT

log = logging.getLogger(__name__)

# Seconds before attempt 2, 3, …: the Standard Webhooks reference schedule (5 s, 5 min, 30 min,
# 2 h, 5 h, 10 h, 10 h), 8 attempts over ~27.6 h. Each wait is jittered by ±JITTER.
DEFAULT_BACKOFF = (5, 300, 1800, 7200, 18000, 36000, 36000)
JITTER = 0.2
# Waits up to this long are Celery countdowns; longer ones go to the dispatcher. Below the
# Redis visibility timeout (3,600 s), past which an unacked countdown is delivered twice.
COUNTDOWN_MAX = 600
EXCERPT_CHARS = 500
# A claim older than this is presumed lost (the worker died mid-send): past the task's limit.
CLAIM_STALE = timedelta(minutes=5)
# Background queries give up well before the task's soft time limit (see tasks/webhooks.py).
STATEMENT_TIMEOUT_MS = 5000
LOCK_TIMEOUT_MS = 2000


def backoff_schedule() -> tuple[float, ...]:
    return tuple(getattr(settings, "DAILIES_WEBHOOK_BACKOFF", None) or DEFAULT_BACKOFF)


def max_attempts() -> int:
    return len(backoff_schedule()) + 1


def backoff_delay(*, attempts: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (1-based), jittered."""
    base = backoff_schedule()[attempts - 1]
    return base * (1 + (rng or random).uniform(-JITTER, JITTER))


@contextmanager
def db_timeouts():
    """One short transaction whose queries and lock waits are bounded (PostgreSQL)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('statement_timeout', %s, true),"
                    " set_config('lock_timeout', %s, true)",
                    [f"{STATEMENT_TIMEOUT_MS}ms", f"{LOCK_TIMEOUT_MS}ms"],
                )
        yield


def new_secret() -> str:
    """A Standard Webhooks secret: whsec_ and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _message_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _body(*, event: str, payload: dict, at: datetime) -> str:
    # Sorted keys, compact: the stored text is exactly what is signed and sent.
    return json.dumps(
        {"type": event, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": payload},
        cls=DjangoJSONEncoder,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def webhooks_listening(
    *, event: str, project_ids: Iterable[int] = (), take_ids: Sequence[int] = ()
) -> dict[int, list[WebhookEndpoint]]:
    """The active endpoints subscribed to `event`, by project id, for the given projects or the
    projects of the given takes: one query, however many."""
    query = Q(project_id__in=set(project_ids))
    if take_ids:
        query |= Q(project_id__in=Take.objects.filter(pk__in=take_ids).values("project_id"))
    listening: dict[int, list[WebhookEndpoint]] = {}
    for endpoint in WebhookEndpoint.objects.filter(query, is_active=True).order_by("pk"):
        if endpoint.receives(event):
            listening.setdefault(endpoint.project_id, []).append(endpoint)
    return listening


def webhooks_emit(
    *, project_id: int, event: str, payload: dict | Callable[[], dict]
) -> list[WebhookDelivery]:
    """Write a delivery for every active endpoint of the project subscribed to `event`, in the
    caller's transaction, and send them after it commits. `payload` may be a function, called
    only when some endpoint listens (most projects have none: one query, nothing built)."""
    endpoints = webhooks_listening(event=event, project_ids=[project_id]).get(project_id)
    if not endpoints:
        return []
    data = payload() if callable(payload) else payload
    return webhooks_deliveries_write(event=event, sends=[(e, data) for e in endpoints])


def webhooks_deliveries_write(
    *, event: str, sends: list[tuple[WebhookEndpoint, dict]]
) -> list[WebhookDelivery]:
    """One delivery per (endpoint, payload), in one insert in the caller's transaction; all
    enqueued once it commits."""
    if not sends:
        return []
    now = timezone.now()
    bodies: dict[int, str] = {}  # a payload sent to several endpoints is serialized once

    def body(data: dict) -> str:
        if id(data) not in bodies:
            bodies[id(data)] = _body(event=event, payload=data, at=now)
        return bodies[id(data)]

    deliveries = WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(
                endpoint=endpoint,
                event=event,
                message_id=_message_id(),
                body=body(data),
                next_attempt_at=now,
            )
            for endpoint, data in sends
        ]
    )
    ids = [d.pk for d in deliveries]
    transaction.on_commit(lambda: webhooks_enqueue(delivery_ids=ids))
    return deliveries


def webhooks_enqueue(*, delivery_ids: list[int], countdown: float = 0) -> None:
    """Hand deliveries to the workers; never raises (the dispatcher re-sends what is lost)."""
    from ...tasks.webhooks import webhook_deliver

    for delivery_id in delivery_ids:
        try:
            webhook_deliver.apply_async((delivery_id,), countdown=countdown or None)
        except Exception:
            log.warning("could not enqueue webhook delivery %s; the dispatcher will", delivery_id)


def webhook_test_send(*, endpoint: WebhookEndpoint, user=None) -> WebhookDelivery:
    """A `webhook.test` delivery to one endpoint, even if it is disabled (to check a fix)."""
    project = endpoint.project
    now = timezone.now()
    payload = {
        "project": {"id": project.pk, "slug": project.slug, "name": project.name},
        "message": "A test delivery from Dailies.",
        "sent_by": getattr(user, "email", "") or getattr(user, "username", ""),
    }
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event=TEST_EVENT,
            message_id=_message_id(),
            body=_body(event=TEST_EVENT, payload=payload, at=now),
            next_attempt_at=now,
        )
        transaction.on_commit(lambda: webhooks_enqueue(delivery_ids=[delivery.pk]))
    return delivery


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again as a new log row with the same webhook-id and body (a receiver
    that already processed it can tell), attempts counted afresh."""
    now = timezone.now()
    with transaction.atomic():
        copy = WebhookDelivery.objects.create(
            endpoint=delivery.endpoint,
            event=delivery.event,
            message_id=delivery.message_id,
            body=delivery.body,
            next_attempt_at=now,
        )
        transaction.on_commit(lambda: webhooks_enqueue(delivery_ids=[copy.pk]))
    return copy


def sign_headers(*, secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers, signed by the reference library."""
    signature = Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body)
    return {
        "content-type": "application/json",
        "user-agent": "Dailies-Webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
    }


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    with db_timeouts():
        claimed = WebhookDelivery.objects.filter(
            pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
        ).update(state=DeliveryState.SENDING, claimed_at=now)
        if not claimed:
            return None
        return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def webhook_attempt(*, delivery_id: int, send_timeout: float = 10.0) -> str:
    """One attempt at a delivery; returns its outcome. Safe to run twice: a second run finds
    the delivery claimed, sent, or not due yet, and does nothing."""
    now = timezone.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "skipped"
    endpoint = delivery.endpoint
    if not endpoint.is_active and delivery.event != TEST_EVENT:
        with db_timeouts():
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                state=DeliveryState.FAILED, error="The endpoint is disabled.", claimed_at=None
            )
        return "failed"
    at = datetime.now(UTC)
    headers = sign_headers(
        secret=endpoint.secret, message_id=delivery.message_id, body=delivery.body, at=at
    )
    status, excerpt, error = None, "", ""
    try:
        response = netsafe.post(
            endpoint.url, content=delivery.body.encode(), headers=headers, timeout=send_timeout
        )
        status = response.status_code
        excerpt = response.text[:EXCERPT_CHARS]
    except netsafe.UnsafeURL as exc:
        error = f"Refused: {exc}"
    except httpx.TimeoutException:
        error = f"No answer within {send_timeout:g} s."
    except httpx.HTTPError as exc:
        error = f"Could not connect: {exc.__class__.__name__}."
    ok = status is not None and 200 <= status < 300
    if status is not None and not ok:
        error = f"The endpoint answered HTTP {status}."
    return _record(delivery, ok=ok, status=status, excerpt=excerpt, error=error)


def _record(delivery: WebhookDelivery, *, ok: bool, status, excerpt: str, error: str) -> str:
    now = timezone.now()
    attempts = delivery.attempts + 1
    fields = {
        "attempts": attempts,
        "last_attempt_at": now,
        "claimed_at": None,
        "response_status": status,
        "response_excerpt": excerpt,
        "error": single_line(error)[:300],
    }
    retry_in = None
    with db_timeouts():
        if ok:
            fields["state"] = DeliveryState.SUCCEEDED
            WebhookEndpoint.objects.filter(pk=delivery.endpoint_id).update(last_success_at=now)
        elif attempts >= max_attempts():
            fields["state"] = DeliveryState.FAILED
            _disable_if_failing(delivery, now, error=fields["error"])
        else:
            retry_in = backoff_delay(attempts=attempts)
            fields["state"] = DeliveryState.PENDING
            fields["next_attempt_at"] = now + timedelta(seconds=retry_in)
        WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(**fields)
    if retry_in is not None and retry_in <= COUNTDOWN_MAX:
        # After the commit above: the retry must find the row pending.
        webhooks_enqueue(delivery_ids=[delivery.pk], countdown=retry_in)
    if ok:
        return "succeeded"
    return "retrying" if retry_in is not None else "failed"


def _disable_if_failing(delivery: WebhookDelivery, now: datetime, *, error: str) -> None:
    """Every attempt of this delivery failed, over about a day: disable the endpoint unless it
    accepted some other delivery since this one was written."""
    if delivery.event == TEST_EVENT:
        return
    hours = (now - delivery.created_at).total_seconds() / 3600
    WebhookEndpoint.objects.filter(
        Q(last_success_at__isnull=True) | Q(last_success_at__lt=delivery.created_at),
        pk=delivery.endpoint_id,
        is_active=True,
    ).update(
        is_active=False,
        disabled_reason=(
            f"Disabled on {now:%Y-%m-%d %H:%M} UTC: {max_attempts()} attempts over "
            f"{hours:.1f} h failed ({(error or 'no answer')[:120]})"
        ),
    )


def webhooks_dispatch_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat, every minute: enqueue deliveries whose attempt is due (long backoffs, a broker that
    was down) and give back claims whose worker died. Returns how many were enqueued."""
    now = now or timezone.now()
    with db_timeouts():
        WebhookDelivery.objects.filter(
            state=DeliveryState.SENDING, claimed_at__lt=now - CLAIM_STALE
        ).update(state=DeliveryState.PENDING, claimed_at=None)
        # Due for a while: a countdown already queued would have run by now.
        ids = list(
            WebhookDelivery.objects.filter(
                state=DeliveryState.PENDING, next_attempt_at__lte=now - timedelta(seconds=30)
            )
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
    webhooks_enqueue(delivery_ids=ids)
    return len(ids)
