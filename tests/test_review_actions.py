"""One home for review actions: the queue and the take page post their verdicts, undos and
notes to the same views (views/reviews.py), share the history and notes partials, and the
rules live in the services and the capability table."""

from decimal import Decimal

import pytest
from django.urls import reverse

from generations.models import FailureTag, Note, Review, Role, Verdict
from generations.models.projects import OWNER_CAPABILITIES, ROLE_CAPABILITIES
from generations.services import reviews as review_services
from generations.services.projects import ServiceError

from .browser.support import seed_taxonomy
from .factories import PromptVersionFactory, TakeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _taxonomy(db):
    seed_taxonomy()


@pytest.fixture
def take(version):
    return TakeFactory(prompt_version=version, duration_s=Decimal("8"), fps=Decimal("24"))


def _verdict_url(take):
    return reverse("review_verdict", args=[take.project.slug, take.pk])


def test_both_pages_post_to_the_same_review_actions(client, owner, project, take):
    client.force_login(owner)
    urls = [
        reverse(name, args=[project.slug, take.pk]) for name in ("review_verdict", "review_note")
    ]
    take_page = client.get(take.get_absolute_url()).text
    queue = client.get(reverse("review_queue", args=[project.slug]), {"take": take.pk}).text
    for url in urls:
        assert f'action="{url}"' in take_page
        assert f'action="{url}"' in queue
    # The shared partials: one notes panel, one history list, in both pages.
    for page in (take_page, queue):
        assert page.count('id="notes-panel"') == 1
        assert page.count('id="review-history"') == 1
        assert page.count('id="note-form"') == 1
    assert 'name="page" value="take"' in take_page
    assert 'name="page" value="queue"' in queue


def test_the_page_field_decides_the_answer(client, owner, project, version):
    first, second = (TakeFactory(prompt_version=version) for _ in range(2))
    client.force_login(owner)
    hx = {"HX-Request": "true"}
    # From the take page: the take page's review panel, and an event for its notes.
    response = client.post(_verdict_url(first), {"verdict": "accept", "page": "take"}, headers=hx)
    assert response.status_code == 200
    assert 'id="review-panel"' in response.text and 'id="review-stage"' not in response.text
    assert "review-saved" in response["HX-Trigger"]
    # From the queue: the next take's stage.
    response = client.post(_verdict_url(second), {"verdict": "reject", "page": "queue"}, headers=hx)
    assert response.status_code == 200
    assert 'id="review-stage"' in response.text and 'id="review-panel"' not in response.text
    assert [r.verdict for r in Review.objects.order_by("id")] == ["accept", "reject"]
    # Without JavaScript: back to where the form was.
    response = client.post(_verdict_url(first), {"verdict": "reject", "page": "take"})
    assert response["Location"] == first.get_absolute_url()
    response = client.post(_verdict_url(first), {"verdict": "accept", "page": "queue"})
    assert response["Location"].startswith(reverse("review_queue", args=[project.slug]))


def test_a_note_answers_with_the_shared_panel_of_its_page(client, owner, project, take):
    client.force_login(owner)
    url = reverse("review_note", args=[project.slug, take.pk])
    hx = {"HX-Request": "true"}
    for page, seconds in (("take", "2.5"), ("queue", "3")):
        response = client.post(
            url, {"seconds": seconds, "text": f"from the {page}", "page": page}, headers=hx
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<div id="notes-panel"')
        assert f'name="page" value="{page}"' in response.text
    assert list(Note.objects.values_list("text", "frame")) == [
        ("from the take", 60),
        ("from the queue", 72),
    ]
    refused = client.post(url, {"seconds": "1", "text": "", "page": "take"}, headers=hx)
    assert refused.status_code == 400
    assert 'role="alert"' in refused.text


def test_only_your_own_verdict_can_be_undone(members, take):
    """The rule is the service's: every caller (queue, take page, scripts) gets it."""
    review_services.review_record(take=take, reviewer=members["editor"], verdict=Verdict.REJECT)
    with pytest.raises(ServiceError, match="someone else's"):
        review_services.review_undo(take=take, reviewer=members["lead"])
    assert take.reviews.count() == 1
    undo = review_services.review_undo(take=take, reviewer=members["editor"])
    assert (undo.verdict, undo.reviewer) == (Verdict.CLEAR, members["editor"])


def test_the_take_page_offers_undo_only_for_your_own_verdict(client, members, project, take):
    review_services.review_record(take=take, reviewer=members["editor"], verdict=Verdict.ACCEPT)
    undo_url = reverse("review_undo", args=[project.slug, take.pk])
    client.force_login(members["lead"])
    assert undo_url not in client.get(take.get_absolute_url()).text
    # Posted anyway: refused by the service, with its reason, nothing written.
    response = client.post(undo_url, {"page": "take"}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "someone else&#x27;s" in response.text
    assert take.reviews.count() == 1
    client.force_login(members["editor"])
    assert undo_url in client.get(take.get_absolute_url()).text
    response = client.post(undo_url, {"page": "take"})
    assert response.status_code == 302
    take.refresh_from_db()
    assert take.current_verdict == ""


def test_setting_the_review_keys_is_a_capability():
    holders = {role for role, caps in ROLE_CAPABILITIES.items() if "review_keys" in caps}
    assert holders == {Role.LEAD}
    assert "review_keys" in OWNER_CAPABILITIES


def test_the_keys_page_shows_the_form_only_to_those_who_may(client, members, project):
    url = reverse("review_settings", args=[project.slug])
    client.force_login(members["editor"])
    assert "Save keys" not in client.get(url).text
    assert client.post(url, {"key_1": "blur"}).status_code == 403
    client.force_login(members["lead"])
    assert "Save keys" in client.get(url).text
    assert client.post(url, {"key_1": "blur"}).status_code == 302


def test_the_take_page_form_starts_from_the_current_verdict(client, members, take):
    review_services.review_record(
        take=take,
        reviewer=members["editor"],
        verdict=Verdict.REJECT,
        tags=FailureTag.objects.filter(slug__in=["blur", "flicker"]),
    )
    client.force_login(members["lead"])
    page = client.get(take.get_absolute_url()).text
    assert 'value="reject" checked' in page
    assert 'value="accept" required checked' not in page
    checked = {slug for slug in ("blur", "flicker", "warping") if f'value="{slug}" checked' in page}
    assert checked == {"blur", "flicker"}


def test_the_queue_shows_the_prompt_and_its_folded_diff(client, owner, project, shot, version):
    child = PromptVersionFactory(
        shot=shot,
        number=2,
        parent=version,
        text="a street food vendor, slow crane up, blue hour",
        parameters={"seed": 7},
    )
    take = TakeFactory(prompt_version=child)
    client.force_login(owner)
    page = client.get(reverse("review_queue", args=[project.slug]), {"take": take.pk}).text
    prompt = page[page.index('id="queue-prompt"') :]
    assert "a street food vendor, slow crane up, blue hour" in prompt
    diff = prompt[prompt.index('<details class="prompt-diff"') : prompt.index("</details>")]
    assert "Changes since v1" in diff
    assert "<del>dolly-in</del>" in diff and "<ins>crane up</ins>" in diff
    assert "<del>golden</del><ins>blue</ins>" in diff
    assert "seed" in diff  # the parameters that changed
    # A first version has nothing to fold.
    first = TakeFactory(prompt_version=version)
    page = client.get(reverse("review_queue", args=[project.slug]), {"take": first.pk}).text
    assert 'id="queue-prompt"' in page and "prompt-diff" not in page
