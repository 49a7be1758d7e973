"""The webhooks tab: owners add, edit, test and redeliver; the secret is shown once."""

import re

import pytest
from django.urls import reverse

from generations.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from generations.services import webhooks

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.DAILIES_ALLOW_PRIVATE_URLS = True


def test_an_owner_adds_an_endpoint_and_sees_its_secret_once(client, project, owner):
    client.force_login(owner)
    response = client.post(
        reverse("webhook_list", args=[project.slug]),
        {
            "url": "http://127.0.0.1:9/hooks",
            "description": "render farm",
            "event_types": ["take.ready", "review.recorded"],
        },
    )
    endpoint = WebhookEndpoint.objects.get(project=project)
    assert response["Location"] == reverse("webhook_detail", args=[project.slug, endpoint.pk])
    assert endpoint.event_types == ["review.recorded", "take.ready"]

    first = client.get(response["Location"]).text
    shown = re.search(r"whsec_[A-Za-z0-9+/=]+", first).group()
    assert shown == endpoint.secret
    assert endpoint.secret not in client.get(response["Location"]).text

    listing = client.get(reverse("webhook_list", args=[project.slug])).text
    assert "render farm" in listing and endpoint.secret not in listing


def test_a_private_url_is_refused_with_a_message(client, project, owner, settings):
    settings.DAILIES_ALLOW_PRIVATE_URLS = False
    client.force_login(owner)
    response = client.post(
        reverse("webhook_list", args=[project.slug]),
        {"url": "http://192.168.1.20/hook", "event_types": ["take.ready"]},
    )
    assert response.status_code == 400
    assert "private or reserved address" in response.text
    assert not WebhookEndpoint.objects.exists()


def test_only_owners_see_the_tab(client, project, members):
    url = reverse("project_detail", args=[project.slug])
    tab = reverse("webhook_list", args=[project.slug])
    client.force_login(members["owner"])
    assert tab in client.get(url).text
    client.force_login(members["lead"])
    assert tab not in client.get(url).text


def test_test_send_and_redeliver_answer_with_the_log(
    client, project, owner, django_capture_on_commit_callbacks
):
    endpoint, _ = webhooks.webhook_endpoint_create(
        project=project, url="http://127.0.0.1:9/h", event_types=["take.ready"]
    )
    client.force_login(owner)
    with django_capture_on_commit_callbacks() as queued:
        log = client.post(reverse("webhook_test", args=[project.slug, endpoint.pk]), headers=HTMX)
    assert len(queued) == 1
    assert log.status_code == 200
    assert log.text.lstrip().startswith('<div id="webhook-log"')
    assert "webhook.test" in log.text and 'hx-trigger="every 2s"' in log.text  # polls while pending

    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=DeliveryState.FAILED, response_status=502, response_excerpt="bad gateway"
    )
    settled = client.get(reverse("webhook_detail", args=[project.slug, endpoint.pk]), headers=HTMX)
    assert "HTTP 502" in settled.text and "bad gateway" in settled.text
    assert "every 2s" not in settled.text  # nothing waiting: polling stops

    client.post(reverse("webhook_redeliver", args=[project.slug, delivery.pk]), headers=HTMX)
    copies = WebhookDelivery.objects.filter(endpoint=endpoint, message_id=delivery.message_id)
    assert copies.count() == 2


def test_editing_back_to_active_clears_the_disabled_reason(client, project, owner):
    endpoint, _ = webhooks.webhook_endpoint_create(
        project=project, url="http://127.0.0.1:9/h", event_types=["take.ready"]
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        is_active=False, disabled_reason="8 attempts failed"
    )
    client.force_login(owner)
    url = reverse("webhook_detail", args=[project.slug, endpoint.pk])
    assert "8 attempts failed" in client.get(url).text
    client.post(url, {"url": endpoint.url, "event_types": ["take.ready"], "is_active": "on"})
    endpoint.refresh_from_db()
    assert endpoint.is_active and endpoint.disabled_reason == ""
