"""Chart details (issue 11 item 8), read from the SVG text: round axis ticks, the first-pass band
only at pass 1, legends outside the plot, heat-map labels inside the drawing. The browser test
(tests/browser/test_charts_layout.py) measures the rendered text boxes for overlaps."""

import re
import xml.etree.ElementTree as ET

import pytest

from generations.templatetags.dailies import rate, usd
from generations.views import charts

NS = {"svg": "http://www.w3.org/2000/svg"}


def _svg(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def _texts(root) -> list[str]:
    return [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]


@pytest.mark.parametrize(
    "top, ticks",
    [
        (50, [0, 10, 20, 30, 40, 50]),
        (37, [0, 10, 20, 30, 40]),
        (0.8, [0, 0.2, 0.4, 0.6, 0.8]),
        (1234, [0, 500, 1000, 1500]),
        (7, [0, 2, 4, 6, 8]),
        (0, [0, 1]),
    ],
)
def test_ticks_are_round(top, ticks):
    assert charts._ticks(top) == pytest.approx(ticks)


def test_a_burn_chart_has_round_money_ticks():
    days = [
        {"date": "2026-11-01", "spend_usd": 20.0, "cumulative_usd": 20.0},
        {"date": "2026-11-02", "spend_usd": 27.6, "cumulative_usd": 47.6},
    ]
    texts = _texts(_svg(charts.burn_chart(days, budget=None, forecast_to=None, title="Burn")))
    assert [t for t in texts if t.startswith("$")] == ["$0", "$10", "$20", "$30", "$40", "$50"]
    texts = _texts(_svg(charts.burn_chart(days, budget=45.5, forecast_to=None, title="Burn")))
    assert "budget $45.50" in texts


def _band(root):
    return [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.get("class") == "band"]


def test_the_first_pass_band_is_drawn_only_at_pass_1():
    points = [
        ("pass 1", 0.15, [0.1, 0.2]),
        ("pass 2", 0.3, [0.2, 0.4]),
        ("pass 3", 0.5, [0.4, 0.6]),
        ("pass 4", None, None),
    ]
    root = _svg(charts.interval_chart(points, title="t", x_label="Pass", band=(0.1, 0.2)))
    (band,) = _band(root)
    slot = (charts.W - charts.LEFT - charts.RIGHT) / 4
    assert float(band.get("x")) == pytest.approx(charts.LEFT)
    assert float(band.get("width")) == pytest.approx(slot, abs=0.1)
    # Between the 20% and 10% lines.
    assert float(band.get("y")) == pytest.approx(charts._y(0.2, 1.0), abs=0.1)
    # Pass 1 elsewhere in the order: the band follows it.
    shuffled = [points[1], points[0], points[2]]
    root = _svg(charts.interval_chart(shuffled, title="t", x_label="Pass", band=(0.1, 0.2)))
    slot = (charts.W - charts.LEFT - charts.RIGHT) / 3
    assert float(_band(root)[0].get("x")) == pytest.approx(charts.LEFT + slot, abs=0.1)
    # No pass 1: no band, no legend.
    root = _svg(charts.interval_chart(points[1:], title="t", x_label="Pass", band=(0.1, 0.2)))
    assert _band(root) == [] and not any("expected" in t for t in _texts(root))


def _legend_y(root, words):
    (text,) = [t for t in root.iter("{http://www.w3.org/2000/svg}text") if words in t.text]
    return float(text.get("y"))


def test_legends_sit_above_the_plot():
    pareto = _svg(charts.pareto_chart({"blur": 30, "warping": 20, "flicker": 3}, title="p"))
    assert _legend_y(pareto, "cumulative share") < charts.TOP
    points = [("pass 1", 0.15, [0.1, 0.2])]
    interval = _svg(charts.interval_chart(points, title="t", x_label="Pass", band=(0.1, 0.2)))
    assert _legend_y(interval, "expected first pass") < charts.TOP
    # The plot's own labels are all at or below the plot top (minus the scale labels' lift).
    for t in pareto.iter("{http://www.w3.org/2000/svg}text"):
        if "cumulative" not in t.text:
            assert float(t.get("y")) >= charts.TOP - 3


def test_heatmap_column_labels_fit_the_drawing():
    cols = ["object-permanence", "illegible-text", "camera-motion", "prompt-adherence"]
    root = _svg(charts.heatmap(["a shot"], cols, {("a shot", "camera-motion"): 3}, title="h"))
    width = float(root.get("viewBox").split()[2])
    for t in root.iter("{http://www.w3.org/2000/svg}text"):
        m = re.search(r"rotate\(-35 ([\d.]+) ([\d.]+)\)", t.get("transform") or "")
        if not m:
            continue
        x, y = float(m.group(1)), float(m.group(2))
        reach = len(t.text) * 6.0  # 10 px text: at most ~6 px a character
        assert x + reach * 0.82 <= width  # cos 35°
        assert y - reach * 0.58 >= 14  # sin 35°, below the axis title


def test_rates_and_money_filters():
    assert rate(0.2612) == "26.1%" and rate(None) == "—" and rate(1) == "100.0%"
    assert rate(0.5, 0) == "50%"
    assert usd(1234.5) == "$1,234.50" and usd(0.8) == "$0.80" and usd(None) == "—"
