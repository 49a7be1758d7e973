"""Editors in a real Chromium: files dropped on the upload page go up one request each, each
with its own progress bar and outcome; the grid's cards name their shot and version."""

import base64

import pytest
from playwright.sync_api import expect

from generations.models import Take

from ..clips import clip_bytes
from .conftest import wait_until_ready
from .test_csp_and_layout import LISTEN

pytestmark = pytest.mark.browser

DROP = """([files]) => {
  const transfer = new DataTransfer();
  for (const [name, b64] of files) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type: "video/mp4" }));
  }
  // Record every status a row shows, to see the progress the page reported per file.
  window.__seen = {};
  new MutationObserver(() => {
    document.querySelectorAll(".upload-row").forEach((row) => {
      const seen = (window.__seen[row.dataset.index] ||= []);
      const text = row.querySelector(".upload-status").textContent;
      if (seen[seen.length - 1] !== text) seen.push(text);
    });
  }).observe(document.getElementById("upload-list"),
             { subtree: true, childList: true, characterData: true });
  return transfer;
}"""


def test_dropped_files_upload_with_progress_per_file(
    page, live_server, login, owner, project, version, celery_worker, artifacts_dir
):
    good = base64.b64encode(clip_bytes(seconds=1.0)).decode()
    bigger = base64.b64encode(clip_bytes(seconds=3.0)).decode()
    bad = base64.b64encode(b"not a video, just text pretending" * 100).decode()
    page.add_init_script(LISTEN)  # the page's scripts stay within the CSP
    login(owner)
    page.goto(f"{live_server.url}/projects/{project.slug}/versions/{version.pk}/upload/")
    page.fill("#id_model", "sora-2")
    transfer = page.evaluate_handle(
        DROP, [[["street.mp4", good], ["notes.mp4", bad], ["crane.mp4", bigger]]]
    )
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    rows = page.locator(".upload-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(1)).to_contain_text("notes.mp4")
    page.click("#upload-button")

    expect(page.locator("#upload-summary")).to_contain_text("2 of 3 uploaded.")
    expect(rows.nth(0)).to_have_attribute("data-state", "done")
    expect(rows.nth(1)).to_have_attribute("data-state", "refused")
    expect(rows.nth(2)).to_have_attribute("data-state", "done")
    expect(rows.nth(1).locator(".upload-status")).to_contain_text("notes.mp4")
    for i in range(3):
        assert rows.nth(i).locator("progress").evaluate("p => p.value") == 100
    seen = page.evaluate("() => window.__seen")
    for i in ("0", "1", "2"):
        # Each file's own bar went through its own progress, reported by its own request.
        assert "100%" in seen[i], seen
    assert seen["0"][-1].startswith("uploaded: ")
    page.screenshot(path=str(artifacts_dir / "upload-progress.png"), full_page=True)
    assert page.evaluate("() => window.__csp") == []

    takes = list(Take.objects.filter(prompt_version=version).order_by("original_filename"))
    assert [t.original_filename for t in takes] == ["crane.mp4", "street.mp4"]
    expect(rows.nth(0).locator("a")).to_have_attribute("href", takes[1].get_absolute_url())
    wait_until_ready(takes)

    # The grid names each card's shot and version.
    page.goto(f"{live_server.url}/projects/{project.slug}/grid/")
    titles = page.locator(".take-grid .card-title")
    expect(titles).to_have_count(2)
    for i in range(2):
        expect(titles.nth(i)).to_have_text(f"{version.shot.name} · {version.label}")
    assert page.evaluate("() => window.__csp") == []
