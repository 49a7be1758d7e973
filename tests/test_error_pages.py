"""403, 404, 409 and 500 are pages of the app: its header, a reason the user can act on, and
for expected refusals no traceback in the log. And "Compare with v1" only when v1 has takes."""

import logging
import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from generations.middleware import ErrorPageMiddleware
from generations.models import Verdict
from generations.services.reviews import StaleReview, review_record

from .browser.support import seed_taxonomy
from .factories import PromptVersionFactory, TakeFactory

pytestmark = pytest.mark.django_db

HEADER = '<header class="topbar">'


@pytest.fixture(autouse=True)
def _taxonomy(db):
    seed_taxonomy()


def _templates(response) -> list[str]:
    return [t.name for t in response.templates]


def test_a_403_is_an_app_page_with_the_reason_and_no_traceback(client, members, project, caplog):
    client.force_login(members["editor"])
    url = reverse("review_settings", args=[project.slug])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.post(url, {"key_1": "blur"})
    assert response.status_code == 403
    assert "errors/page.html" in _templates(response)
    page = response.text
    assert HEADER in page and "Log out" in page  # the app's header, signed in
    assert "Your role cannot review keys here." in page
    assert "Ask the project&#x27;s owner for a role" in page
    assert f'href="{reverse("project_detail", args=[project.slug])}"' in page
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == [f"Forbidden: {url}"]
    assert all(r.exc_info is None for r in caplog.records)


def test_a_403_over_htmx_is_a_fragment_with_the_reason(client, members, project, version):
    take = TakeFactory(prompt_version=version)
    client.force_login(members["viewer"])
    response = client.post(
        reverse("review_verdict", args=[project.slug, take.pk]),
        {"verdict": "accept", "page": "queue"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert "<html" not in response.text
    assert 'role="alert"' in response.text and "Your role cannot review here." in response.text


def test_a_404_is_an_app_page_that_says_what_to_do(client, members, project, caplog):
    client.force_login(members["lead"])
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get(reverse("take_detail", args=[project.slug, 999_999]))
        missing = client.get(reverse("project_detail", args=["no-such-project"]))
    for r in (response, missing):
        assert r.status_code == 404
        assert "errors/page.html" in _templates(r)
        assert HEADER in r.text
        assert "Check the address, or find it from your projects." in r.text
    # A model's name is not a reason: the generic one is shown instead.
    assert "matches the given query" not in response.text
    assert "No such project" in missing.text
    assert all(r.exc_info is None for r in caplog.records)


def test_a_500_is_an_app_page(members, monkeypatch, caplog):
    from generations.selectors import projects as project_selectors

    def broken(**kwargs):
        raise RuntimeError("the database fell over")

    monkeypatch.setattr(project_selectors, "projects_for_user", broken)
    client = Client(raise_request_exception=False)
    client.force_login(members["lead"])
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.get(reverse("project_list"))
    assert response.status_code == 500
    assert HEADER in response.text
    assert "Something went wrong on our side" in response.text
    assert "Try again" in response.text
    assert "the database fell over" not in response.text  # no internals shown
    # A fault, unlike a refusal, is logged with its traceback.
    assert any(r.exc_info for r in caplog.records)


def test_a_stale_verdict_is_a_409_page_of_the_app(client, members, project, version):
    take = TakeFactory(prompt_version=version)
    review_record(take=take, reviewer=members["editor"], verdict=Verdict.ACCEPT)
    client.force_login(members["lead"])
    response = client.post(
        reverse("review_verdict", args=[project.slug, take.pk]),
        {"verdict": "reject", "seen_review": "", "page": "take"},
    )
    assert response.status_code == 409
    assert "generations/take_detail.html" in _templates(response)
    assert HEADER in response.text
    assert "while you were looking" in response.text
    take.refresh_from_db()
    assert take.current_verdict == Verdict.ACCEPT


def test_a_conflict_a_view_lets_through_is_the_409_page(members, project):
    request = RequestFactory().post(f"/projects/{project.slug}/anything/")
    request.user = members["lead"]
    request.htmx = False
    response = ErrorPageMiddleware(lambda r: None).process_exception(
        request, StaleReview("Someone judged this take meanwhile.")
    )
    assert response.status_code == 409
    text = response.content.decode()
    assert HEADER in text and "Someone judged this take meanwhile." in text
    assert "Reload to see the current state" in text


def test_a_form_without_its_csrf_token_gets_the_apps_403(members, project):
    client = Client(enforce_csrf_checks=True)
    client.force_login(members["owner"])
    response = client.post(reverse("budget_edit", args=[project.slug]), {"budget_usd": "1"})
    assert response.status_code == 403
    assert HEADER in response.text
    assert "Reload the page and submit it again." in response.text


def test_compare_with_the_parent_only_when_it_has_takes(client, owner, project, shot, version):
    v2 = PromptVersionFactory(shot=shot, number=2, parent=version, text="a vendor at dusk")
    TakeFactory(prompt_version=v2)
    client.force_login(owner)
    url = reverse("version_detail", args=[project.slug, v2.pk])
    compare = reverse("compare_takes", args=[project.slug])
    assert not re.search(r">Compare with v1<", client.get(url).text)
    TakeFactory(prompt_version=version)
    page = client.get(url).text
    assert f'href="{compare}?versions={version.pk},{v2.pk}">Compare with v1<' in page
    # And the link leads to a compare page, not a 404.
    assert client.get(f"{compare}?versions={version.pk},{v2.pk}").status_code == 200
