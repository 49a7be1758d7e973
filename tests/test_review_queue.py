"""The review queue through the Django test client: order, filters, verdicts with and without
htmx, undo, notes at the playhead, key order, permissions and query counts."""

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from generations.models import FailureTag, Membership, Review, Role, Verdict
from generations.selectors.queue import QueueFilters, queue_ids
from generations.services.reviews import review_record

from .browser.support import seed_taxonomy
from .factories import PromptVersionFactory, TakeFactory, UserFactory

pytestmark = pytest.mark.django_db

QUEUE = {"page": "queue"}  # the queue's forms say where they come from


@pytest.fixture(autouse=True)
def _taxonomy(db):
    seed_taxonomy()


@pytest.fixture
def takes(version):
    # Oldest first: t0 is the oldest.
    import datetime

    from django.utils import timezone

    now = timezone.now()
    return [
        TakeFactory(prompt_version=version, created_at=now - datetime.timedelta(hours=10 - i))
        for i in range(4)
    ]


def _queue(project):
    return reverse("review_queue", args=[project.slug])


def _params(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_it_puts_unreviewed_takes_first_and_opens_on_the_first(client, owner, project, takes):
    review_record(take=takes[0], reviewer=owner, verdict=Verdict.ACCEPT)
    ids = queue_ids(project=project, filters=QueueFilters())
    assert ids == [takes[1].pk, takes[2].pk, takes[3].pk, takes[0].pk]
    client.force_login(owner)
    response = client.get(_queue(project))
    assert response.status_code == 200
    assert f'data-take-id="{takes[1].pk}"' in response.text
    assert 'id="verdict-accept"' in response.text


def test_it_checks_membership(client, outsider, project, takes):
    client.force_login(outsider)
    assert client.get(_queue(project)).status_code == 404
    url = reverse("review_verdict", args=[project.slug, takes[0].pk])
    assert client.post(url, {"verdict": "accept"}).status_code == 404
    assert not Review.objects.exists()


def test_a_viewer_sees_the_queue_but_cannot_judge(client, members, project, takes):
    client.force_login(members["viewer"])
    response = client.get(_queue(project))
    assert response.status_code == 200
    assert 'id="verdict-form"' not in response.text
    url = reverse("review_verdict", args=[project.slug, takes[0].pk])
    assert client.post(url, {"verdict": "accept"}).status_code == 403
    assert not Review.objects.exists()


def test_a_verdict_without_javascript_redirects_to_the_next_take(client, owner, project, takes):
    client.force_login(owner)
    page = client.get(_queue(project))
    since = page.context["carry"]["since"]
    url = reverse("review_verdict", args=[project.slug, takes[0].pk])
    response = client.post(
        url, {"verdict": "reject", "tags": ["blur", "warping"], "q": f"since={since}", **QUEUE}
    )
    assert response.status_code == 302
    params = _params(response["Location"])
    assert params["take"] == str(takes[1].pk)
    assert params["last"] == str(takes[0].pk)
    assert params["since"] == since
    takes[0].refresh_from_db()
    assert takes[0].current_verdict == "reject"
    assert set(takes[0].current_review.failure_tags.values_list("slug", flat=True)) == {
        "blur",
        "warping",
    }
    # The redirect target renders the next take.
    follow = client.get(response["Location"])
    assert f'data-take-id="{takes[1].pk}"' in follow.text


def test_a_verdict_with_htmx_swaps_in_the_next_take_and_pushes_its_url(
    client, owner, project, takes
):
    client.force_login(owner)
    url = reverse("review_verdict", args=[project.slug, takes[0].pk])
    response = client.post(url, {"verdict": "accept", **QUEUE}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text  # the stage partial only
    assert f'data-take-id="{takes[1].pk}"' in response.text
    pushed = _params(response["HX-Push-Url"])
    assert pushed["take"] == str(takes[1].pk)
    assert pushed["last"] == str(takes[0].pk)
    # The undo form on the next take undoes the take just judged.
    assert reverse("review_undo", args=[project.slug, takes[0].pk]) in response.text
    # The header crumbs follow the new take, out of band.
    crumbs = response.text[response.text.index('id="crumbs"') :]
    assert 'hx-swap-oob="true"' in crumbs[:60]
    assert takes[1].external_id in crumbs and takes[0].external_id not in crumbs


def test_the_order_is_stable_during_a_session(client, owner, project, takes):
    """A take judged after the queue opened keeps its place, so J goes back to it."""
    client.force_login(owner)
    since = client.get(_queue(project)).context["carry"]["since"]
    url = reverse("review_verdict", args=[project.slug, takes[0].pk])
    client.post(url, {"verdict": "accept", "q": f"since={since}&unreviewed=1", **QUEUE})
    page = client.get(_queue(project), {"since": since, "unreviewed": "1", "take": takes[1].pk})
    assert page.context["position"].previous_id == takes[0].pk
    # A new session (no `since`) sees only the unreviewed ones.
    fresh = client.get(_queue(project), {"unreviewed": "1"})
    assert fresh.context["position"].total == 3


def test_a_stale_verdict_is_refused(client, owner, members, project, takes):
    client.force_login(owner)
    review_record(take=takes[0], reviewer=members["editor"], verdict=Verdict.ACCEPT)
    url = reverse("review_verdict", args=[project.slug, takes[0].pk])
    response = client.post(
        url, {"verdict": "reject", "seen_review": "", **QUEUE}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 409
    assert "while you were looking" in response.text
    takes[0].refresh_from_db()
    assert takes[0].current_verdict == "accept"


def test_undo_restores_the_previous_verdict_and_keeps_history(client, owner, project, takes):
    client.force_login(owner)
    take = takes[0]
    review_record(
        take=take,
        reviewer=owner,
        verdict=Verdict.REJECT,
        tags=FailureTag.objects.filter(slug="blur"),
    )
    review_record(take=take, reviewer=owner, verdict=Verdict.ACCEPT)
    url = reverse("review_undo", args=[project.slug, take.pk])
    response = client.post(url, QUEUE, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert f'data-take-id="{take.pk}"' in response.text
    take.refresh_from_db()
    assert take.current_verdict == "reject"
    assert list(take.current_review.failure_tags.values_list("slug", flat=True)) == ["blur"]
    assert take.reviews.count() == 3


def test_undoing_a_first_verdict_makes_the_take_unreviewed(client, owner, project, takes):
    client.force_login(owner)
    take = takes[0]
    review_record(take=take, reviewer=owner, verdict=Verdict.ACCEPT)
    response = client.post(reverse("review_undo", args=[project.slug, take.pk]), QUEUE)
    assert response.status_code == 302
    take.refresh_from_db()
    assert take.current_verdict == ""
    assert take.current_review.verdict == Verdict.CLEAR
    assert take.reviews.count() == 2
    assert queue_ids(project=project, filters=QueueFilters(unreviewed=True))[0] == take.pk


def test_undo_leaves_someone_elses_verdict_alone(client, owner, members, project, takes):
    client.force_login(owner)
    review_record(take=takes[0], reviewer=members["editor"], verdict=Verdict.ACCEPT)
    response = client.post(
        reverse("review_undo", args=[project.slug, takes[0].pk]),
        QUEUE,
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert takes[0].reviews.count() == 1


def test_the_filters_narrow_the_queue(project, owner, shot, takes):
    other_version = PromptVersionFactory(shot=shot, number=2)
    kling = TakeFactory(prompt_version=other_version, model="kling-2")
    review_record(
        take=takes[1],
        reviewer=owner,
        verdict=Verdict.REJECT,
        tags=FailureTag.objects.filter(slug="flicker"),
    )
    review_record(take=takes[2], reviewer=owner, verdict=Verdict.ACCEPT)

    def ids(**query):
        return queue_ids(project=project, filters=QueueFilters.from_query(query))

    assert ids(model="kling-2") == [kling.pk]
    assert ids(**{"pass": "2"}) == [kling.pk]
    assert ids(version=str(other_version.pk)) == [kling.pk]
    assert ids(tag="flicker") == [takes[1].pk]
    assert ids(verdict="accept") == [takes[2].pk]
    assert ids(verdict="reject") == [takes[1].pk]
    assert ids(reviewer=str(owner.pk)) == [takes[1].pk, takes[2].pk]
    assert set(ids(unreviewed="1")) == {takes[0].pk, takes[3].pk, kling.pk}
    assert len(ids(shot=str(shot.pk))) == 5


def test_keys_follow_the_projects_tag_order(client, owner, project, takes):
    project.tag_order = ["physics", "anatomy"]
    project.save()
    client.force_login(owner)
    response = client.get(_queue(project))
    keyed = response.context["keyed_tags"]
    assert [t.slug for t, key, _ in keyed[:2]] == ["physics", "anatomy"]
    assert [key for _, key, _ in keyed[:9]] == list(range(1, 10))
    assert keyed[9][1] is None


def test_leads_set_the_keys_and_editors_cannot(client, owner, members, project):
    url = reverse("review_settings", args=[project.slug])
    client.force_login(members["editor"])
    assert client.get(url).status_code == 200
    assert client.post(url, {"key_1": "blur"}).status_code == 403
    client.force_login(members["lead"])
    response = client.post(url, {"key_1": "blur", "key_2": "flicker"})
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.tag_order == ["blur", "flicker"]
    assert client.post(url, {"key_1": "blur", "key_2": "blur"}).status_code == 400
    assert client.post(url, {"key_1": "nope"}).status_code == 400


def test_a_note_at_the_playhead_stores_its_frame(client, owner, project, takes):
    client.force_login(owner)
    take = takes[0]  # 24 fps, 8 s
    url = reverse("review_note", args=[project.slug, take.pk])
    response = client.post(
        url,
        {"seconds": f"{37 / 24:.3f}", "text": "hand melts", "tag": "anatomy", **QUEUE},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    note = take.notes.get()
    assert note.frame == 37
    assert note.tag.slug == "anatomy"
    assert "00:00:01:13" in response.text  # 37 = 1 s + 13 frames at 24 fps
    assert 'data-seek-time="1.5625"' in response.text  # (37 + 0.5) / 24
    # Past the end: refused with a reason.
    bad = client.post(url, {"seconds": "99", "text": "x", **QUEUE}, headers={"HX-Request": "true"})
    assert bad.status_code == 400
    assert "past the end" in bad.text


def test_the_queue_runs_a_bounded_number_of_queries(
    client, owner, project, version, django_assert_max_num_queries
):
    for _ in range(30):
        take = TakeFactory(prompt_version=version)
        review_record(
            take=take, reviewer=owner, verdict=Verdict.REJECT, tags=FailureTag.objects.all()[:3]
        )
    client.force_login(owner)
    # The order takes up to four LIMITed index walks (unreviewed, judged this session, accepted,
    # rejected); the rest is the page. None of it depends on the number of takes.
    with django_assert_max_num_queries(17):
        response = client.get(_queue(project))
    assert response.status_code == 200
    with django_assert_max_num_queries(13):
        client.get(_queue(project), headers={"HX-Request": "true"})


def test_a_user_of_another_role_in_another_project_gets_404_for_a_take(client, project, takes):
    stranger = UserFactory(username="stranger@studio.test")
    other = PromptVersionFactory()
    Membership.objects.create(project=other.shot.project, user=stranger, role=Role.LEAD)
    client.force_login(stranger)
    response = client.get(
        reverse("review_queue", args=[other.shot.project.slug]), {"take": takes[0].pk}
    )
    assert response.status_code == 404
