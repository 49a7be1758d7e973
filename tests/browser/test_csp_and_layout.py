"""The Content-Security-Policy holds in a real Chromium: every main page renders, runs its
scripts and swaps its htmx partials without one violation (issue 11 item 13); and a page with a
6,000-character word stays within the viewport (item 10)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from generations.models import FailureTag, Take
from generations.services.reviews import note_add, review_record
from generations.services.rollups import rollups_recompute

from ..factories import PromptVersionFactory, ShotFactory
from .conftest import wait_until_ready

pytestmark = pytest.mark.browser

# Collects every violation the page reports, from before its first script runs (an init script is
# injected by the browser, not by the page, so the policy does not apply to it).
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(page):
    page.add_init_script(LISTEN)
    console = []
    page.on(
        "console",
        lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return page, console


def _violations(page, console) -> list[str]:
    return page.evaluate("() => window.__csp") + console


def test_main_pages_raise_no_csp_violation(
    watched, live_server, login, owner, members, project, version, celery_worker, make_take
):
    page, console = watched
    first, second = wait_until_ready(
        [make_take(version, owner, seconds=1.0), make_take(version, owner, seconds=1.0, hue=90)]
    )
    note_add(take=first, author=owner, seconds=0.5, text="hand melts", tag_slug="anatomy")
    flicker = FailureTag.objects.filter(slug="flicker")
    review_record(take=second, reviewer=owner, verdict="reject", tags=flicker)
    rollups_recompute(project_id=project.pk)
    slug = project.slug
    pages = [
        reverse("project_list"),
        reverse("project_detail", args=[slug]),
        reverse("shot_detail", args=[slug, version.shot_id]),
        reverse("version_detail", args=[slug, version.pk]),
        reverse("version_create", args=[slug, version.shot_id]),
        reverse("take_upload", args=[slug, version.pk]),
        reverse("take_detail", args=[slug, first.pk]),
        reverse("take_grid", args=[slug]),
        reverse("compare_takes", args=[slug]) + f"?takes={first.pk}&takes={second.pk}",
        reverse("budget_edit", args=[slug]),
        reverse("member_list", args=[slug]),
        reverse("dashboard", args=[slug, "producer"]),
        reverse("dashboard", args=[slug, "creative"]),
        reverse("dashboard", args=[slug, "editor"]),
        reverse("api_tokens"),
        reverse("portfolio"),
    ]
    login(owner)
    response = page.goto(live_server.url + pages[0])
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    for url in pages:
        page.goto(live_server.url + url)
        page.wait_for_load_state("load")
        assert _violations(page, console) == [], url

    # Positions that used to be style attributes are applied by static/js/layout.js.
    page.goto(live_server.url + reverse("take_detail", args=[slug, first.pk]))
    marker = page.locator("#timeline .marker").first
    expect(marker).to_have_attribute("data-left", "50.0")
    assert page.evaluate("() => document.querySelector('#timeline .marker').style.left") == "50%"
    page.goto(live_server.url + reverse("take_grid", args=[slug]))
    assert "thumb" in page.evaluate("() => document.querySelector('.scrub').style.backgroundImage")

    # htmx swaps: a verdict in the queue, and the live dashboard after a change.
    page.goto(live_server.url + reverse("review_queue", args=[slug]) + f"?take={first.pk}")
    page.wait_for_function("() => document.getElementById('player')")
    page.keyboard.press("a")
    for _ in range(100):
        if Take.objects.get(pk=first.pk).current_verdict == "accept":
            break
        page.wait_for_timeout(50)
    assert Take.objects.get(pk=first.pk).current_verdict == "accept"
    page.wait_for_load_state("networkidle")
    assert _violations(page, console) == []


def test_a_long_word_wraps_inside_the_viewport(live_server, login, page, owner, project):
    word = "x" * 6000
    shot = ShotFactory(project=project, name="w" * 120)
    version = PromptVersionFactory(shot=shot, number=1, text=f"a street {word} at dusk")
    version.change_note = "n" * 500
    version.negative_prompt = "blur" + "y" * 3000
    version.save()
    page.set_viewport_size({"width": 1024, "height": 768})
    login(owner)
    for url in [
        reverse("project_detail", args=[project.slug]),
        reverse("shot_detail", args=[project.slug, shot.pk]),
        reverse("version_detail", args=[project.slug, version.pk]),
    ]:
        page.goto(live_server.url + url)
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 1024, (url, width)
