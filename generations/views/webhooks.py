"""The webhooks tab: owners add, edit and remove endpoints, read the delivery log, redeliver and
send a test. A new secret is shown once: kept in the session until the next page shows it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from ..access import get_project, get_webhook_delivery, get_webhook_endpoint
from ..forms import WebhookEndpointForm
from ..selectors import webhooks as selectors
from ..services import webhooks as services
from ..services.projects import ServiceError

SECRET_KEY = "webhook-secret-{}"


def _show_secret_once(request, endpoint_id: int, secret: str) -> None:
    request.session[SECRET_KEY.format(endpoint_id)] = secret


@login_required
@require_http_methods(["GET", "POST"])
def webhook_list(request, slug):
    access = get_project(request, slug, "webhooks")
    project = access.project
    form = WebhookEndpointForm(initial={"is_active": True})
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                endpoint, secret = services.webhook_endpoint_create(
                    project=project,
                    url=data["url"],
                    event_types=data["event_types"],
                    description=data["description"],
                    created_by=request.user,
                )
            except ServiceError as exc:
                form.add_error("url", str(exc))
            else:
                _show_secret_once(request, endpoint.pk, secret)
                return redirect("webhook_detail", slug, endpoint.pk)
    return render(
        request,
        "generations/webhook_list.html",
        {
            "project": project,
            "access": access,
            "tab": "webhooks",
            "form": form,
            "endpoints": selectors.webhook_endpoints(project=project),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def webhook_detail(request, slug, endpoint_id):
    access, endpoint = get_webhook_endpoint(request, slug, endpoint_id)
    if request.method == "GET" and request.htmx:
        return _log(request, access, endpoint)
    form = WebhookEndpointForm(
        initial={
            "url": endpoint.url,
            "description": endpoint.description,
            "event_types": endpoint.event_types,
            "is_active": endpoint.is_active,
        }
    )
    if request.method == "POST":
        form = WebhookEndpointForm(request.POST)
        if form.is_valid():
            try:
                services.webhook_endpoint_update(endpoint=endpoint, **form.cleaned_data)
            except ServiceError as exc:
                form.add_error("url", str(exc))
            else:
                messages.success(request, "Endpoint saved.")
                return redirect("webhook_detail", slug, endpoint.pk)
    return render(
        request,
        "generations/webhook_detail.html",
        {
            "project": access.project,
            "access": access,
            "tab": "webhooks",
            "endpoint": endpoint,
            "form": form,
            "secret": request.session.pop(SECRET_KEY.format(endpoint.pk), None),
            **selectors.webhook_deliveries(endpoint=endpoint),
        },
        status=400 if form.errors else 200,
    )


def _log(request, access, endpoint):
    return render(
        request,
        "generations/webhook_detail.html#log",
        {
            "project": access.project,
            "access": access,
            "endpoint": endpoint,
            **selectors.webhook_deliveries(endpoint=endpoint),
        },
    )


@login_required
@require_POST
def webhook_test(request, slug, endpoint_id):
    access, endpoint = get_webhook_endpoint(request, slug, endpoint_id)
    services.webhook_test_send(endpoint=endpoint, user=request.user)
    if request.htmx:
        return _log(request, access, endpoint)
    messages.success(request, "Test delivery queued.")
    return redirect("webhook_detail", slug, endpoint.pk)


@login_required
@require_POST
def webhook_redeliver(request, slug, delivery_id):
    access, delivery = get_webhook_delivery(request, slug, delivery_id)
    services.webhook_redeliver(delivery=delivery)
    if request.htmx:
        return _log(request, access, delivery.endpoint)
    messages.success(request, "Redelivery queued.")
    return redirect("webhook_detail", slug, delivery.endpoint_id)


@login_required
@require_POST
def webhook_rotate_secret(request, slug, endpoint_id):
    _access, endpoint = get_webhook_endpoint(request, slug, endpoint_id)
    secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
    _show_secret_once(request, endpoint.pk, secret)
    messages.success(request, "New secret made; the old one no longer signs anything.")
    return redirect("webhook_detail", slug, endpoint.pk)


@login_required
@require_POST
def webhook_delete(request, slug, endpoint_id):
    _access, endpoint = get_webhook_endpoint(request, slug, endpoint_id)
    url = endpoint.url
    services.webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, f"Removed {url} and its delivery log.")
    return redirect("webhook_list", slug)
