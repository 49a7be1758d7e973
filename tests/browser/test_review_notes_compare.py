"""Frame-accurate notes and synchronised compare, in a real Chromium with real clips."""

import pytest
from playwright.sync_api import expect

from generations.models import Note
from generations.services.reviews import note_add

from ..factories import PromptVersionFactory
from .conftest import wait_until_ready

pytestmark = pytest.mark.browser

FPS = 24


def _near(page, expression: str, expected: float, tolerance: float = 1e-3) -> None:
    page.wait_for_function(
        f"([e, t]) => Math.abs(({expression}) - e) < t", arg=[expected, tolerance]
    )


def test_a_note_seeks_to_its_frame(
    page, live_server, login, owner, project, version, celery_worker, make_take, artifacts_dir
):
    (take,) = wait_until_ready([make_take(version, owner, seconds=2.0, fps=FPS)])
    note_add(take=take, author=owner, seconds=30 / FPS, text="bar tears", tag_slug="warping")
    login(owner)
    page.goto(f"{live_server.url}/projects/{project.slug}/review/?take={take.pk}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")

    page.locator("#timeline .marker").first.click()
    # The middle of frame 30: (30 + 0.5) / 24.
    _near(page, "document.getElementById('player').currentTime", 30.5 / FPS)
    assert page.evaluate("() => document.getElementById('player').paused")
    expect(page.locator("#frame-number")).to_have_text("frame 30")
    expect(page.locator("#timecode")).to_have_text("00:00:01:06")

    # One frame on with ".", then N writes a note at the playhead: frame 31.
    page.keyboard.press(".")
    _near(page, "document.getElementById('player').currentTime", 31.5 / FPS)
    page.keyboard.press("n")
    page.keyboard.type("edge of the bar doubles")
    page.keyboard.press("Enter")
    expect(page.locator("#notes-panel")).to_contain_text("00:00:01:07")
    assert Note.objects.get(text="edge of the bar doubles").frame == 31
    expect(page.locator("#timeline .marker")).to_have_count(2)

    # The list's timecode seeks too, back to frame 30.
    page.locator("#notes-panel table a", has_text="00:00:01:06").click()
    _near(page, "document.getElementById('player').currentTime", 30.5 / FPS)
    page.screenshot(path=str(artifacts_dir / "review-notes.png"), full_page=True)

    # The take page has the same markers.
    page.goto(f"{live_server.url}/projects/{project.slug}/takes/{take.pk}/")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.locator("#timeline .marker").nth(1).click()
    _near(page, "document.getElementById('player').currentTime", 31.5 / FPS)


def test_compare_keeps_takes_in_sync(
    page, live_server, login, owner, project, shot, version, celery_worker, make_take, artifacts_dir
):
    v2 = PromptVersionFactory(
        shot=shot, number=2, parent=version, text="a street food vendor, static shot, golden hour"
    )
    a, b = wait_until_ready(
        [make_take(version, owner, seconds=4.0), make_take(v2, owner, seconds=4.0, hue=90)]
    )
    login(owner)
    page.goto(f"{live_server.url}/projects/{project.slug}/compare/?takes={a.pk},{b.pk}")
    # The prompt diff between the two versions is beside them.
    expect(page.locator(".prompt.diff ins", has_text="static").first).to_be_visible()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('video[data-sync]'))"
        ".every(v => v.readyState >= 2)"
    )
    spread = "(() => { const t = Array.from(document.querySelectorAll('video[data-sync]'), v => v.currentTime); return Math.max(...t) - Math.min(...t); })()"  # noqa: E501

    page.click("#sync-play")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('video[data-sync]'))"
        ".every(v => !v.paused && v.currentTime > 0.5)"
    )
    assert page.evaluate(spread) < 0.1  # playing together, within a couple of frames
    page.keyboard.press(" ")  # pause all
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('video[data-sync]')).every(v => v.paused)"
    )
    _near(page, spread, 0.0)
    # Scrub to the middle: every take seeks there.
    page.locator("#sync-scrub").fill("500")
    _near(page, "document.querySelectorAll('video[data-sync]')[1].currentTime", 2.0, 0.05)
    _near(page, spread, 0.0)
    # One frame on: both step.
    page.keyboard.press(".")
    _near(page, spread, 0.0)
    page.screenshot(path=str(artifacts_dir / "compare-side-by-side.png"), full_page=True)

    # The A/B wipe: the slider reveals A over B.
    page.goto(f"{live_server.url}/projects/{project.slug}/compare/?takes={a.pk},{b.pk}&mode=wipe")
    page.locator("#wipe-slider").fill("25")
    expect(page.locator("#wipe")).to_have_attribute("style", "--wipe: 25%;")
    page.screenshot(path=str(artifacts_dir / "compare-wipe.png"))
