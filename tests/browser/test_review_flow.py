"""The review flow never loses the keyboard: a note written from the keyboard gives the keys
back to the take, and keys typed ahead of slow answers each act once, in order (real Chromium,
live server, real worker)."""

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from generations.models import Note, Review, Take, Verdict

from .conftest import wait_until_ready
from .test_csp_and_layout import LISTEN
from .test_review_keyboard import expect_stage

pytestmark = pytest.mark.browser

PLAYER_FOCUSED = "() => document.activeElement && document.activeElement.id === 'player'"


@pytest.fixture
def three_takes(celery_worker, owner, version, make_take):
    return wait_until_ready([make_take(version, owner, hue=60 * i) for i in range(3)])


def test_a_note_then_a_verdict_by_keyboard(page, live_server, login, owner, project, three_takes):
    first, second, third = three_takes
    page.add_init_script(LISTEN)  # the page's scripts stay within the CSP
    login(owner)
    page.goto(f"{live_server.url}/projects/{project.slug}/review/")
    expect_stage(page, first, three_takes)

    # N, type, Enter: the note is saved and the keyboard is the player's again...
    page.keyboard.press("n")
    expect(page.locator("#note-text")).to_be_focused()
    page.keyboard.type("hand melts")
    page.keyboard.press("Enter")
    page.wait_for_function(PLAYER_FOCUSED)
    # ...so A, pressed at once, is a verdict and not a letter in the note box.
    page.keyboard.press("a")
    expect_stage(page, second, three_takes)
    note = Note.objects.get(take=first)
    assert note.text == "hand melts"
    assert Take.objects.get(pk=first.pk).current_verdict == Verdict.ACCEPT
    page.wait_for_function(PLAYER_FOCUSED)

    # Esc cancels a note: the box is cleared and U, J and K work straight away.
    page.keyboard.press("n")
    page.keyboard.type("never mind")
    page.keyboard.press("Escape")
    expect(page.locator("#note-text")).to_have_value("")
    page.wait_for_function(PLAYER_FOCUSED)
    page.keyboard.press("u")  # undo the verdict just given, on the first take
    expect_stage(page, first, three_takes)
    expect(page.locator("#current-verdict")).to_have_text("unreviewed")
    assert Take.objects.get(pk=first.pk).current_verdict == ""
    page.keyboard.press("k")
    expect_stage(page, second, three_takes)
    page.keyboard.press("j")
    expect_stage(page, first, three_takes)

    # A note saved, then K and R: each key acts on the take.
    page.keyboard.press("n")
    page.keyboard.type("warps at the end")
    page.keyboard.press("Enter")
    page.keyboard.press("k")
    expect_stage(page, second, three_takes)
    page.keyboard.press("r")
    expect_stage(page, third, three_takes)
    assert Take.objects.get(pk=second.pk).current_verdict == Verdict.REJECT
    assert sorted(Note.objects.values_list("text", flat=True)) == ["hand melts", "warps at the end"]
    assert Note.objects.filter(text__contains="never").count() == 0
    assert page.evaluate("() => window.__csp") == []


REVIEW_ACTION = re.compile(r"/takes/\d+/(verdict|notes|undo)/$")


class HeldPosts:
    """Holds the review POSTs (verdicts, notes, undo) of the page until the test lets each
    through: the answers come as late as the test likes, so keys are typed ahead of them for
    certain. Route before the page loads: a route added to a page already open missed its
    first request once in ~15 runs."""

    def __init__(self, page):
        self.page = page
        self.held = []  # routes not let through yet
        self.seen = []  # (path, form data) of every review POST, in the order sent
        page.route(lambda url: bool(REVIEW_ACTION.search(urlsplit(url).path)), self._hold)

    def _hold(self, route):
        request = route.request
        if request.method != "POST":
            route.continue_()
            return
        form = {k: v[0] for k, v in parse_qs(request.post_data or "").items()}
        self.seen.append((urlsplit(request.url).path, form))
        self.held.append(route)

    def wait_for(self, count: int, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while len(self.seen) < count and time.monotonic() < deadline:
            self.page.wait_for_timeout(20)  # lets Playwright deliver the routed requests
        assert len(self.seen) >= count, f"{len(self.seen)} review POSTs sent, expected {count}"
        return self.seen[count - 1]

    def release(self):
        self.held.pop(0).continue_()


@pytest.fixture
def four_takes(celery_worker, owner, version, make_take):
    return wait_until_ready([make_take(version, owner, hue=50 * i) for i in range(4)])


def _let_through(page, posts, expected):
    """Release the held POSTs one by one: each answer lets out exactly the next command typed
    ahead, on the take that answer brought (path, and the form fields given)."""
    for count, (path, fields) in enumerate(expected, start=1):
        sent_path, form = posts.wait_for(count)
        assert (sent_path, {k: form.get(k) for k in fields}) == (path, fields)
        page.wait_for_timeout(300)  # a command run twice would go out now
        assert len(posts.seen) == count, posts.seen[count - 1 :]
        posts.release()


def _open_queue(page, live_server, login, owner, project, takes):
    posts = HeldPosts(page)
    login(owner)
    page.goto(f"{live_server.url}/projects/{project.slug}/review/")
    expect_stage(page, takes[0], takes)
    return posts, f"/projects/{project.slug}/takes"


def test_verdicts_typed_ahead_of_slow_answers_act_once_each_in_order(
    page, live_server, login, owner, project, four_takes
):
    t1, t2, t3, t4 = four_takes
    posts, base = _open_queue(page, live_server, login, owner, project, four_takes)
    # A goes out and its answer is held: 1, R and A are typed ahead of it. One answer settles
    # twice (the stage and the crumbs); each settle used to release a key.
    page.keyboard.press("a")
    posts.wait_for(1)
    tag = page.locator('#tag-keys input[data-key="1"]').get_attribute("value")
    for key in ["1", "r", "a"]:
        page.keyboard.press(key)
    _let_through(
        page,
        posts,
        [
            (f"{base}/{t1.pk}/verdict/", {"verdict": "accept", "tags": None}),
            (f"{base}/{t2.pk}/verdict/", {"verdict": "reject", "tags": tag}),
            (f"{base}/{t3.pk}/verdict/", {"verdict": "accept", "tags": None}),
        ],
    )
    expect_stage(page, t4, four_takes)
    page.wait_for_timeout(300)
    assert len(posts.seen) == 3
    reviews = Review.objects.filter(take__project=project).order_by("created_at", "pk")
    assert [(r.take_id, r.verdict) for r in reviews] == [
        (t1.pk, Verdict.ACCEPT),
        (t2.pk, Verdict.REJECT),
        (t3.pk, Verdict.ACCEPT),
    ]
    assert [t.slug for t in reviews[1].failure_tags.all()] == [tag]
    assert Take.objects.get(pk=t4.pk).current_verdict == ""


def test_a_note_typed_ahead_is_text_not_shortcuts(
    page, live_server, login, owner, project, four_takes
):
    t1, t2, t3, _t4 = four_takes
    posts, base = _open_queue(page, live_server, login, owner, project, four_takes)
    # N and a note typed while A's answer is held: its "a" and "r" are text, not verdicts.
    # Enter saves it on the next take, then R judges that take.
    page.keyboard.press("a")
    posts.wait_for(1)
    page.keyboard.press("n")
    page.keyboard.type("warps at the end")
    page.keyboard.press("Enter")
    page.keyboard.press("r")
    _let_through(
        page,
        posts,
        [
            (f"{base}/{t1.pk}/verdict/", {"verdict": "accept"}),
            (f"{base}/{t2.pk}/notes/", {"text": "warps at the end"}),
            (f"{base}/{t2.pk}/verdict/", {"verdict": "reject"}),
        ],
    )
    expect_stage(page, t3, four_takes)
    assert [(n.take_id, n.text) for n in Note.objects.all()] == [(t2.pk, "warps at the end")]
    assert Take.objects.get(pk=t2.pk).current_verdict == Verdict.REJECT
    assert Review.objects.filter(take__project=project).count() == 2
