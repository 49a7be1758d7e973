"""Projects, members, budgets and prices; and listing pages that stay within a fixed number of
queries whatever the size of the data."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from generations.models import Membership, ModelPrice, Note, Project, Role
from generations.services import reviews as review_services
from generations.services.reviews import NoteInput

from .factories import (
    ProjectFactory,
    PromptVersionFactory,
    ShotFactory,
    TakeFactory,
    UserFactory,
)

User = get_user_model()


def login(client, user):
    client.force_login(user)
    return client


# --- projects ---------------------------------------------------------------------------------


def test_creating_a_project_makes_the_creator_its_owner(client, db):
    user = UserFactory(username="maker@studio.test")
    response = login(client, user).post(
        reverse("project_create"), {"name": "Night Market", "brief": "street food at night"}
    )
    project = Project.objects.get(name="Night Market")
    assert response.status_code == 302 and response["Location"] == project.get_absolute_url()
    assert (project.slug, project.brief, project.created_by) == (
        "night-market",
        "street food at night",
        user,
    )
    membership = Membership.objects.get(project=project)
    assert (membership.user, membership.is_owner) == (user, True)
    assert client.get(project.get_absolute_url()).status_code == 200

    client.post(reverse("project_create"), {"name": "Night Market"})
    assert set(Project.objects.values_list("slug", flat=True)) == {
        "night-market",
        "night-market-2",
    }


def test_a_project_needs_a_name(client, db):
    response = login(client, UserFactory()).post(reverse("project_create"), {"name": ""})
    assert response.status_code == 400
    assert Project.objects.count() == 0


def test_my_projects_lists_only_mine(client, project, owner, outsider):
    page = login(client, owner).get(reverse("project_list")).content.decode()
    assert "Neon Market" in page and "Elsewhere" not in page
    page = login(client, outsider).get(reverse("project_list")).content.decode()
    assert "Elsewhere" in page and "Neon Market" not in page


# --- members ----------------------------------------------------------------------------------


def members_url(project) -> str:
    return reverse("member_list", args=[project.slug])


def member_url(project, membership) -> str:
    return reverse("member_update", args=[project.slug, membership.pk])


def test_adding_an_unknown_email_creates_a_user_without_password(client, project, owner):
    response = login(client, owner).post(
        members_url(project), {"email": "New.Person@Studio.test", "role": "editor"}
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@studio.test")
    assert not user.has_usable_password()
    membership = Membership.objects.get(project=project, user=user)
    assert (membership.role, membership.is_owner) == ("editor", False)


def test_adding_a_known_user_links_the_existing_account(client, project, owner, outsider):
    users_before = User.objects.count()
    login(client, owner).post(
        members_url(project), {"email": "OUTSIDER@studio.test", "role": "viewer", "is_owner": "on"}
    )
    assert User.objects.count() == users_before
    membership = Membership.objects.get(project=project, user=outsider)
    assert (membership.role, membership.is_owner) == ("viewer", True)
    # Now a member: the project opens for them.
    assert login(client, outsider).get(project.get_absolute_url()).status_code == 200


def test_adding_a_member_twice_is_refused(client, project, members):
    response = login(client, members["owner"]).post(
        members_url(project), {"email": "editor@studio.test", "role": "viewer"}
    )
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert Membership.objects.get(project=project, user=members["editor"]).role == "editor"


def test_an_owner_changes_a_role(client, project, members):
    editor = Membership.objects.get(project=project, user=members["editor"])
    login(client, members["owner"]).post(
        member_url(project, editor), {"role": "producer", "is_owner": "on"}
    )
    editor.refresh_from_db()
    assert (editor.role, editor.is_owner) == ("producer", True)
    # The new role takes effect: the former editor may now set the budget.
    response = login(client, members["editor"]).post(
        reverse("budget_edit", args=[project.slug]), {"budget_usd": "10"}
    )
    assert response.status_code == 302


def test_the_last_owner_cannot_be_removed_or_demoted(client, project, members):
    owner = Membership.objects.get(project=project, is_owner=True)
    c = login(client, members["owner"])

    response = c.post(member_url(project, owner), {"remove": "1"}, follow=True)
    assert "The last owner cannot be removed." in response.content.decode()
    response = c.post(member_url(project, owner), {"role": "viewer"}, follow=True)
    assert "A project needs at least one owner." in response.content.decode()
    owner.refresh_from_db()
    assert (owner.role, owner.is_owner) == ("lead", True)

    # With a second owner, the first may go.
    lead = Membership.objects.get(project=project, user=members["lead"])
    c.post(member_url(project, lead), {"role": "lead", "is_owner": "on"})
    c.post(member_url(project, owner), {"remove": "1"})
    assert not Membership.objects.filter(pk=owner.pk).exists()
    assert list(Membership.objects.filter(project=project, is_owner=True)) == [lead]


def test_an_invalid_role_changes_nothing(client, project, members):
    viewer = Membership.objects.get(project=project, user=members["viewer"])
    response = login(client, members["owner"]).post(
        member_url(project, viewer), {"role": "admin"}, follow=True
    )
    assert "Choose a valid role." in response.content.decode()
    viewer.refresh_from_db()
    assert viewer.role == "viewer"


# --- budget and prices ------------------------------------------------------------------------


def budget_url(project) -> str:
    return reverse("budget_edit", args=[project.slug])


@pytest.mark.parametrize(
    ("role", "allowed"),
    [("owner", True), ("producer", True), ("lead", False), ("editor", False), ("viewer", False)],
)
def test_only_producers_and_owners_set_budget_and_prices(client, project, members, role, allowed):
    c = login(client, members[role])
    budget = c.post(
        budget_url(project),
        {"budget_usd": "2500.00", "target_accepted_takes": "40", "deadline": "2026-12-01"},
    )
    price = c.post(budget_url(project), {"model": " Kling-2 ", "usd_per_second": "0.0650"})
    project.refresh_from_db()
    prices = ModelPrice.objects.filter(project=project)
    if allowed:
        assert (budget.status_code, price.status_code) == (302, 302)
        assert project.budget_usd == Decimal("2500.00")
        assert project.target_accepted_takes == 40
        assert project.deadline == datetime.date(2026, 12, 1)
        assert [(p.model, p.usd_per_second) for p in prices] == [("kling-2", Decimal("0.0650"))]
    else:
        assert (budget.status_code, price.status_code) == (403, 403)
        assert project.budget_usd == Decimal("1000.00")
        assert not prices.exists()
    page = c.get(budget_url(project)).content.decode()
    assert ("Save budget" in page) is allowed


def test_a_negative_price_is_refused(client, project, members):
    response = login(client, members["producer"]).post(
        budget_url(project), {"model": "veo-3", "usd_per_second": "-1"}
    )
    assert response.status_code == 400
    assert not ModelPrice.objects.filter(project=project).exists()


def test_the_same_price_start_twice_is_a_form_error_not_a_crash(client, project, members):
    c = login(client, members["producer"])
    data = {"model": "veo-3", "usd_per_second": "0.5", "valid_from": "2026-01-01T00:00"}
    assert c.post(budget_url(project), data).status_code == 302
    response = c.post(budget_url(project), {**data, "usd_per_second": "0.6"})
    assert response.status_code == 400
    assert "already" in response.content.decode()
    assert [p.usd_per_second for p in ModelPrice.objects.filter(project=project)] == [
        Decimal("0.5000")
    ]


# --- bounded queries --------------------------------------------------------------------------


def count_queries(client, url) -> int:
    client.get(url)  # warm caches (session, content types) out of the count
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def assert_bounded(client, small_url, large_url, django_assert_max_num_queries):
    small = count_queries(client, small_url)
    client.get(large_url)
    with django_assert_max_num_queries(small):
        response = client.get(large_url)
    assert response.status_code == 200
    return small


def shot_with_takes(project, lead, n: int, name: str):
    """A shot with n versions (a chain), and n takes on its last version, each reviewed with
    tags and a note, some accepted."""
    shot = ShotFactory(project=project, name=name)
    parent = None
    for i in range(1, n + 1):
        parent = PromptVersionFactory(shot=shot, number=i, parent=parent)
    for i in range(n):
        take = TakeFactory(prompt_version=parent)
        verdict = "accept" if i % 3 == 0 else "reject"
        review_services.review_record(
            take=take,
            reviewer=lead,
            verdict=verdict,
            tags=[] if verdict == "accept" else _tags("blur", "warping"),
            notes=[NoteInput(seconds=1.0, text="look", tag_slug="blur")],
        )
    return shot, parent


def _tags(*slugs):
    from generations.models import FailureTag

    return list(FailureTag.objects.filter(slug__in=slugs))


def test_listing_pages_run_a_bounded_number_of_queries(
    client, project, members, django_assert_max_num_queries
):
    lead = members["lead"]
    small_shot, small_version = shot_with_takes(project, lead, 3, "small")
    big_shot, big_version = shot_with_takes(project, lead, 30, "big")
    c = login(client, lead)

    # Shot lineage (versions) and version page (take cards).
    assert_bounded(
        c, small_shot.get_absolute_url(), big_shot.get_absolute_url(), django_assert_max_num_queries
    )
    assert_bounded(
        c,
        small_version.get_absolute_url(),
        big_version.get_absolute_url(),
        django_assert_max_num_queries,
    )
    assert small_version.takes.count() == 3 and big_version.takes.count() == 30


def test_take_page_queries_do_not_grow_with_history(
    client, project, members, django_assert_max_num_queries
):
    version = PromptVersionFactory(shot=ShotFactory(project=project, name="s"), number=1)
    takes = {}
    for n in (3, 30):
        take = TakeFactory(prompt_version=version)
        for i in range(n):
            review_services.review_record(
                take=take,
                reviewer=members["editor" if i % 2 else "lead"],
                verdict="reject",
                tags=_tags("blur", "flicker"),
                notes=[NoteInput(seconds=i / 10, text=f"note {i}", tag_slug="flicker")],
            )
        takes[n] = take
    assert Note.objects.filter(take=takes[30]).count() == 30
    assert_bounded(
        login(client, members["lead"]),
        takes[3].get_absolute_url(),
        takes[30].get_absolute_url(),
        django_assert_max_num_queries,
    )


def test_project_pages_queries_do_not_grow_with_shots_and_members(
    client, members, django_assert_max_num_queries
):
    lead = members["lead"]
    projects = {}
    for n in (3, 30):
        p = ProjectFactory(name=f"P{n}", slug=f"p{n}")
        Membership.objects.create(project=p, user=lead, role=Role.LEAD, is_owner=True)
        for i in range(n):
            version = PromptVersionFactory(shot=ShotFactory(project=p, name=f"shot {i}"), number=1)
            TakeFactory(prompt_version=version)
            Membership.objects.create(project=p, user=UserFactory(), role=Role.VIEWER)
            ModelPrice.objects.create(
                project=p,
                model=f"model-{i}",
                usd_per_second=Decimal("0.1"),
                valid_from=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
            )
        projects[n] = p
    c = login(client, lead)
    for name in ("project_detail", "member_list", "budget_edit"):
        assert_bounded(
            c,
            reverse(name, args=[projects[3].slug]),
            reverse(name, args=[projects[30].slug]),
            django_assert_max_num_queries,
        )


def test_my_projects_queries_do_not_grow_with_projects(client, db, django_assert_max_num_queries):
    few, many = UserFactory(), UserFactory()
    for user, n in ((few, 3), (many, 30)):
        for _ in range(n):
            p = ProjectFactory()
            Membership.objects.create(project=p, user=user, role=Role.LEAD, is_owner=True)
            ShotFactory(project=p)
    url = reverse("project_list")
    small = count_queries(login(client, few), url)
    c = login(client, many)
    c.get(url)
    with django_assert_max_num_queries(small):
        page = c.get(url).content.decode()
    assert page.count("<tr>") == 30 + 1  # header row + one per project
