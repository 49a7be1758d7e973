"""A reviewer judges a queue from the keyboard alone, in a real Chromium, against a live server
and a real Celery worker; the database is checked afterwards. The verdict-to-next-take cost is
measured in the page and written to test-artifacts/verdict-timing.json."""

import json
import re
import statistics

import pytest
from playwright.sync_api import expect

from generations.models import Take, Verdict

from .conftest import wait_until_ready

pytestmark = pytest.mark.browser

# Records when an element matching `selector` first appears in the DOM (performance.now()).
# The previous verdict's observer is disconnected first: left running, it would see its own
# (now current) take on the next key press and stop the clock at once.
WATCH = """selector => {
  if (window.__watch) window.__watch.disconnect();
  window.__seenAt = null;
  const check = () => {
    if (window.__seenAt === null && document.querySelector(selector)) {
      window.__seenAt = performance.now();
    }
  };
  window.__watch = new MutationObserver(check);
  window.__watch.observe(document.body, {childList: true, subtree: true});
  window.__pressedAt = performance.now();
}"""


def _stage(take) -> str:
    return f'#review-stage[data-take-id="{take.pk}"]'


def expect_stage(page, take, takes) -> None:
    """Wait until the queue shows `take`; on failure say which take it shows instead."""
    try:
        expect(page.locator(_stage(take))).to_be_attached(timeout=10_000)
    except AssertionError:
        shown = page.evaluate("() => document.getElementById('review-stage')?.dataset.takeId")
        order = [t.pk for t in takes]
        raise AssertionError(
            f"expected take {take.pk}, the page shows {shown} at {page.url}; queue {order}"
        ) from None


@pytest.fixture
def queue_takes(celery_worker, owner, version, make_take):
    takes = [make_take(version, owner, hue=40 * i) for i in range(4)]
    return wait_until_ready(takes)


def test_a_lead_reviews_three_takes_by_keyboard_alone(
    page, live_server, login, owner, project, queue_takes, artifacts_dir
):
    page.on("pageerror", lambda e: print("pageerror:", e))
    login(owner)
    page.goto(f"{live_server.url}/projects/{project.slug}/review/")
    first = queue_takes[0]
    expect_stage(page, first, queue_takes)
    # It opens on the first take, playing.
    page.wait_for_function(
        "() => { const v = document.getElementById('player');"
        " return v && !v.paused && v.currentTime > 0; }"
    )
    key2 = page.locator('#tag-keys input[data-key="2"]').get_attribute("value")

    plan = [["a"], ["2", "r"], ["a"]]  # accept; toggle tag 2 then reject; accept
    timings = []
    for i, keys in enumerate(plan):
        nxt = queue_takes[i + 1]
        for key in keys[:-1]:
            page.keyboard.press(key)
        page.evaluate(WATCH, _stage(nxt))
        page.keyboard.press(keys[-1])
        page.wait_for_function("() => window.__seenAt !== null")
        ms = page.evaluate("() => window.__seenAt - window.__pressedAt")
        timings.append(
            {"take": queue_takes[i].pk, "keys": keys, "keystrokes": len(keys), "ms": round(ms, 1)}
        )
        expect(page).to_have_url(re.compile(rf"take={nxt.pk}\b"))

    page.screenshot(path=str(artifacts_dir / "review-keyboard.png"), full_page=True)
    rows = {t.pk: t for t in Take.objects.filter(pk__in=[t.pk for t in queue_takes])}
    assert rows[queue_takes[0].pk].current_verdict == Verdict.ACCEPT
    rejected = rows[queue_takes[1].pk]
    assert rejected.current_verdict == Verdict.REJECT
    assert list(rejected.current_review.failure_tags.values_list("slug", flat=True)) == [key2]
    assert rows[queue_takes[2].pk].current_verdict == Verdict.ACCEPT
    assert rows[queue_takes[3].pk].current_verdict == ""
    assert all(rows[t.pk].current_review.reviewer_id == owner.pk for t in queue_takes[:3])

    # The URL follows the take: reload lands on it, Back returns to the one before.
    page.reload()
    expect_stage(page, queue_takes[3], queue_takes)
    page.go_back()
    expect_stage(page, queue_takes[2], queue_takes)
    # J and K walk the queue; the order held still while we judged.
    page.keyboard.press("j")
    expect_stage(page, queue_takes[1], queue_takes)
    page.keyboard.press("k")
    expect_stage(page, queue_takes[2], queue_takes)
    # Typing in a field fires no shortcut.
    page.keyboard.press("n")
    expect(page.locator("#note-text")).to_be_focused()
    page.keyboard.type("a rough start")
    page.keyboard.press("Escape")
    assert Take.objects.get(pk=queue_takes[2].pk).reviews.count() == 1

    report = {
        "what": "keydown of the verdict key until the next take's stage is in the DOM",
        "verdicts": timings,
        "median_ms": round(statistics.median(t["ms"] for t in timings), 1),
        "max_ms": max(t["ms"] for t in timings),
        "keystrokes": {"accept": 1, "reject_with_one_tag": 2},
    }
    (artifacts_dir / "verdict-timing.json").write_text(json.dumps(report, indent=2))
    print("\nverdict-to-next-take:", json.dumps(report))


def test_undo_restores_the_take_by_keyboard(
    page, live_server, login, owner, project, queue_takes, artifacts_dir
):
    login(owner)
    page.goto(f"{live_server.url}/projects/{project.slug}/review/")
    expect_stage(page, queue_takes[0], queue_takes)
    page.keyboard.press("a")
    expect_stage(page, queue_takes[1], queue_takes)
    assert Take.objects.get(pk=queue_takes[0].pk).current_verdict == Verdict.ACCEPT
    page.keyboard.press("u")
    # Undo shows the take it restored, back to unreviewed, with the history kept.
    expect_stage(page, queue_takes[0], queue_takes)
    expect(page.locator("#current-verdict")).to_have_text("unreviewed")
    take = Take.objects.get(pk=queue_takes[0].pk)
    assert take.current_verdict == ""
    assert list(take.reviews.values_list("verdict", flat=True)) == [Verdict.CLEAR, Verdict.ACCEPT]
    # Judge it again, then open the help with ?.
    page.keyboard.press("r")
    expect_stage(page, queue_takes[1], queue_takes)
    assert Take.objects.get(pk=queue_takes[0].pk).current_verdict == Verdict.REJECT
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "review-undo-help.png"))
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_be_hidden()
