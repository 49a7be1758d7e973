"""The portfolio page (issue 11 item 7): one row per project the user is a member of, with spend,
budget, acceptance, first pass and forecast status, read from rollups in a bounded number of
queries."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from generations.models import Membership, Role
from generations.selectors.portfolio import portfolio_rows
from generations.services.reviews import review_record
from generations.services.rollups import rollups_recompute

from .factories import ProjectFactory, PromptVersionFactory, ShotFactory, TakeFactory, UserFactory

TODAY = timezone.localdate()


def _project(user, name, *, budget, plan, deadline=None, target=None, role=Role.PRODUCER):
    """plan: (pass, cost, verdict or None, days ago) per take."""
    project = ProjectFactory(
        name=name,
        slug=name.lower().replace(" ", "-"),
        budget_usd=budget,
        deadline=deadline,
        target_accepted_takes=target,
    )
    Membership.objects.create(project=project, user=user, role=role)
    shot = ShotFactory(project=project, name=f"{name} shot")
    versions = {}
    for number, cost, verdict, days_ago in plan:
        if number not in versions:
            versions[number] = PromptVersionFactory(shot=shot, number=number)
        take = TakeFactory(
            prompt_version=versions[number],
            cost_usd=Decimal(cost),
            created_at=timezone.now() - datetime.timedelta(days=days_ago),
        )
        if verdict:
            review_record(take=take, reviewer=user, verdict=verdict)
    rollups_recompute(project_id=project.pk)
    return project


@pytest.fixture
def producer(db):
    return UserFactory(username="prod@studio.test")


@pytest.fixture
def three(producer):
    # Alpha: 4 takes, $10; 2 of 3 reviewed accepted; first pass 1 of 2; far deadline.
    alpha = _project(
        producer,
        "Alpha",
        budget=Decimal("100"),
        plan=[
            (1, "2.5", "accept", 3),
            (1, "2.5", "reject", 2),
            (2, "2.5", "accept", 1),
            (2, "2.5", None, 1),
        ],
        deadline=TODAY + datetime.timedelta(days=60),
        target=3,
    )
    # Beta: 2 takes, $30, no budget, no review, no deadline.
    beta = _project(producer, "Beta", budget=None, plan=[(1, "10", None, 1), (1, "20", None, 0)])
    # Gamma: over budget, target far away, deadline in 3 days: late.
    gamma = _project(
        producer,
        "Gamma",
        budget=Decimal("20"),
        plan=[(1, "15", "reject", 2), (1, "15", "accept", 1), (1, "15", "reject", 0)],
        deadline=TODAY + datetime.timedelta(days=3),
        target=40,
    )
    # Someone else's project never shows.
    _project(UserFactory(), "Hidden", budget=Decimal("5"), plan=[(1, "1", "accept", 1)])
    return alpha, beta, gamma


def test_one_row_per_project_of_the_user_with_its_numbers(producer, three):
    rows = portfolio_rows(user=producer, today=TODAY)
    assert [r.project.name for r in rows] == ["Alpha", "Beta", "Gamma"]
    alpha, beta, gamma = rows
    assert (alpha.takes, alpha.reviewed, alpha.accepted) == (4, 3, 2)
    assert alpha.spend_usd == 10.0 and alpha.budget_used == 0.1
    assert alpha.acceptance_rate == pytest.approx(0.6667, abs=1e-4)
    assert (alpha.first_pass_reviewed, alpha.first_pass_rate) == (2, 0.5)
    assert alpha.first_pass_position == "above"
    assert beta.spend_usd == 30.0 and beta.budget_used is None and beta.acceptance_rate is None
    assert beta.deadline is None
    assert gamma.spend_usd == 45.0 and gamma.budget_used == 2.25
    assert gamma.first_pass_rate == pytest.approx(0.3333, abs=1e-4)
    assert gamma.deadline.status == "late"
    assert alpha.deadline.status in {"on_track", "at_risk"}


def test_the_page_renders_each_project_and_the_totals(client, producer, three):
    client.force_login(producer)
    response = client.get(reverse("portfolio"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="portfolio-alpha"' in html and 'id="portfolio-gamma"' in html
    assert "Hidden" not in html
    assert "$10.00" in html and "$30.00" in html and "$45.00" in html
    assert "$85.00" in html  # spend of all three
    assert "66.7%" in html and "50.0%" in html  # Alpha's acceptance and first pass
    assert "late" in html and "no deadline" in html
    assert response["Cache-Control"].startswith("private") or "private" in response["Cache-Control"]


def test_queries_do_not_grow_with_the_number_of_projects(client, producer, three):
    client.force_login(producer)
    with CaptureQueriesContext(connection) as three_projects:
        client.get(reverse("portfolio"))
    for i in range(4):
        _project(producer, f"More {i}", budget=Decimal("10"), plan=[(1, "1", "accept", i)])
    with CaptureQueriesContext(connection) as seven_projects:
        response = client.get(reverse("portfolio"))
    assert response.content.decode().count('id="portfolio-') == 7
    assert len(seven_projects.captured_queries) == len(three_projects.captured_queries)
    # Rollups only: the page never reads takes or reviews.
    sql = " ".join(q["sql"] for q in seven_projects.captured_queries)
    assert "generations_take" not in sql and "generations_review" not in sql


def test_anonymous_users_log_in_and_posts_are_refused(client, producer):
    response = client.get(reverse("portfolio"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    client.force_login(producer)
    assert client.post(reverse("portfolio")).status_code == 405
    assert "not a member of any project" in client.get(reverse("portfolio")).content.decode()
