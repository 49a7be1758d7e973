"""Frame-level review in a real Chromium: strokes and an arrow drawn on the frame are saved
with the note at its frame and shown when the note is clicked; the A/B wipe follows a drag on
the picture itself."""

import pytest
from playwright.sync_api import expect

from generations.models import Note

from .conftest import wait_until_ready
from .test_csp_and_layout import LISTEN

pytestmark = pytest.mark.browser

FPS = 24


def _drag(page, box, start, end, steps=8):
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(
        box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=steps
    )
    page.mouse.up()


def _close(a, b, tolerance=0.02):
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_a_drawing_is_saved_with_the_note_and_shown_when_clicked(
    page, live_server, login, owner, project, version, celery_worker, make_take, artifacts_dir
):
    (take,) = wait_until_ready([make_take(version, owner, seconds=2.0, fps=FPS)])
    page.add_init_script(LISTEN)  # the page's scripts stay within the CSP
    login(owner)
    page.goto(f"{live_server.url}/projects/{project.slug}/review/?take={take.pk}")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.evaluate("() => { const v = document.getElementById('player'); v.pause(); }")
    page.evaluate(f"() => {{ document.getElementById('player').currentTime = {20.5 / FPS}; }}")
    expect(page.locator("#frame-number")).to_have_text("frame 20")

    page.click("#draw-toggle")
    expect(page.locator("#draw-toggle")).to_have_attribute("aria-pressed", "true")
    overlay = page.locator("#drawing-overlay")
    box = overlay.bounding_box()
    # The layer covers the picture, not the letterboxed player box.
    aspect = page.evaluate("() => { const v = document.getElementById('player');"
                           " return v.videoWidth / v.videoHeight; }")  # fmt: skip
    player = page.locator("#player").bounding_box()
    assert abs(box["width"] / box["height"] - aspect) < 0.02
    assert box["width"] <= player["width"] + 1 and box["height"] <= player["height"] + 1
    _drag(page, box, (0.2, 0.3), (0.5, 0.6))
    page.select_option("#draw-tool", "arrow")
    _drag(page, box, (0.8, 0.2), (0.6, 0.4))
    expect(page.locator("#draw-count")).to_have_text("2 strokes")
    expect(overlay.locator("g.stroke")).to_have_count(2)

    page.fill("#note-text", "the arm bends backwards")
    page.press("#note-text", "Enter")
    expect(page.locator("#notes-panel")).to_contain_text("the arm bends backwards")
    note = Note.objects.get(take=take)
    assert note.frame == 20
    line, arrow = note.drawing
    assert (line["kind"], arrow["kind"]) == ("line", "arrow")
    assert len(line["points"]) >= 3
    assert _close(line["points"][0], (0.2, 0.3)) and _close(line["points"][-1], (0.5, 0.6))
    assert _close(arrow["points"][0], (0.8, 0.2)) and _close(arrow["points"][1], (0.6, 0.4))
    # Saved: the layer is clear and draw mode is off.
    expect(overlay.locator("g.stroke")).to_have_count(0)
    expect(page.locator("#draw-toggle")).to_have_attribute("aria-pressed", "false")

    # Elsewhere in the take, playing; a click on the note goes to its frame and shows the drawing.
    page.evaluate("() => { const v = document.getElementById('player'); v.currentTime = 1.5; }")
    page.locator(f"#note-{note.pk} a[data-seek-frame]").click()
    expect(page.locator("#frame-number")).to_have_text("frame 20")
    expect(overlay.locator("g.stroke")).to_have_count(2)
    expect(overlay.locator("g.arrow polygon")).to_have_count(1)
    first_x = overlay.locator("g.line polyline").evaluate(
        "p => parseFloat(p.getAttribute('points').split(' ')[0].split(',')[0])"
    )
    assert abs(first_x - 0.2 * box["width"]) < 0.02 * box["width"]
    page.screenshot(path=str(artifacts_dir / "review-drawing.png"))
    # Playing again hides it: it belongs to one frame.
    page.evaluate("() => document.getElementById('player').play()")
    expect(overlay.locator("g.stroke")).to_have_count(0)

    assert page.evaluate("() => window.__csp") == []
    # The take page shows the same drawing from its notes.
    page.goto(f"{live_server.url}/projects/{project.slug}/takes/{take.pk}/")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1")
    page.locator(f"#note-{note.pk} a[data-seek-frame]").click()
    expect(page.locator("#drawing-overlay g.stroke")).to_have_count(2)
    assert page.evaluate("() => window.__csp") == []


def test_the_wipe_follows_a_drag_on_the_picture(
    page, live_server, login, owner, project, version, celery_worker, make_take, artifacts_dir
):
    takes = wait_until_ready([make_take(version, owner, hue=h) for h in (0, 120)])
    page.add_init_script(LISTEN)  # the page's scripts stay within the CSP
    login(owner)
    ids = ",".join(str(t.pk) for t in takes)
    page.goto(f"{live_server.url}/projects/{project.slug}/compare/?takes={ids}&mode=wipe")
    wipe = page.locator("#wipe")
    box = wipe.bounding_box()
    expect(page.locator("#wipe-slider")).to_have_value("50")
    _drag(page, box, (0.2, 0.5), (0.75, 0.5))
    expect(page.locator("#wipe-slider")).to_have_value("75")
    assert wipe.evaluate("w => w.style.getPropertyValue('--wipe')") == "75%"
    # The line is drawn where the pointer let go.
    line = page.locator("#wipe .wipe-line").bounding_box()
    assert abs(line["x"] - (box["x"] + 0.75 * box["width"])) < 3
    page.screenshot(path=str(artifacts_dir / "compare-wipe.png"))
    # A click (no drag) moves it too.
    page.mouse.click(box["x"] + 0.3 * box["width"], box["y"] + 0.5 * box["height"])
    expect(page.locator("#wipe-slider")).to_have_value("30")
    assert page.evaluate("() => window.__csp") == []
