import pytest

from generations.models import Review
from generations.services.reviews import StaleReview, review_record

from .factories import TakeFactory, UserFactory


@pytest.mark.django_db
def test_the_service_refuses_a_verdict_based_on_a_stale_view():
    take = TakeFactory()
    first, second = UserFactory(), UserFactory()
    # Both opened the unreviewed take; the first one saves.
    review_record(take=take, reviewer=first, verdict="accept", expected_current=None)
    with pytest.raises(StaleReview):
        review_record(take=take, reviewer=second, verdict="reject", expected_current=None)
    assert list(Review.objects.values_list("reviewer", "verdict")) == [(first.pk, "accept")]
    take.refresh_from_db()
    # Seeing the current review, the second reviewer can overrule it.
    review_record(
        take=take, reviewer=second, verdict="reject", expected_current=take.current_review_id
    )
    take.refresh_from_db()
    assert take.current_verdict == "reject"
    assert Review.objects.count() == 2


@pytest.mark.django_db
def test_the_take_page_serves_its_notes_panel_for_htmx_refreshes(client):
    from generations.models import Membership, Role
    from generations.services.reviews import note_add

    take = TakeFactory()
    lead = UserFactory()
    Membership.objects.create(project=take.project, user=lead, role=Role.LEAD)
    note_add(take=take, author=lead, seconds=2.5, text="the hand melts")
    client.force_login(lead)
    url = f"/projects/{take.project.slug}/takes/{take.pk}/?part=notes"
    response = client.get(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'id="notes-panel"' in response.text and "the hand melts" in response.text
    assert "00:00:02:12" in response.text  # 2.5 s at 24 fps is frame 60


@pytest.mark.django_db
def test_a_verdict_given_now_counts_even_after_a_review_dated_ahead_of_our_clock():
    import datetime

    from django.utils import timezone

    take = TakeFactory()
    importer, lead = UserFactory(), UserFactory()
    ahead = timezone.now() + datetime.timedelta(minutes=30)  # a provider's clock ran fast
    review_record(take=take, reviewer=importer, verdict="reject", at=ahead)
    review_record(take=take, reviewer=lead, verdict="accept")
    take.refresh_from_db()
    assert take.current_verdict == "accept"
    assert take.current_review.reviewer == lead
    assert take.current_review.created_at > ahead


@pytest.mark.django_db
def test_the_take_page_links_the_original_for_download(client):
    from django.core.files.base import ContentFile

    from generations.models import Membership, Role

    take = TakeFactory(original_filename="street.mp4")
    viewer = UserFactory()
    Membership.objects.create(project=take.project, user=viewer, role=Role.VIEWER)
    client.force_login(viewer)
    page = f"/projects/{take.project.slug}/takes/{take.pk}/"
    assert "Download original" not in client.get(page).text  # no stored file yet
    take.media.save("x.mp4", ContentFile(b"\x00" * 32), save=True)
    link = f"/projects/{take.project.slug}/takes/{take.pk}/media/video/?download=1"
    assert link in client.get(page).text
    assert client.get(link)["Content-Disposition"].startswith("attachment;")
