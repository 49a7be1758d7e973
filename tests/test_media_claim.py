"""Media processing claims a take with a conditional update and decodes outside any
transaction: a verdict on the take never waits for the decode, a second run skips, and every
failure ends 'broken' (or gives the claim back for the retry), never stuck 'processing'."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.utils import timezone

from generations.models import Take, TakeStatus, Verdict
from generations.services import media
from generations.services import takes as take_services
from generations.services.reviews import review_record
from generations.tasks import media as media_tasks
from generations.tasks import take_process_media, takes_requeue_stuck

from .clips import clip_bytes
from .factories import TakeFactory

DECODE_SECONDS = 2.0


@pytest.fixture
def processing_take(transactional_db, members, version):
    take = TakeFactory(prompt_version=version, status=TakeStatus.PROCESSING, duration_s=1)
    take.media.save("upload.mp4", ContentFile(clip_bytes(seconds=1.0)), save=True)
    return take


@pytest.fixture
def slow_decode(monkeypatch):
    """media.analyse sleeps first (in this test process only); `started` is set when it does."""
    started = threading.Event()
    analyse = media.analyse

    def slow(*args, **kwargs):
        started.set()
        time.sleep(DECODE_SECONDS)
        return analyse(*args, **kwargs)

    monkeypatch.setattr(media, "analyse", slow)
    return started


def run_in_thread(take_id: int) -> tuple[threading.Thread, dict]:
    out = {}

    def target():
        try:
            out["result"] = take_process_media(take_id)
        except Exception as exc:  # reported to the test
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, out


def test_a_verdict_does_not_wait_for_the_decode(processing_take, slow_decode, members):
    thread, out = run_in_thread(processing_take.pk)
    assert slow_decode.wait(10)

    started = time.monotonic()
    review_record(take=processing_take, reviewer=members["lead"], verdict=Verdict.ACCEPT)
    waited = time.monotonic() - started
    # A second run (a redelivered task) skips at once instead of decoding again.
    assert take_process_media(processing_take.pk) == "skipped"
    thread.join(30)

    assert waited < DECODE_SECONDS / 4, f"the verdict waited {waited:.2f}s for the decode"
    assert out == {"result": "ready"}
    take = Take.objects.get(pk=processing_take.pk)
    assert take.status == TakeStatus.READY and take.processing_claimed_at is None
    assert take.poster and take.filmstrip and take.flicker_series
    # The results did not overwrite the verdict recorded meanwhile.
    assert take.current_verdict == Verdict.ACCEPT


def test_a_take_deleted_during_the_decode_is_left_alone(processing_take, slow_decode, settings):
    thread, out = run_in_thread(processing_take.pk)
    assert slow_decode.wait(10)
    take_services.take_delete(take=processing_take)
    thread.join(30)

    # The file went with the take, so the decode may fail too; either way nothing is left.
    assert out.get("result") in ("skipped", "broken"), out
    assert not Take.objects.filter(pk=processing_take.pk).exists()
    images = [p for p in (settings.MEDIA_ROOT / "posters").rglob("*") if p.is_file()]
    assert images == []


def test_a_failure_ends_broken_not_processing(processing_take, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(media, "analyse", boom)
    assert take_process_media(processing_take.pk) == "broken"

    take = Take.objects.get(pk=processing_take.pk)
    assert take.status == TakeStatus.BROKEN and "decoder exploded" in take.status_reason
    assert take.processing_claimed_at is None


def test_a_transient_error_gives_the_claim_back_for_the_retry(processing_take, monkeypatch):
    analyse = media.analyse
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk hiccup")
        return analyse(*args, **kwargs)

    monkeypatch.setattr(media, "analyse", flaky)
    with pytest.raises(OSError):  # called directly, the autoretry re-raises
        take_process_media(processing_take.pk)
    take = Take.objects.get(pk=processing_take.pk)
    assert take.status == TakeStatus.PROCESSING and take.processing_claimed_at is None

    assert take_process_media(processing_take.pk) == "ready"
    assert Take.objects.get(pk=processing_take.pk).status == TakeStatus.READY


def test_a_stale_claim_is_lost_and_requeued(processing_take, monkeypatch):
    sent = []
    monkeypatch.setattr(media_tasks.take_process_media, "delay", sent.append)
    Take.objects.filter(pk=processing_take.pk).update(added_at=timezone.now() - timedelta(hours=1))

    # A run holds a fresh claim: not stuck, and nobody else may claim it.
    assert take_services.take_claim_for_processing(take_id=processing_take.pk)
    assert take_services.take_claim_for_processing(take_id=processing_take.pk) is None
    assert takes_requeue_stuck() == 0

    # Its worker died long ago: the claim is lost, the take requeued and claimable again.
    stale = timezone.now() - take_services.PROCESSING_CLAIM_STALE - timedelta(seconds=1)
    Take.objects.filter(pk=processing_take.pk).update(processing_claimed_at=stale)
    assert takes_requeue_stuck() == 1 and sent == [processing_take.pk]
    assert take_process_media(processing_take.pk) == "ready"
