"""Retake the README's screenshots of the review queue (with a drawing on the frame and the
prompt's diff unfolded), the take page and the grid, from a running demo:

    make demo                                              # seeds the demo, serves :8000
    .venv/bin/python tests/browser/screenshots.py http://127.0.0.1:8000

It logs in as the demo's creative lead and adds one note with a drawing, like a user would.
Writes docs/screenshot.png and docs/grid.png (1440 × 900, the README's size)."""

import sys
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

DOCS = Path(__file__).resolve().parents[2] / "docs"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--autoplay-policy=no-user-gesture-required"]  # fmt: skip


def drag(page, box, start, end):
    page.mouse.move(box["x"] + start[0] * box["width"], box["y"] + start[1] * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0] * box["width"], box["y"] + end[1] * box["height"], steps=12)
    page.mouse.up()


def main(base: str) -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.goto(f"{base}/accounts/login/")
        page.fill("#id_username", "lead@studio.test")
        page.fill("#id_password", "dailies-demo")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        slug = page.evaluate(
            "() => Array.from(document.querySelectorAll('a[href^=\"/projects/\"]'),"
            " (a) => a.getAttribute('href').split('/')[2]).find(Boolean)"
        )

        # An unreviewed take: in the demo, of a later version (its diff has something to show).
        page.goto(f"{base}/projects/{slug}/review/?verdict=unreviewed")
        page.wait_for_function("() => document.getElementById('player')?.readyState >= 1")
        page.evaluate("() => { const v = document.getElementById('player'); v.pause();"
                      " v.currentTime = v.duration * 0.55; }")  # fmt: skip
        page.wait_for_timeout(300)
        page.click("#draw-toggle")
        box = page.locator("#drawing-overlay").bounding_box()
        drag(page, box, (0.62, 0.18), (0.5, 0.4))
        page.select_option("#draw-tool", "arrow")
        drag(page, box, (0.85, 0.75), (0.62, 0.55))
        page.fill("#note-text", "the moon melts into the sign here")
        page.press("#note-text", "Enter")
        expect(page.locator("#notes-panel")).to_contain_text("melts into the sign")
        page.locator("#notes-panel table a[data-drawing]").last.click()
        page.wait_for_timeout(300)
        if page.locator("#prompt-diff").count():
            page.evaluate("() => { document.getElementById('prompt-diff').open = true; }")
        page.press("#player", "2")  # a failure tag on key 2, as a reviewer would
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(DOCS / "screenshot.png"))

        page.goto(f"{base}/projects/{slug}/grid/")
        page.wait_for_timeout(500)
        page.screenshot(path=str(DOCS / "grid.png"))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
