"""Edits made in the Django admin reach the rollups like edits made in the app: after the
refresh a worker runs, the stored rows equal a full recompute."""

import json
from decimal import Decimal

import pytest
from django.contrib import admin
from django.forms import ClearableFileInput, MultiWidget
from django.test import RequestFactory
from django.urls import reverse

from generations.models import Dimension, RollupRow, Shot, Take
from generations.services.rollups import (
    rollups_compute,
    rollups_recompute,
    rollups_refresh,
    rollups_rows,
)

from .factories import UserFactory
from .test_rollups_incremental import comparable
from .test_stats import fixture_project  # noqa: F401  (shared fixture)


@pytest.fixture
def admin_client(client, fixture_project):  # noqa: F811
    user = UserFactory(username="root@studio.test", is_staff=True, is_superuser=True)
    client.force_login(user)
    # Rows and ledger current before the edit, so the next refresh is the incremental one.
    rollups_recompute(project_id=fixture_project.pk)
    client.user = user
    return client


def change_data(client, obj, **changes) -> dict:
    """The admin change form's current values as POST data, with `changes` applied."""
    request = RequestFactory().get("/")
    request.user = client.user
    model_admin = admin.site._registry[type(obj)]
    form = model_admin.get_form(request, obj)(instance=obj)
    data = {}
    for bf in form:
        value = changes.get(bf.name, bf.field.prepare_value(bf.value()))
        widget = getattr(bf.field.widget, "widget", bf.field.widget)  # unwrap related wrappers
        if isinstance(widget, MultiWidget):
            for i, part in enumerate(widget.decompress(value)):
                data[f"{bf.name}_{i}"] = "" if part is None else str(part)
        elif isinstance(value, (dict, list)):
            data[bf.name] = json.dumps(value)
        elif isinstance(widget, ClearableFileInput):
            continue  # unchanged files are simply not posted
        elif value is None:
            data[bf.name] = ""
        elif isinstance(value, bool):
            if value:
                data[bf.name] = "on"
        else:
            data[bf.name] = str(value)
    # Inline formsets (none on these models) would need their management forms.
    return data


def assert_rows_equal_a_full_recompute(project) -> None:
    rollups_refresh(project_id=project.pk)  # what the worker runs after the commit
    assert rollups_rows(project_id=project.pk) == comparable(rollups_compute(project_id=project.pk))


def test_deleting_and_repricing_takes_in_the_admin_reaches_the_rollups(
    admin_client,
    fixture_project,  # noqa: F811
):
    gone, repriced = Take.objects.filter(project=fixture_project).order_by("pk")[:2]
    url = reverse("admin:generations_take_delete", args=[gone.pk])
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Take.objects.filter(pk=gone.pk).exists()

    url = reverse("admin:generations_take_change", args=[repriced.pk])
    response = admin_client.post(url, change_data(admin_client, repriced, cost_usd="123.4500"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Take.objects.get(pk=repriced.pk).cost_usd == Decimal("123.4500")

    assert_rows_equal_a_full_recompute(fixture_project)


def test_renaming_a_shot_in_the_admin_relabels_the_rollups(admin_client, fixture_project):  # noqa: F811
    shot = Shot.objects.filter(project=fixture_project).order_by("pk").first()
    url = reverse("admin:generations_shot_change", args=[shot.pk])
    response = admin_client.post(url, change_data(admin_client, shot, name="renamed-shot"))
    assert response.status_code == 302, response.content.decode()[:3000]

    assert_rows_equal_a_full_recompute(fixture_project)
    labels = RollupRow.objects.filter(project=fixture_project, dimension=Dimension.SHOT)
    assert "renamed-shot" in set(labels.values_list("label", flat=True))
