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
