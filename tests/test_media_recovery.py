"""A take whose processing task never reached a worker (the broker was down at upload) is
picked up by the periodic requeue and processed by a real worker."""

import time
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from generations.models import Take, TakeStatus
from generations.services import media
from generations.tasks import takes_requeue_stuck

from .factories import TakeFactory


def wait_for(predicate, seconds=15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.worker
def test_stuck_processing_takes_are_requeued_and_processed(celery_worker, tmp_path, settings):
    clip = tmp_path / "clip.mp4"
    media.render_test_clip(clip, seconds=1)
    stuck = TakeFactory(status=TakeStatus.PROCESSING, duration_s=1)
    stuck.media.save("upload.mp4", ContentFile(clip.read_bytes()), save=True)
    fresh = TakeFactory(status=TakeStatus.PROCESSING, duration_s=1)
    fresh.media.save("upload.mp4", ContentFile(clip.read_bytes()), save=True)
    # Only the one older than the grace period counts as stuck: a fresh one may be in a queue.
    Take.objects.filter(pk=stuck.pk).update(added_at=timezone.now() - timedelta(hours=1))

    assert takes_requeue_stuck() == 1  # what beat runs every five minutes

    assert wait_for(lambda: Take.objects.get(pk=stuck.pk).status == TakeStatus.READY)
    stuck.refresh_from_db()
    assert stuck.poster and stuck.filmstrip
    assert Take.objects.get(pk=fresh.pk).status == TakeStatus.PROCESSING
    assert "takes-requeue-stuck" in settings.CELERY_BEAT_SCHEDULE
