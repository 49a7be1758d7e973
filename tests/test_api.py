"""The stats API: members only, by session or by bearer token; 404 for everyone else."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from generations.models import ApiToken, Membership, Role
from generations.selectors.stats import project_stats
from generations.services.tokens import api_token_create

from .factories import UserFactory
from .test_stats import fixture_project  # noqa: F401  (shared fixture)

SPEC_KEYS = {
    "takes", "reviewed", "accepted", "rejected", "acceptance_rate", "acceptance_ci95",
    "first_pass", "by_pass", "by_model", "spend_usd", "accepted_seconds",
    "cost_per_accepted_usd", "cost_per_accepted_second_usd", "failure_breakdown",
    "burn_by_day", "budget_usd", "budget_used", "computed_at",
}  # fmt: skip


@pytest.fixture
def viewer(fixture_project):  # noqa: F811
    user = UserFactory(username="client@studio.test")
    Membership.objects.create(project=fixture_project, user=user, role=Role.VIEWER)
    return user


def url():
    return reverse("api-v1:project_stats", args=["fixture"])


def test_a_member_reads_the_spec_json_by_session(client, viewer, fixture_project):  # noqa: F811
    client.force_login(viewer)
    response = client.get(url())
    assert response.status_code == 200
    data = response.json()
    assert set(data) >= SPEC_KEYS
    assert data == json.loads(json.dumps(project_stats(project=fixture_project)))
    assert data["takes"] == 10 and data["by_model"]["veo-3"]["accepted"] == 2


def test_a_bearer_token_works_without_a_session(client, viewer):
    _token, secret = api_token_create(user=viewer, name="ci")
    response = client.get(url(), headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert response.json()["reviewed"] == 8
    token = ApiToken.objects.get(user=viewer)
    assert token.last_used_at is not None
    assert secret not in (token.key_hash, token.prefix)  # only a hash is stored


def test_it_checks_membership(client, fixture_project, outsider):  # noqa: F811
    client.force_login(outsider)
    assert client.get(url()).status_code == 404
    _token, secret = api_token_create(user=outsider, name="x")
    assert client.get(url(), headers={"Authorization": f"Bearer {secret}"}).status_code == 404


def test_a_bad_token_or_no_login_answers_404(client, viewer):
    assert client.get(url()).status_code == 404
    assert client.get(url(), headers={"Authorization": "Bearer dly_nope"}).status_code == 404
    # A bad token is refused even alongside a valid session.
    client.force_login(viewer)
    assert client.get(url(), headers={"Authorization": "Bearer dly_nope"}).status_code == 404


def test_the_token_command_prints_a_working_secret(client, viewer):
    out = StringIO()
    call_command("api_token_create", "client@studio.test", "--name", "laptop", stdout=out)
    secret = out.getvalue().strip()
    assert client.get(url(), headers={"Authorization": f"Bearer {secret}"}).status_code == 200


def test_tokens_page_creates_and_revokes(client, viewer):
    client.force_login(viewer)
    response = client.post(reverse("api_tokens"), {"name": "notebook"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=viewer, name="notebook")
    assert token.prefix in response.content.decode()
    client.post(reverse("api_tokens"), {"revoke": token.pk})
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_revoking_a_malformed_or_foreign_token_changes_nothing(client, viewer):
    other = UserFactory(username="someone-else@studio.test")
    client.force_login(other)
    client.post(reverse("api_tokens"), {"name": "theirs"})
    theirs = ApiToken.objects.get(user=other)
    client.force_login(viewer)
    for value in ("abc", "", str(theirs.pk)):
        response = client.post(reverse("api_tokens"), {"revoke": value})
        assert response.status_code == 302
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


def test_the_tokens_page_makes_a_read_only_token_for_one_project(client, viewer, fixture_project):  # noqa: F811
    client.force_login(viewer)
    response = client.post(
        reverse("api_tokens"), {"name": "ro", "read_only": "on", "projects": ["fixture"]}
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=viewer, name="ro")
    assert token.read_only and [p.slug for p in token.projects.all()] == ["fixture"]
    assert "read-only · fixture" in response.content.decode()


def test_the_tokens_page_refuses_a_project_of_someone_else(client, viewer, outsider):
    client.force_login(viewer)
    response = client.post(reverse("api_tokens"), {"name": "x", "projects": ["elsewhere"]})
    assert response.status_code == 400
    assert not ApiToken.objects.filter(user=viewer).exists()


def test_the_token_command_takes_a_scope(viewer, fixture_project):  # noqa: F811
    out = StringIO()
    call_command(
        "api_token_create", "client@studio.test", "--read-only", "--project", "fixture", stdout=out
    )
    token = ApiToken.objects.get(user=viewer)
    assert token.read_only and list(token.projects.values_list("slug", flat=True)) == ["fixture"]


def test_requests_over_the_rate_answer_429_with_retry_after(client, viewer, settings, monkeypatch):
    settings.DAILIES_API_RATE_PER_MINUTE = 3
    monkeypatch.setattr("generations.api.auth._now", lambda: 1_800_000_015.0)  # 45 s left
    _token, secret = api_token_create(user=viewer, name="busy")
    _other, other_secret = api_token_create(user=viewer, name="calm")
    headers = {"Authorization": f"Bearer {secret}"}
    statuses = [client.get(url(), headers=headers).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    limited = client.get(url(), headers=headers)
    assert limited.status_code == 429
    assert limited["Retry-After"] == "45"
    assert "Too many requests" in limited.json()["message"]
    # The limit is per token: another token of the same user still gets through.
    assert client.get(url(), headers={"Authorization": f"Bearer {other_secret}"}).status_code == 200
    # The next window starts afresh.
    monkeypatch.setattr("generations.api.auth._now", lambda: 1_800_000_061.0)
    assert client.get(url(), headers=headers).status_code == 200
