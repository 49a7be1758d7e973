"""Real-browser fixtures: Debian's Chromium through Playwright, a live server, a real worker.

Chromium is the system package at /usr/bin/chromium (never `playwright install`). Takes are real
MP4s rendered with PyAV and registered like uploads, so the worker makes posters and filmstrips.
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from generations.models import PromptVersion, Take, TakeStatus
from generations.services.media import render_test_clip
from generations.services.takes import take_register_upload

from .support import seed_taxonomy

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    # Muted autoplay is allowed anyway; this keeps play() from needing a user gesture at all.
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _http_cookies(settings):
    # The live server speaks plain HTTP.
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.fixture(autouse=True)
def _taxonomy(transactional_db):
    seed_taxonomy()


@pytest.fixture
def make_take(tmp_path):
    """Render a small clip and register it as an upload; the worker processes it after commit."""
    counter = iter(range(1000))

    def make(
        version: PromptVersion,
        uploader,
        *,
        seconds: float = 2.0,
        fps: int = 24,
        hue: int = 0,
        flicker: bool = False,
        model: str = "sora-2",
    ) -> Take:
        path = tmp_path / f"clip-{next(counter)}.mp4"
        render_test_clip(path, seconds=seconds, fps=fps, hue=hue, flicker=flicker)
        upload = SimpleUploadedFile(path.name, path.read_bytes(), content_type="video/mp4")
        return take_register_upload(version=version, upload=upload, model=model, uploader=uploader)

    return make


def wait_until_ready(takes: list[Take], timeout: float = 30.0) -> list[Take]:
    """Poll the database until the worker has made every take's poster and filmstrip."""
    deadline = time.monotonic() + timeout
    ids = [t.pk for t in takes]
    while time.monotonic() < deadline:
        rows = {t.pk: t for t in Take.objects.filter(pk__in=ids)}
        if all(rows[i].status != TakeStatus.PROCESSING for i in ids):
            assert all(rows[i].status == TakeStatus.READY for i in ids), [
                rows[i].status_reason for i in ids
            ]
            return [rows[i] for i in ids]
        time.sleep(0.05)
    raise AssertionError("the worker did not process the takes in time")


@pytest.fixture
def login(page, live_server):
    """Log in by posting the login form in the page."""

    def log_in(user, password: str = "pw"):
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    return log_in
