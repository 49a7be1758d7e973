"""Writes for a project's webhook endpoints. The secret is generated here and returned once;
the caller shows it to the owner and never again."""

from django.db import transaction

from ... import netsafe
from ...limits import text_problem
from ...models import Project, WebhookEndpoint, WebhookEvent
from ..projects import ServiceError
from .delivery import new_secret

URL_MAX = 1000
DESCRIPTION_MAX = 200


def _clean(*, url: str, event_types, description: str) -> tuple[str, list[str], str]:
    url = (url or "").strip()
    problem = text_problem(url, max_length=URL_MAX)
    if problem or not url:
        raise ServiceError(f"The URL {problem or 'is empty'}.")
    try:
        # The same address rules as every delivery: refused now rather than failing for a day.
        netsafe.url_check(url)
    except netsafe.UnsafeURL as exc:
        raise ServiceError(f"That URL cannot receive webhooks: {exc}.") from None
    events = sorted(set(event_types or ()))
    unknown = [e for e in events if e not in WebhookEvent.values]
    if unknown:
        raise ServiceError(f"Unknown event type {unknown[0]!r}.")
    if not events:
        raise ServiceError("Choose at least one event type.")
    description = (description or "").strip()
    problem = text_problem(description, max_length=DESCRIPTION_MAX)
    if problem:
        raise ServiceError(f"The description {problem}.")
    return url, events, description


def webhook_endpoint_create(
    *, project: Project, url: str, event_types, description: str = "", created_by=None
) -> tuple[WebhookEndpoint, str]:
    """A new active endpoint and its secret (whsec_…), to be shown once."""
    url, events, description = _clean(url=url, event_types=event_types, description=description)
    endpoint = WebhookEndpoint(
        project=project,
        url=url,
        event_types=events,
        description=description,
        secret=new_secret(),
        created_by=created_by,
    )
    endpoint.full_clean()
    endpoint.save()
    return endpoint, endpoint.secret


def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str,
    event_types,
    description: str = "",
    is_active: bool = True,
) -> WebhookEndpoint:
    """Edit an endpoint. Re-enabling clears the reason it was disabled."""
    url, events, description = _clean(url=url, event_types=event_types, description=description)
    endpoint.url, endpoint.event_types, endpoint.description = url, events, description
    if is_active and not endpoint.is_active:
        endpoint.disabled_reason = ""
    elif not is_active and endpoint.is_active:
        endpoint.disabled_reason = "Disabled by an owner."
    endpoint.is_active = is_active
    endpoint.full_clean()
    endpoint.save()
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret, effective for the next attempt; returned once."""
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Remove the endpoint with its delivery log; queued attempts find nothing and stop."""
    endpoint.delete()
