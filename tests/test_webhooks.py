"""Outgoing webhooks: signed with Standard Webhooks and checked by that library's own verifier,
sent by a real worker after commit, retried after a 500, never sent for a rolled-back write."""

import json
import os
import random
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from generations.models import (
    BudgetThresholdMark,
    DeliveryState,
    FailureTag,
    Membership,
    Review,
    Role,
    RollupRow,
    Take,
    TakeStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from generations.models.rollups import Dimension
from generations.services import webhooks
from generations.services.projects import ServiceError
from generations.services.reviews import review_record, takes_bulk_tag
from generations.services.takes import take_mark_broken

from . import webhook_receiver
from .browser.support import seed_taxonomy
from .factories import ProjectFactory, PromptVersionFactory, ShotFactory, TakeFactory, UserFactory

ALL_EVENTS = list(WebhookEvent.values)


def wait_for(predicate, timeout: float = 10.0, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def verified(secret: str, received) -> dict:
    """The payload, as the standardwebhooks library's verifier accepts it (raises otherwise)."""
    return Webhook(secret).verify(received.body, received.headers)


@pytest.fixture
def receiver(settings):
    settings.DAILIES_ALLOW_PRIVATE_URLS = True  # the receiver listens on 127.0.0.1
    server, stop = webhook_receiver.start([200])
    yield server
    stop()


@pytest.fixture
def scene(db):
    project = ProjectFactory(slug="hooks", budget_usd=Decimal("100"))
    lead = UserFactory(username="lead@hooks.test")
    Membership.objects.create(project=project, user=lead, role=Role.LEAD, is_owner=True)
    version = PromptVersionFactory(shot=ShotFactory(project=project, name="alley"), number=1)
    return project, lead, version


def endpoint_for(project, receiver, events=ALL_EVENTS):
    endpoint, secret = webhooks.webhook_endpoint_create(
        project=project, url=receiver.url, event_types=events
    )
    return endpoint, secret


# --- with a real worker --------------------------------------------------------------------


@pytest.fixture
def live(celery_worker, receiver, scene, django_db_blocker):
    yield scene
    with django_db_blocker.unblock():
        seed_taxonomy()  # the worker's transactional_db flushed the data migration's tags


@pytest.mark.worker
def test_a_verdict_is_delivered_signed_after_commit(live, receiver):
    project, lead, version = live
    seed_taxonomy()
    endpoint, secret = endpoint_for(project, receiver)
    assert secret.startswith("whsec_")
    take = TakeFactory(prompt_version=version, external_id="gen-0042")

    review = review_record(
        take=take,
        reviewer=lead,
        verdict="reject",
        tags=FailureTag.objects.filter(slug__in=["blur", "warping"]),
        comment="hands melt",
    )

    assert wait_for(lambda: len(receiver.received) == 1)
    got = receiver.received[0]
    body = verified(secret, got)
    assert body["type"] == "review.recorded"
    assert body["data"]["review"]["id"] == review.pk
    assert body["data"]["review"]["verdict"] == "reject"
    assert body["data"]["review"]["failure_tags"] == ["blur", "warping"]
    assert body["data"]["take"]["external_id"] == "gen-0042"
    assert body["data"]["project"]["slug"] == "hooks"
    assert got.headers["webhook-id"].startswith("msg_")
    # Another secret does not verify: the signature really depends on it.
    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.delivery.new_secret()).verify(got.body, got.headers)
    assert wait_for(
        lambda: WebhookDelivery.objects.get(endpoint=endpoint).state == DeliveryState.SUCCEEDED
    )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.attempts, delivery.response_status) == (1, 200)
    assert delivery.response_excerpt == "status 200 for request 1"


@pytest.mark.worker
def test_it_retries_after_a_500_with_the_same_message(live, receiver, settings):
    settings.DAILIES_WEBHOOK_BACKOFF = (0.3, 0.3, 0.3)
    receiver.statuses[:] = [500, 503, 200]
    project, lead, version = live
    endpoint, secret = endpoint_for(project, receiver, [WebhookEvent.REVIEW_RECORDED])
    take = TakeFactory(prompt_version=version)

    review_record(take=take, reviewer=lead, verdict="accept")

    assert wait_for(lambda: len(receiver.received) == 3)
    bodies = [verified(secret, r) for r in receiver.received]
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert bodies[0] == bodies[2]
    assert wait_for(
        lambda: WebhookDelivery.objects.get(endpoint=endpoint).state == DeliveryState.SUCCEEDED
    )
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.attempts, delivery.response_status, delivery.error) == (3, 200, "")
    time.sleep(0.5)
    assert len(receiver.received) == 3  # nothing after the success


@pytest.mark.worker
def test_a_rolled_back_write_sends_nothing(live, receiver):
    project, lead, version = live
    endpoint, secret = endpoint_for(project, receiver)
    rolled_back, kept = TakeFactory(prompt_version=version), TakeFactory(prompt_version=version)

    with pytest.raises(RuntimeError), transaction.atomic():
        review_record(take=rolled_back, reviewer=lead, verdict="accept")
        raise RuntimeError("the writer fails after the verdict")
    review_record(take=kept, reviewer=lead, verdict="reject")

    # The committed write arrives: the worker was running when the other one would have.
    assert wait_for(lambda: len(receiver.received) >= 1)
    time.sleep(0.5)
    assert [verified(secret, r)["data"]["take"]["id"] for r in receiver.received] == [kept.pk]
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1


@pytest.mark.worker
def test_grid_bulk_tagging_is_delivered_after_commit_one_event_per_review(live, receiver):
    project, lead, version = live
    seed_taxonomy()
    endpoint, secret = endpoint_for(project, receiver, [WebhookEvent.REVIEW_RECORDED])
    blur, warping = FailureTag.objects.get(slug="blur"), FailureTag.objects.get(slug="warping")
    takes = [TakeFactory(prompt_version=version) for _ in range(3)]
    for take in takes:
        review_record(take=take, reviewer=lead, verdict="reject", tags=[blur])
    assert wait_for(lambda: len(receiver.received) == 3)
    # A bulk edit rolled back by its caller sends nothing.
    with pytest.raises(RuntimeError), transaction.atomic():
        takes_bulk_tag(takes=takes, reviewer=lead, add=[warping])
        raise RuntimeError("the caller fails after the bulk edit")

    assert takes_bulk_tag(takes=takes, reviewer=lead, add=[warping], remove=[blur]) == 3

    assert wait_for(lambda: len(receiver.received) == 6), len(receiver.received)
    time.sleep(0.5)
    assert len(receiver.received) == 6  # the rolled-back edit never sent its three
    bulk = [verified(secret, r)["data"] for r in receiver.received[3:]]
    assert sorted(b["take"]["id"] for b in bulk) == sorted(t.pk for t in takes)
    assert {(b["review"]["kind"], b["review"]["verdict"]) for b in bulk} == {("bulk", "reject")}
    assert all(b["review"]["failure_tags"] == ["warping"] for b in bulk)
    current = {t.pk: t.current_review_id for t in Take.objects.filter(pk__in=[t.pk for t in takes])}
    assert {b["review"]["id"] for b in bulk} == set(current.values())
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 6


@pytest.mark.worker
def test_take_ready_and_broken_are_announced(live, receiver):
    project, lead, version = live
    endpoint, secret = endpoint_for(project, receiver, [WebhookEvent.TAKE_BROKEN])
    take = TakeFactory(prompt_version=version, status=TakeStatus.PROCESSING)

    take_mark_broken(take_id=take.pk, reason="not a video")
    take_mark_broken(take_id=take.pk, reason="still not a video")  # already broken: no event

    assert wait_for(lambda: len(receiver.received) == 1)
    time.sleep(0.3)
    assert len(receiver.received) == 1
    data = verified(secret, receiver.received[0])["data"]
    assert (data["take"]["id"], data["take"]["status"]) == (take.pk, "broken")
    assert data["take"]["status_reason"] == "not a video"


# --- one attempt at a time, called directly --------------------------------------------------


def test_backoff_spreads_retries_over_about_a_day():
    rng = random.Random(7)
    schedule = webhooks.backoff_schedule()
    delays = [webhooks.backoff_delay(attempts=n, rng=rng) for n in range(1, len(schedule) + 1)]
    for base, delay in zip(schedule, delays, strict=True):
        assert base * 0.8 <= delay <= base * 1.2
    assert delays == sorted(delays) or delays[-1] != delays[-2]  # jittered, not identical
    assert 20 * 3600 <= sum(delays) <= 36 * 3600
    assert webhooks.max_attempts() == len(schedule) + 1


def test_nothing_is_written_without_a_listening_endpoint(scene, receiver):
    project, lead, version = scene
    endpoint_for(project, receiver, [WebhookEvent.TAKE_READY])
    other = ProjectFactory()
    assert webhooks.webhooks_emit(project_id=other.pk, event="review.recorded", payload={}) == []
    assert webhooks.webhooks_emit(project_id=project.pk, event="review.recorded", payload={}) == []
    made = webhooks.webhooks_emit(project_id=project.pk, event="take.ready", payload={"a": 1})
    assert len(made) == 1
    assert json.loads(made[0].body)["data"] == {"a": 1}


def test_a_private_url_is_refused_unless_allowed(scene, settings):
    project, *_ = scene
    settings.DAILIES_ALLOW_PRIVATE_URLS = False
    for url in ("http://127.0.0.1:9/x", "http://10.0.0.8/x", "ftp://example.com/x", "not a url"):
        with pytest.raises(ServiceError):
            webhooks.webhook_endpoint_create(project=project, url=url, event_types=ALL_EVENTS)
    settings.DAILIES_ALLOW_PRIVATE_URLS = True
    with pytest.raises(ServiceError, match="event type"):
        webhooks.webhook_endpoint_create(
            project=project, url="http://127.0.0.1/", event_types=["take.exploded"]
        )
    assert not WebhookEndpoint.objects.exists()


def test_a_send_to_a_private_address_is_refused_at_delivery(scene, receiver, settings):
    project, lead, version = scene
    settings.DAILIES_WEBHOOK_BACKOFF = (3600,) * 3  # no countdown enqueued
    endpoint, _ = endpoint_for(project, receiver)
    settings.DAILIES_ALLOW_PRIVATE_URLS = False  # e.g. the host now resolves to 10.x
    (delivery,) = webhooks.webhooks_emit(project_id=project.pk, event="take.ready", payload={})
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "retrying"
    delivery.refresh_from_db()
    assert delivery.error.startswith("Refused: ")
    assert receiver.received == []
    assert delivery.state == DeliveryState.PENDING
    assert delivery.next_attempt_at > timezone.now() + timedelta(minutes=40)


def test_a_delivery_runs_once_however_often_it_is_enqueued(scene, receiver):
    project, *_ = scene
    endpoint_for(project, receiver)
    (delivery,) = webhooks.webhooks_emit(project_id=project.pk, event="take.ready", payload={})
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "succeeded"
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "skipped"
    assert webhooks.webhook_attempt(delivery_id=delivery.pk + 999) == "skipped"
    assert len(receiver.received) == 1


def test_exhausted_retries_disable_the_endpoint(scene, receiver, settings):
    settings.DAILIES_WEBHOOK_BACKOFF = (3600,) * 3
    receiver.statuses[:] = [500]
    project, *_ = scene
    endpoint, _ = endpoint_for(project, receiver)
    (delivery,) = webhooks.webhooks_emit(project_id=project.pk, event="take.ready", payload={})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=webhooks.max_attempts() - 1)

    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "failed"

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert (delivery.state, delivery.response_status) == (DeliveryState.FAILED, 500)
    assert not endpoint.is_active
    assert "4 attempts" in endpoint.disabled_reason and "HTTP 500" in endpoint.disabled_reason
    # A disabled endpoint gets no new deliveries.
    assert webhooks.webhooks_emit(project_id=project.pk, event="take.ready", payload={}) == []


def test_an_endpoint_that_accepted_something_since_stays_active(scene, receiver, settings):
    settings.DAILIES_WEBHOOK_BACKOFF = (3600,) * 3
    receiver.statuses[:] = [500]
    project, *_ = scene
    endpoint, _ = endpoint_for(project, receiver)
    (delivery,) = webhooks.webhooks_emit(project_id=project.pk, event="take.ready", payload={})
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=webhooks.max_attempts() - 1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(last_success_at=timezone.now())

    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "failed"
    endpoint.refresh_from_db()
    assert endpoint.is_active


def test_redeliver_and_test_send(scene, receiver):
    project, lead, _ = scene
    endpoint, secret = endpoint_for(project, receiver)
    (first,) = webhooks.webhooks_emit(project_id=project.pk, event="take.ready", payload={"n": 1})
    webhooks.webhook_attempt(delivery_id=first.pk)
    again = webhooks.webhook_redeliver(delivery=first)
    webhooks.webhook_attempt(delivery_id=again.pk)
    test = webhooks.webhook_test_send(endpoint=endpoint, user=lead)
    webhooks.webhook_attempt(delivery_id=test.pk)

    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert ids[0] == ids[1] != ids[2]
    assert [verified(secret, r)["type"] for r in receiver.received] == [
        "take.ready",
        "take.ready",
        "webhook.test",
    ]
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 3


def test_the_dispatcher_sends_due_deliveries_and_frees_lost_claims(
    scene, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    project, *_ = scene
    endpoint_for(project, receiver)
    now = timezone.now()
    due, later, lost = (
        webhooks.webhooks_emit(project_id=project.pk, event="take.ready", payload={})[0]
        for _ in range(3)
    )
    WebhookDelivery.objects.filter(pk=due.pk).update(next_attempt_at=now - timedelta(minutes=5))
    WebhookDelivery.objects.filter(pk=later.pk).update(next_attempt_at=now + timedelta(hours=2))
    WebhookDelivery.objects.filter(pk=lost.pk).update(
        state=DeliveryState.SENDING,
        claimed_at=now - timedelta(minutes=30),
        next_attempt_at=now - timedelta(minutes=31),
    )
    enqueued = []
    monkeypatch.setattr(
        webhooks.delivery,
        "webhooks_enqueue",
        lambda delivery_ids, **kw: enqueued.extend(delivery_ids),
    )

    assert webhooks.webhooks_dispatch_due(now=now) == 2
    assert sorted(enqueued) == sorted([due.pk, lost.pk])


def test_budget_thresholds_fire_once_each_and_rearm(scene, receiver):
    project, *_ = scene  # budget $100
    endpoint_for(project, receiver, [WebhookEvent.BUDGET_THRESHOLD_CROSSED])

    def spend(usd):
        RollupRow.objects.update_or_create(
            project=project,
            dimension=Dimension.PROJECT,
            key="",
            key2="",
            defaults={"spend_usd": Decimal(usd)},
        )
        return webhooks.webhooks_budget_check(project_id=project.pk)

    assert spend("49.99") == []
    assert spend("51") == [50]
    assert spend("60") == []
    assert spend("101") == [80, 100]
    assert spend("120") == []
    project.budget_usd = Decimal("1000")
    project.save()
    assert spend("120") == []  # below every threshold again: re-armed
    assert not BudgetThresholdMark.objects.filter(project=project).exists()
    assert spend("900") == [50, 80]
    bodies = [
        json.loads(d.body)["data"] for d in WebhookDelivery.objects.order_by("created_at", "id")
    ]
    assert [b["thresholds_crossed"] for b in bodies] == [[50], [80, 100], [50, 80]]
    assert bodies[1]["spend_percent"] == 101.0 and bodies[1]["threshold_percent"] == 100


def test_a_processed_take_announces_take_ready(scene, receiver, django_capture_on_commit_callbacks):
    from django.core.files.base import ContentFile

    from generations.tasks import take_process_media

    from .clips import clip_bytes

    project, lead, version = scene
    endpoint, secret = endpoint_for(project, receiver, [WebhookEvent.TAKE_READY])
    take = TakeFactory(prompt_version=version, status=TakeStatus.PROCESSING, duration_s=1)
    take.media.save("upload.mp4", ContentFile(clip_bytes(seconds=1.0)), save=True)
    with django_capture_on_commit_callbacks() as callbacks:
        assert take_process_media(take.pk) == "ready"
    assert len(callbacks) == 1  # the send is enqueued after commit, not before

    (delivery,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "succeeded"
    data = verified(secret, receiver.received[0])["data"]
    assert (data["take"]["id"], data["take"]["status"]) == (take.pk, "ready")


def readme_receiver() -> str:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    start = readme.index("```python\n# receiver.py")
    return readme[start + len("```python\n") : readme.index("```", start + 10)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_readme_receiver_verifies_the_signature(scene, settings, tmp_path):
    settings.DAILIES_ALLOW_PRIVATE_URLS = True
    settings.DAILIES_WEBHOOK_BACKOFF = (3600,) * 3
    project, lead, version = scene
    port = free_port()
    endpoint, secret = webhooks.webhook_endpoint_create(
        project=project, url=f"http://127.0.0.1:{port}/", event_types=ALL_EVENTS
    )
    script = tmp_path / "receiver.py"
    script.write_text(readme_receiver())
    env = {**os.environ, "WEBHOOK_SECRET": secret, "PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert wait_for(lambda: _listening(port), timeout=10)
        take = TakeFactory(prompt_version=version, external_id="gen-readme")
        review_record(take=take, reviewer=lead, verdict="accept")
        (delivery,) = WebhookDelivery.objects.filter(endpoint=endpoint)
        assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "succeeded"
        delivery.refresh_from_db()
        assert delivery.response_status == 204
        assert proc.stdout.readline().split() == ["gen-readme", "accept"]

        # Signed with another secret: the receiver refuses it.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=webhooks.delivery.new_secret())
        forged = webhooks.webhook_redeliver(delivery=delivery)
        assert webhooks.webhook_attempt(delivery_id=forged.pk) == "retrying"
        forged.refresh_from_db()
        assert forged.response_status == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_a_finished_import_is_announced_to_each_project_it_touched(scene, receiver):
    from generations.services.manifest import manifest_import

    from .test_manifest import line

    project, *_ = scene  # slug "hooks"
    quiet = ProjectFactory(slug="quiet")  # touched, but nobody listens
    endpoint, secret = endpoint_for(project, receiver, [WebhookEvent.IMPORT_FINISHED])
    lines = [
        line(project="hooks", external_id="a"),
        line(project="hooks", external_id="b", shot="shot-2"),
        line(project="quiet", external_id="c"),
        "{not json",
    ]
    manifest_import(lines=lines)

    (delivery,) = WebhookDelivery.objects.all()
    assert delivery.endpoint == endpoint and quiet.pk != project.pk
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "succeeded"
    data = verified(secret, receiver.received[0])["data"]
    assert data["project"]["slug"] == "hooks"
    assert (data["import"]["lines"], data["import"]["takes_created"]) == (4, 3)
    assert data["import"]["errors_count"] == 1 and data["import"]["errors"][0]["line"] == 4


def test_a_bulk_of_reviews_is_announced_in_as_many_queries_as_one(
    scene, receiver, django_assert_num_queries, django_assert_max_num_queries
):
    project, lead, version = scene
    blur, _ = FailureTag.objects.get_or_create(slug="blur", defaults={"name": "Blur"})
    takes = [TakeFactory(prompt_version=version) for _ in range(51)]
    saved = [review_record(take=t, reviewer=lead, verdict="reject", tags=[blur]) for t in takes]
    # Read back: neither their takes nor their reviewers are loaded (the costliest case).
    reviews = list(Review.objects.filter(pk__in=[r.pk for r in saved]).order_by("pk"))
    with django_assert_num_queries(1):  # nobody listens: one look, nothing built
        webhooks.webhooks_reviews_recorded(reviews=reviews)

    endpoint_for(project, receiver, [WebhookEvent.REVIEW_RECORDED])
    endpoint_for(project, receiver, [WebhookEvent.REVIEW_RECORDED])
    endpoint_for(ProjectFactory(), receiver, [WebhookEvent.REVIEW_RECORDED])  # not this project
    with django_assert_max_num_queries(5) as one:
        webhooks.webhooks_reviews_recorded(reviews=reviews[:1])
    with django_assert_max_num_queries(5) as fifty:
        webhooks.webhooks_reviews_recorded(reviews=reviews[1:])
    assert len(fifty.captured_queries) == len(one.captured_queries)

    deliveries = WebhookDelivery.objects.filter(endpoint__project=project).order_by("pk")
    bodies = [json.loads(d.body)["data"] for d in deliveries]
    assert len(bodies) == 2 * 51  # each review to each of the project's two endpoints
    assert [b["review"]["id"] for b in bodies[::2]] == [r.pk for r in reviews]
    assert [b["take"]["id"] for b in bodies[1::2]] == [t.pk for t in takes]
    last = bodies[-1]
    assert last["review"] | {"created_at": None} == {
        "id": reviews[-1].pk,
        "verdict": "reject",
        "kind": "verdict",
        "reviewer": lead.email or lead.username,
        "failure_tags": ["blur"],
        "comment": "",
        "created_at": None,
    }
    assert (last["take"]["current_verdict"], last["project"]["slug"]) == ("reject", "hooks")
    assert not WebhookDelivery.objects.exclude(endpoint__project=project).exists()


def test_grid_bulk_tagging_announces_each_review_in_as_many_queries_for_30_as_for_1(
    client, scene, receiver
):
    """The editors' grid, through the test client: every review the bulk edit writes gets
    its `review.recorded` delivery (to each listening endpoint of the project), and the
    request costs the same number of queries for 30 takes as for 1."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    project, lead, version = scene
    blur, _ = FailureTag.objects.get_or_create(slug="blur", defaults={"name": "Blur"})
    warping, _ = FailureTag.objects.get_or_create(slug="warping", defaults={"name": "Warping"})
    takes = [TakeFactory(prompt_version=version) for _ in range(31)]
    for take in takes:
        review_record(take=take, reviewer=lead, verdict="reject", tags=[blur])
    endpoint_for(project, receiver, [WebhookEvent.REVIEW_RECORDED])
    endpoint_for(project, receiver, [WebhookEvent.REVIEW_RECORDED])
    endpoint_for(ProjectFactory(), receiver, [WebhookEvent.REVIEW_RECORDED])  # not this project
    client.force_login(lead)
    url = reverse("grid_bulk_tag", args=[project.slug])
    client.get(reverse("take_grid", args=[project.slug]))  # the session, warmed up

    def bulk(selected) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                url, {"takes": [t.pk for t in selected], "add": "warping", "remove": "blur"}
            )
        assert response.status_code == 302
        return len(queries.captured_queries)

    one = bulk(takes[:1])
    thirty = bulk(takes[1:])
    assert one == thirty, (one, thirty)

    deliveries = WebhookDelivery.objects.filter(endpoint__project=project).order_by("pk")
    bodies = [json.loads(d.body)["data"] for d in deliveries]
    assert len(bodies) == 2 * 31  # each new review to each of the project's two endpoints
    current = dict(
        Take.objects.filter(pk__in=[t.pk for t in takes]).values_list("pk", "current_review_id")
    )
    assert sorted(b["review"]["id"] for b in bodies[::2]) == sorted(current.values())
    assert all(current[b["take"]["id"]] == b["review"]["id"] for b in bodies)
    assert {(b["review"]["kind"], tuple(b["review"]["failure_tags"])) for b in bodies} == {
        ("bulk", ("warping",))
    }
    assert {b["review"]["reviewer"] for b in bodies} == {lead.email or lead.username}
    assert not WebhookDelivery.objects.exclude(endpoint__project=project).exists()
    # And they are sent signed like every other delivery.
    delivery = deliveries.first()
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == "succeeded"
    assert verified(delivery.endpoint.secret, receiver.received[0])["type"] == "review.recorded"

    # Nothing changes (warping is already there, blur already gone): no review, no event.
    assert bulk(takes[:5]) <= one
    assert WebhookDelivery.objects.filter(endpoint__project=project).count() == 2 * 31
