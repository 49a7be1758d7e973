"""Uploading takes: real MP4s rendered in the test, sniffed by content, stored under generated
names, costed from the model price; bad files refused leaving nothing; a real worker makes the
poster or marks the take broken."""

import datetime
import io
import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from generations.models import ModelPrice, Take, TakeStatus
from generations.services import media
from generations.services import takes as take_services

from .clips import clip_bytes, faststart_clip_bytes, mp4_upload, png_bytes, upload


def media_files(settings) -> list:
    root = settings.MEDIA_ROOT
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def price(model: str, usd: str, *, ago: datetime.timedelta, project=None) -> ModelPrice:
    return ModelPrice.objects.create(
        project=project,
        model=model,
        usd_per_second=Decimal(usd),
        valid_from=timezone.now() - ago,
    )


@pytest.fixture
def lead_client(client, members):
    client.force_login(members["lead"])
    return client


@pytest.fixture
def upload_url(project, version):
    return reverse("take_upload", args=[project.slug, version.pk])


def test_it_registers_a_real_mp4_as_a_processing_take(lead_client, upload_url, version, settings):
    price("veo-test", "0.0500", ago=datetime.timedelta(days=30))
    price("veo-test", "0.0800", ago=datetime.timedelta(hours=1))  # the one in force now
    price("veo-test", "9.0000", ago=-datetime.timedelta(days=1))  # not valid yet
    data = clip_bytes(seconds=2.0, fps=30, size=(320, 180))

    response = lead_client.post(
        upload_url, {"files": upload("My Final Take (v3).mp4", data), "model": "Veo-Test "}
    )

    assert response.status_code == 302
    assert response["Location"] == version.get_absolute_url()
    take = Take.objects.get()
    assert take.status == TakeStatus.PROCESSING
    assert (take.prompt_version, take.shot, take.project) == (
        version,
        version.shot,
        version.shot.project,
    )
    assert take.pass_number == version.number
    assert take.model == "veo-test"
    # Metadata read from the file itself.
    assert take.duration_s == Decimal("2.000")
    assert take.fps == Decimal("30.000")
    assert (take.width, take.height, take.codec) == (320, 180, "h264")
    # Stored under a generated name; the uploader's name is kept as data only.
    assert take.original_filename == "My Final Take (v3).mp4"
    assert take.media.name.startswith("takes/")
    assert "Final" not in take.media.name and "upload" not in take.media.name
    assert media_files(settings) == [settings.MEDIA_ROOT / take.media.name]
    assert (settings.MEDIA_ROOT / take.media.name).read_bytes() == data
    assert take.media_size == len(data)
    # Cost estimated from the price in force × duration, with the price kept as a snapshot.
    assert take.cost_source == "estimated"
    assert take.price_usd_per_second == Decimal("0.0800")
    assert take.cost_usd == Decimal("0.1600")


def test_the_price_snapshot_survives_a_price_change(lead_client, upload_url, project):
    price("veo-test", "0.2500", ago=datetime.timedelta(days=1))
    lead_client.post(upload_url, {"files": mp4_upload(seconds=1.0), "model": "veo-test"})
    response = lead_client.post(
        reverse("budget_edit", args=[project.slug]), {"model": "veo-test", "usd_per_second": "1"}
    )
    assert response.status_code == 403  # a lead cannot set prices; an owner can:
    project.memberships.filter(user__username="lead@studio.test").update(is_owner=True)
    lead_client.post(
        reverse("budget_edit", args=[project.slug]), {"model": "veo-test", "usd_per_second": "1"}
    )
    assert ModelPrice.objects.filter(model="veo-test").count() == 2

    lead_client.post(upload_url, {"files": mp4_upload(seconds=1.0), "model": "veo-test"})

    old, new = Take.objects.order_by("added_at", "id")
    assert (old.price_usd_per_second, old.cost_usd) == (Decimal("0.2500"), Decimal("0.2500"))
    assert (new.price_usd_per_second, new.cost_usd) == (Decimal("1.0000"), Decimal("1.0000"))


def test_a_project_price_wins_over_the_workspace_price(lead_client, upload_url, project):
    price("veo-test", "0.4000", ago=datetime.timedelta(hours=1))
    price("veo-test", "0.1500", ago=datetime.timedelta(days=3), project=project)
    lead_client.post(upload_url, {"files": mp4_upload(seconds=2.0), "model": "veo-test"})
    take = Take.objects.get()
    assert take.price_usd_per_second == Decimal("0.1500")
    assert take.cost_usd == Decimal("0.3000")


def test_a_reported_cost_wins_over_the_estimate(lead_client, upload_url):
    price("veo-test", "0.0800", ago=datetime.timedelta(days=1))
    lead_client.post(
        upload_url,
        {"files": mp4_upload(seconds=2.0), "model": "veo-test", "cost_usd": "1.2345", "seed": 7},
    )
    take = Take.objects.get()
    assert take.cost_usd == Decimal("1.2345")
    assert take.cost_source == "reported"
    assert take.price_usd_per_second is None
    assert take.seed == 7


def test_an_unpriced_model_costs_nothing_known(lead_client, upload_url):
    lead_client.post(upload_url, {"files": mp4_upload(), "model": "no-such-model"})
    take = Take.objects.get()
    assert (take.cost_usd, take.cost_source, take.price_usd_per_second) == (0, "unknown", None)


def test_several_files_make_several_takes(lead_client, upload_url, version):
    files = [
        upload("a.mp4", clip_bytes(seconds=1.0, fps=24)),
        upload("b.mp4", clip_bytes(seconds=2.0, fps=25)),
        upload("c.mp4", clip_bytes(seconds=3.0, fps=30)),
    ]
    response = lead_client.post(upload_url, {"files": files, "model": "sora-2", "pass_number": 4})
    assert response.status_code == 302
    takes = {t.original_filename: t for t in Take.objects.filter(prompt_version=version)}
    assert {n: (t.duration_s, t.fps) for n, t in takes.items()} == {
        "a.mp4": (Decimal("1.000"), Decimal("24.000")),
        "b.mp4": (Decimal("2.000"), Decimal("25.000")),
        "c.mp4": (Decimal("3.000"), Decimal("30.000")),
    }
    assert {t.pass_number for t in takes.values()} == {4}
    assert len({t.media.name for t in takes.values()}) == 3


def _truncated_faststart() -> bytes:
    data = faststart_clip_bytes()
    return data[: len(data) * 2 // 3]


BAD_FILES = {
    "text": ("notes.mp4", lambda: b"shot list: opening street, 8 s\n" * 40, "not a video"),
    "empty": ("empty.mp4", lambda: b"", "empty"),
    "truncated": ("cut.mp4", lambda: clip_bytes()[: len(clip_bytes()) // 2], "not a video"),
    "truncated-faststart": ("cut-fast.mp4", _truncated_faststart, "truncated"),
    "png": ("poster.mp4", png_bytes, "Unsupported container"),
}


@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_it_refuses_a_bad_file_and_leaves_nothing(kind, lead_client, upload_url, settings):
    name, make, reason = BAD_FILES[kind]
    response = lead_client.post(upload_url, {"files": upload(name, make()), "model": "sora-2"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Not uploaded" in page
    assert f"{name}: " in page and reason in page
    assert Take.objects.count() == 0
    assert media_files(settings) == []


def test_it_refuses_an_oversize_file(lead_client, upload_url, settings):
    data = clip_bytes()
    settings.DAILIES_MAX_UPLOAD_BYTES = len(data) - 1
    response = lead_client.post(upload_url, {"files": upload("big.mp4", data), "model": "sora-2"})
    assert response.status_code == 400
    assert "big.mp4: " in response.content.decode()
    assert "limit" in response.content.decode()
    assert Take.objects.count() == 0
    assert media_files(settings) == []
    # One byte more allowed, and the same file goes through.
    settings.DAILIES_MAX_UPLOAD_BYTES = len(data)
    response = lead_client.post(upload_url, {"files": upload("big.mp4", data), "model": "sora-2"})
    assert response.status_code == 302
    assert Take.objects.count() == 1


def test_the_truncated_faststart_file_is_a_real_video_when_whole(lead_client, upload_url):
    """The refusal above is about the missing bytes, not the file kind."""
    data = faststart_clip_bytes()
    assert media.probe(io.BytesIO(data)).duration_s == 2.0
    response = lead_client.post(upload_url, {"files": upload("whole.mp4", data), "model": "x"})
    assert response.status_code == 302


def test_a_mixed_upload_stores_the_good_ones_and_reports_the_bad(lead_client, upload_url, settings):
    files = [
        upload("good-1.mp4", clip_bytes(seconds=1.0)),
        upload("readme.mp4", b"hello " * 100),
        upload("good-2.mp4", clip_bytes(seconds=2.0)),
        upload("image.mp4", png_bytes()),
        upload("good-3.mp4", clip_bytes(seconds=3.0)),
    ]
    response = lead_client.post(upload_url, {"files": files, "model": "sora-2"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Uploaded 3 takes" in page
    assert "readme.mp4: " in page and "image.mp4: " in page
    assert "good-1.mp4: " not in page
    names = set(Take.objects.values_list("original_filename", flat=True))
    assert names == {"good-1.mp4", "good-2.mp4", "good-3.mp4"}
    assert len(media_files(settings)) == 3


def test_a_viewer_cannot_upload(client, members, upload_url, settings):
    client.force_login(members["viewer"])
    response = client.post(upload_url, {"files": mp4_upload(), "model": "sora-2"})
    assert response.status_code == 403
    assert Take.objects.count() == 0
    assert media_files(settings) == []


# --- with a real Celery worker ----------------------------------------------------------------


def wait_for(take_id: int, timeout: float = 20.0) -> Take:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        take = Take.objects.get(pk=take_id)
        if take.status != TakeStatus.PROCESSING:
            return take
        time.sleep(0.05)
    raise AssertionError(f"take {take_id} still processing after {timeout}s")


@pytest.mark.worker
def test_the_worker_makes_poster_thumbnail_and_filmstrip(celery_worker, members, project, version):
    client = Client()
    client.force_login(members["lead"])
    url = reverse("take_upload", args=[project.slug, version.pk])
    response = client.post(
        url, {"files": mp4_upload(seconds=2.0, fps=24, size=(320, 180)), "model": "sora-2"}
    )
    assert response.status_code == 302
    take = wait_for(Take.objects.get().pk)

    assert take.status == TakeStatus.READY, take.status_reason
    assert take.status_reason == ""
    poster = Image.open(take.poster.path)
    thumb = Image.open(take.thumbnail.path)
    strip = Image.open(take.filmstrip.path)
    assert (poster.format, poster.size) == ("JPEG", (320, 180))
    assert thumb.size == (320, 180)  # not wider than the thumbnail width: kept as is
    assert take.filmstrip_frames == media.FILMSTRIP_FRAMES
    assert strip.size == (media.FILMSTRIP_WIDTH * media.FILMSTRIP_FRAMES, 90)
    assert take.flicker_score is not None and take.flicker_series
    # The poster is served to members through the access check.
    response = client.get(reverse("take_media", args=[project.slug, take.pk, "poster"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    page = client.get(take.get_absolute_url()).content.decode()
    assert reverse("take_media", args=[project.slug, take.pk, "poster"]) in page


@pytest.mark.worker
def test_a_file_that_fails_in_the_worker_becomes_broken(celery_worker, members, version):
    good = mp4_upload("street.mp4", seconds=1.0)
    # Registered and corrupted inside one transaction: the task is enqueued only on commit,
    # so the worker can only ever see the corrupted file.
    with transaction.atomic():
        take = take_services.take_register_upload(
            version=version, upload=good, model="sora-2", uploader=members["lead"]
        )
        with open(take.media.path, "wb") as f:
            f.write(b"\x00\x00\x00\x18ftypmp42" + b"garbage" * 50)
        assert Take.objects.get(pk=take.pk).status == TakeStatus.PROCESSING

    take = wait_for(take.pk)

    assert take.status == TakeStatus.BROKEN
    assert "not a video" in take.status_reason
    assert not take.poster and not take.thumbnail
    client = Client()
    client.force_login(members["viewer"])
    page = client.get(take.get_absolute_url()).content.decode()
    assert "broken" in page and take.status_reason in page
