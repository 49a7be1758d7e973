"""Reviews: append-only history, the latest is the current verdict, time-coded notes, stale
forms, undo, and bulk tagging."""

import datetime
import importlib
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from generations.models import FailureTag, Note, Review, Take, Verdict
from generations.services import reviews as review_services
from generations.services.projects import ServiceError
from generations.services.reviews import NoteInput

from .factories import TakeFactory


def tags(*slugs: str) -> list[FailureTag]:
    found = list(FailureTag.objects.filter(slug__in=slugs))
    assert len(found) == len(slugs), slugs
    return found


def tag_slugs(review: Review | None) -> set[str]:
    return set(review.failure_tags.values_list("slug", flat=True)) if review else set()


def review(take, user, verdict, *slugs, **kwargs) -> Review:
    return review_services.review_record(
        take=take, reviewer=user, verdict=verdict, tags=tags(*slugs), **kwargs
    )


@pytest.fixture
def take(version):
    return TakeFactory(prompt_version=version, duration_s=Decimal("8.000"), fps=Decimal("24"))


def review_url(take) -> str:
    return reverse("review_verdict", args=[take.project.slug, take.pk])


def as_user(client, user):
    client.force_login(user)
    return client


def test_reviews_are_append_only_and_the_latest_is_current(client, members, take):
    editor = as_user(client, members["editor"])
    response = editor.post(review_url(take), {"verdict": "accept", "comment": "good motion"})
    assert response.status_code == 302
    first = Review.objects.get()

    lead = as_user(client, members["lead"])
    response = lead.post(review_url(take), {"verdict": "reject", "tags": ["blur", "warping"]})
    assert response.status_code == 302

    history = list(take.reviews.order_by("created_at", "id"))
    assert [(r.verdict, r.reviewer.username) for r in history] == [
        ("accept", "editor@studio.test"),
        ("reject", "lead@studio.test"),
    ]
    # The first review is untouched by the second.
    first.refresh_from_db()
    assert (first.verdict, first.comment, tag_slugs(first)) == ("accept", "good motion", set())
    assert tag_slugs(history[1]) == {"blur", "warping"}
    take.refresh_from_db()
    assert take.current_review == history[1]
    assert take.current_verdict == "reject"
    page = client.get(take.get_absolute_url()).content.decode()
    assert page.count('class="badge accept"') == 1  # in the history, no longer current
    assert 'id="current-verdict">reject<' in page


def test_re_review_changes_the_current_verdict_every_time(members, take):
    seen = []
    for verdict in ["accept", "reject", "accept", "reject", "reject"]:
        review(take, members["editor"], verdict)
        take.refresh_from_db()
        seen.append(take.current_verdict)
    assert seen == ["accept", "reject", "accept", "reject", "reject"]
    assert take.reviews.count() == 5


def test_the_current_verdict_is_the_latest_by_time_not_by_insertion(members, take):
    """An imported review dated earlier than the current one goes into history only."""
    now = timezone.now()
    later = review(take, members["lead"], "accept", at=now)
    review(take, members["editor"], "reject", "blur", at=now - datetime.timedelta(hours=3))
    take.refresh_from_db()
    assert take.current_review == later
    assert take.current_verdict == "accept"
    assert take.reviews.count() == 2


def test_an_accept_carries_no_failure_tags(client, members, take):
    as_user(client, members["lead"]).post(review_url(take), {"verdict": "accept", "tags": ["blur"]})
    assert tag_slugs(Review.objects.get()) == set()


def test_a_verdict_over_htmx_returns_the_panel_and_an_event(client, members, take):
    lead = as_user(client, members["lead"])
    response = lead.post(review_url(take), {"verdict": "reject"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "review-saved" in response["HX-Trigger"]
    body = response.content.decode()
    assert 'id="review-panel"' in body and "<html" not in body


@pytest.mark.parametrize(
    ("fps", "seconds", "frame"),
    [("24", "1.5", 36), ("23.976", "1.0", 24), ("30", "2.5", 75), ("25", "3.22", 80)],
)
def test_notes_are_time_coded_at_the_takes_frame_rate(
    client, members, version, fps, seconds, frame
):
    take = TakeFactory(prompt_version=version, fps=Decimal(fps), duration_s=Decimal("8"))
    editor = as_user(client, members["editor"])
    response = editor.post(
        reverse("review_note", args=[take.project.slug, take.pk]),
        {"seconds": seconds, "text": "hand melts", "tag": "anatomy"},
    )
    assert response.status_code == 302
    note = Note.objects.get(take=take)
    assert (note.seconds, note.frame, note.tag.slug) == (Decimal(seconds), frame, "anatomy")
    assert note.author == members["editor"]


def test_a_note_with_the_verdict_belongs_to_that_review(client, members, version):
    take = TakeFactory(prompt_version=version, fps=Decimal("30"), duration_s=Decimal("6"))
    lead = as_user(client, members["lead"])
    lead.post(
        review_url(take),
        {"verdict": "reject", "tags": ["flicker"], "note_seconds": "4.1", "note_text": "pops"},
    )
    note = Note.objects.get()
    assert note.review == take.reviews.get()
    assert (note.seconds, note.frame) == (Decimal("4.100"), 123)
    page = lead.get(take.get_absolute_url()).content.decode()
    assert "00:00:04:03" in page  # frame 123 at 30 fps


def test_a_note_past_the_end_is_refused(client, members, take):
    editor = as_user(client, members["editor"])
    response = editor.post(
        reverse("review_note", args=[take.project.slug, take.pk]),
        {"seconds": "8.5", "text": "after the end"},
    )
    assert response.status_code == 400
    assert "past the end" in response.content.decode()
    assert Note.objects.count() == 0


def seen_review_on_page(client, take) -> str:
    page = client.get(take.get_absolute_url()).content.decode()
    return re.search(r'name="seen_review" value="(\d*)"', page).group(1)


def test_a_stale_form_gets_409_and_saves_nothing(client, members, take, django_user_model):
    first = review(take, members["editor"], "accept")
    lead = as_user(client, members["lead"])
    seen = seen_review_on_page(lead, take)
    assert seen == str(first.pk)

    second = review(take, members["editor"], "reject", "morphing")  # meanwhile
    response = lead.post(review_url(take), {"verdict": "accept", "seen_review": seen})

    assert response.status_code == 409
    page = response.content.decode()
    assert "Someone reviewed this take while you were looking" in page
    assert f'name="seen_review" value="{second.pk}"' in page
    assert take.reviews.count() == 2
    take.refresh_from_db()
    assert (take.current_review, take.current_verdict) == (second, "reject")

    # Submitted again with what they now see, it goes through.
    response = lead.post(review_url(take), {"verdict": "accept", "seen_review": second.pk})
    assert response.status_code == 302
    take.refresh_from_db()
    assert take.current_verdict == "accept"


def test_a_form_seen_unreviewed_is_stale_once_someone_reviews(client, members, take):
    lead = as_user(client, members["lead"])
    assert seen_review_on_page(lead, take) == ""
    review(take, members["editor"], "reject", "blur")
    response = lead.post(review_url(take), {"verdict": "accept", "seen_review": ""})
    assert response.status_code == 409
    assert take.reviews.count() == 1


def test_undo_restores_the_previous_verdict_and_tags_as_a_new_review(members, take):
    review(take, members["editor"], "reject", "blur", "warping")
    review(take, members["lead"], "reject", "anatomy")
    review(take, members["lead"], "accept")

    undo = review_services.review_undo(take=take, reviewer=members["lead"])
    take.refresh_from_db()
    assert (undo.verdict, tag_slugs(undo)) == ("reject", {"anatomy"})
    assert take.current_review == undo and take.current_verdict == "reject"
    assert take.reviews.count() == 4

    again = review_services.review_undo(take=take, reviewer=members["lead"])
    take.refresh_from_db()
    # Undo of the undo: the verdict before it (accept) comes back.
    assert (again.verdict, tag_slugs(again)) == ("accept", set())
    assert take.current_verdict == "accept"
    assert [r.verdict for r in take.reviews.order_by("created_at", "id")] == [
        "reject",
        "reject",
        "accept",
        "reject",
        "accept",
    ]
    # The undos are not the lead's judgements: they count nowhere in the per-reviewer stats.
    assert [r.kind for r in take.reviews.order_by("created_at", "id")] == [
        "verdict",
        "verdict",
        "verdict",
        "undo",
        "undo",
    ]


def test_undoing_a_first_verdict_gives_back_unreviewed_with_history_kept(client, members, take):
    first = review(take, members["editor"], "reject", "physics")
    undo = review_services.review_undo(take=take, reviewer=members["editor"])

    take.refresh_from_db()
    assert (undo.verdict, undo.kind) == (Verdict.CLEAR, "undo")
    assert take.current_verdict == ""
    assert list(take.reviews.order_by("created_at", "id")) == [first, undo]
    assert tag_slugs(first) == {"physics"}
    assert Take.objects.filter(project=take.project, current_verdict="").count() == 1
    page = as_user(client, members["viewer"]).get(take.get_absolute_url()).content.decode()
    assert 'id="current-verdict">unreviewed<' in page
    with pytest.raises(ServiceError):
        review_services.review_undo(take=take, reviewer=members["editor"])


def test_undo_without_any_verdict_is_refused(members, take):
    with pytest.raises(ServiceError):
        review_services.review_undo(take=take, reviewer=members["lead"])
    assert take.reviews.count() == 0


def current_tag_counts(takes) -> dict[str, int]:
    counts: dict[str, int] = {}
    for t in Take.objects.filter(pk__in=[t.pk for t in takes], current_verdict="reject"):
        for slug in tag_slugs(t.current_review):
            counts[slug] = counts.get(slug, 0) + 1
    return counts


def test_bulk_tagging_adds_and_removes_tags_in_one_go(members, version):
    editor = members["editor"]
    t = [TakeFactory(prompt_version=version) for _ in range(9)]
    review(t[0], editor, "reject", "blur", "flicker")
    review(t[1], editor, "reject", "blur")
    review(t[2], editor, "reject", "anatomy", "flicker")
    review(t[3], editor, "accept")
    # t[4] unreviewed; t[5..8] are not selected and keep their blur.
    for other in t[5:]:
        review(other, editor, "reject", "blur")
    review(t[8], editor, "reject", "blur", "lighting")
    assert current_tag_counts(t) == {"blur": 6, "flicker": 2, "anatomy": 1, "lighting": 1}
    reviews_before = Review.objects.count()

    changed = review_services.takes_bulk_tag(
        takes=t[:5], reviewer=members["lead"], add=tags("warping"), remove=tags("blur")
    )

    # Only the rejected takes change: tagging never turns an accept or an unreviewed take
    # into a reject behind the reviewer's back.
    assert changed == 3
    assert current_tag_counts(t) == {
        "blur": 4,
        "warping": 3,
        "flicker": 2,
        "anatomy": 1,
        "lighting": 1,
    }
    assert Review.objects.count() == reviews_before + 3  # one new review per changed take
    edits = Review.objects.filter(reviewer=members["lead"])
    assert [(r.kind, r.verdict) for r in edits] == [("bulk", "reject")] * 3
    verdicts = dict(
        Take.objects.filter(pk__in=[x.pk for x in t]).values_list("pk", "current_verdict")
    )
    assert [verdicts[x.pk] for x in t[:5]] == ["reject", "reject", "reject", "accept", ""]
    assert [r.verdict for r in t[3].reviews.order_by("created_at", "id")] == ["accept"]

    # Same edit again: nothing to change, nothing written.
    again = review_services.takes_bulk_tag(
        takes=t[:5], reviewer=members["lead"], add=tags("warping"), remove=tags("blur")
    )
    assert again == 0
    assert Review.objects.count() == reviews_before + 3


def test_bulk_removing_a_tag_from_accepted_or_unreviewed_takes_changes_nothing(members, version):
    accepted, unreviewed = TakeFactory(prompt_version=version), TakeFactory(prompt_version=version)
    review(accepted, members["editor"], "accept")
    changed = review_services.takes_bulk_tag(
        takes=[accepted, unreviewed], reviewer=members["lead"], remove=tags("blur")
    )
    assert changed == 0
    assert Review.objects.count() == 1


def test_bulk_tagging_stays_within_one_project(members, version, outsider):
    from generations.models import Project

    from .factories import PromptVersionFactory, ShotFactory

    elsewhere = Project.objects.get(slug="elsewhere")
    foreign = TakeFactory(
        prompt_version=PromptVersionFactory(shot=ShotFactory(project=elsewhere), number=1)
    )
    with pytest.raises(ServiceError):
        review_services.takes_bulk_tag(
            takes=[TakeFactory(prompt_version=version), foreign],
            reviewer=members["lead"],
            add=tags("blur"),
        )
    assert Review.objects.count() == 0


def test_review_record_with_notes_input(members, take):
    r = review(
        take,
        members["editor"],
        "reject",
        "jerky-motion",
        notes=[NoteInput(seconds=0.5, text="stutter", tag_slug="jerky-motion")],
    )
    assert list(r.notes.values_list("frame", "tag__slug")) == [(12, "jerky-motion")]


def test_a_verdict_whose_note_is_refused_saves_nothing(client, members, take):
    lead = as_user(client, members["lead"])
    response = lead.post(
        review_url(take),
        {"verdict": "reject", "tags": ["blur"], "note_seconds": "9.5", "note_text": "too late"},
    )
    assert response.status_code == 400
    assert "past the end" in response.content.decode()
    assert (Review.objects.count(), Note.objects.count()) == (0, 0)
    take.refresh_from_db()
    assert (take.current_review, take.current_verdict) == (None, "")


def test_the_kind_migration_classifies_old_reviews_by_their_comment(members, take):
    backfill = importlib.import_module("generations.migrations.0006_review_kind").backfill
    written = {
        comment: review(take, members["editor"], "reject", comment=comment)
        for comment in ("Bulk tag edit", "Undo", "Undo: restores the verdict of 2026-11-01", "ok")
    }
    Review.objects.update(kind="verdict")  # as the field's default left them
    backfill(apps, None)
    kinds = {comment: Review.objects.get(pk=r.pk).kind for comment, r in written.items()}
    assert kinds == {
        "Bulk tag edit": "bulk",
        "Undo": "undo",
        "Undo: restores the verdict of 2026-11-01": "undo",
        "ok": "verdict",
    }
