"""Chart labels measured in Chromium (issue 11 item 8): no two labels of a chart overlap and none
is cut off at the chart's edge, on dashboards whose data used to provoke it (a cumulative line
near 100% at the right edge, the first-pass band, long failure-tag names in the heat map)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from generations.models import FailureTag
from generations.services.reviews import review_record
from generations.services.rollups import rollups_recompute

from ..factories import PromptVersionFactory, ShotFactory, TakeFactory

pytestmark = pytest.mark.browser

# Every <text> box of every chart: overlapping pairs and boxes outside their <svg>.
MEASURE = """
() => [...document.querySelectorAll("svg.chart")].map((svg) => {
  const frame = svg.getBoundingClientRect();
  // Each label as the four screen corners of its own (possibly rotated) box, so slanted
  // neighbours are compared as they are drawn, not by their axis-aligned bounds.
  const quads = [...svg.querySelectorAll("text")].map((t) => {
    const b = t.getBBox(), m = t.getScreenCTM();
    const pts = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height],
                 [b.x, b.y + b.height]].map(([x, y]) => {
      const p = new DOMPoint(x, y).matrixTransform(m);
      return [p.x, p.y];
    });
    return {text: t.textContent, pts};
  });
  const axes = (q) => q.pts.map((p, i) => {
    const n = q.pts[(i + 1) % 4];
    return [p[1] - n[1], n[0] - p[0]];
  });
  const project = (q, a) => q.pts.map((p) => p[0] * a[0] + p[1] * a[1]);
  const separated = (a, b) => [...axes(a), ...axes(b)].some((axis) => {
    const len = Math.hypot(axis[0], axis[1]);
    if (!len) return false;
    const u = [axis[0] / len, axis[1] / len];
    const pa = project(a, u), pb = project(b, u);
    return Math.max(...pa) <= Math.min(...pb) + 0.5 || Math.max(...pb) <= Math.min(...pa) + 0.5;
  });
  const overlaps = [];
  for (let i = 0; i < quads.length; i++) for (let j = i + 1; j < quads.length; j++)
    if (!separated(quads[i], quads[j])) overlaps.push([quads[i].text, quads[j].text]);
  const outside = quads.filter((q) => q.pts.some(([x, y]) => x < frame.left - 0.5
    || x > frame.right + 0.5 || y < frame.top - 0.5 || y > frame.bottom + 0.5)).map((q) => q.text);
  return {title: svg.getAttribute("aria-label"), overlaps, outside};
})
"""


@pytest.fixture
def busy_project(project, members):
    """Three passes, rejects spread over many long-named tags (the Pareto line climbs to 100% at
    the right edge), over several shots and days."""
    lead = members["lead"]
    tags = list(FailureTag.objects.order_by("slug"))
    now = timezone.now()
    n = 0
    for s in range(4):
        shot = ShotFactory(project=project, name=f"shot with a long name {s}")
        for number in (1, 2, 3):
            version = PromptVersionFactory(shot=shot, number=number)
            for k in range(4):
                take = TakeFactory(
                    prompt_version=version,
                    cost_usd=Decimal("3.35"),
                    created_at=now - datetime.timedelta(days=20 - n % 20),
                )
                if k == 0 and number == 1 and s % 2:
                    review_record(take=take, reviewer=lead, verdict="accept")
                else:
                    review_record(
                        take=take, reviewer=lead, verdict="reject", tags=[tags[n % len(tags)]]
                    )
                n += 1
    rollups_recompute(project_id=project.pk)
    return project


def test_chart_labels_never_collide_nor_get_cut(live_server, login, page, owner, busy_project):
    page.set_viewport_size({"width": 1280, "height": 900})
    login(owner)
    charts = []
    for kind in ("producer", "creative", "editor"):
        page.goto(live_server.url + reverse("dashboard", args=[busy_project.slug, kind]))
        charts += page.evaluate(MEASURE)
    titles = [c["title"] for c in charts]
    assert any("Pareto" in t for t in titles) and any("Failure tags by shot" in t for t in titles)
    assert any("first-pass band" in t for t in titles)
    for chart in charts:
        assert chart["overlaps"] == [], (chart["title"], chart["overlaps"])
        assert chart["outside"] == [], (chart["title"], chart["outside"])
