"""Server-rendered SVG charts for the dashboards: no JavaScript library, no CDN, crisp at any
zoom, and testable as text. Each chart has a title and labelled axes; every page also renders
the same numbers as a table (for screen readers and for copying into a spreadsheet)."""

import math
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

W, H = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 16, 66
COLOURS = {
    "bar": "#5aa9f0",
    "accept": "#37c47a",
    "reject": "#f0616d",
    "accent": "#f5b944",
    "muted": "#9aa1ad",
    "line": "#30343c",
    "band": "rgba(245,185,68,.16)",
}


def _svg(title: str, body: list[str], width: int = W, height: int = H) -> SafeString:
    t = escape(title)
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{t}" xmlns="http://www.w3.org/2000/svg"><title>{t}</title>'
        + "".join(body)
        + "</svg>"
    )


def _text(x, y, label, anchor="middle", size=11, colour=COLOURS["muted"], extra="") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
        f'fill="{colour}" {extra}>{escape(str(label))}</text>'
    )


def _ticks(value: float, least: int = 3, most: int = 6) -> list[float]:
    """Round axis ticks from 0 to at least value: a step of 1, 2 or 5 × 10^n, with `least` to
    `most` intervals, the one whose last tick overshoots value least (0, 10, 20… 50 for 47;
    never $12.5/$25/$37.5)."""
    if value <= 0:
        return [0.0, 1.0]
    exp = math.floor(math.log10(value / most))
    options = []
    for step in (m * 10**e for e in (exp, exp + 1) for m in (1, 2, 5)):
        n = math.ceil(value / step - 1e-9)
        if n <= most:
            # Too few intervals only as a last resort.
            options.append((n < least, n * step, n, step))
    _few, _top, n, step = min(options)
    return [round(step * i, 10) for i in range(n + 1)]


def _axes(ticks: list[float], x_label: str, y_label: str, fmt, width=W, height=H) -> list[str]:
    """Frame, a y grid line at each tick, axis titles."""
    plot_h = height - TOP - BOTTOM
    y_max = ticks[-1]
    out = []
    for value in ticks:
        y = TOP + plot_h - plot_h * value / y_max
        out.append(
            f'<line x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{COLOURS["line"]}" stroke-width="1"/>'
        )
        out.append(_text(LEFT - 6, y + 4, fmt(value), anchor="end", size=10))
    out.append(_text((LEFT + width - RIGHT) / 2, height - 6, x_label, size=11))
    out.append(
        _text(
            12,
            TOP + plot_h / 2,
            y_label,
            size=11,
            extra=f'transform="rotate(-90 12 {TOP + plot_h / 2:.1f})"',
        )  # fmt: skip
    )
    return out


def _legend(label: str, colour: str) -> str:
    """A key above the plot, left-aligned: legends inside the plot ran into the data and the
    scale labels."""
    return f'<rect x="{LEFT}" y="3" width="10" height="8" fill="{colour}"/>' + _text(
        LEFT + 14, 11, label, anchor="start", size=10, colour=colour
    )


def _money_tick(value: float) -> str:
    """Axis money: whole dollars, cents below $10, k and M from $10,000 (the labels must fit
    between the axis title and the plot)."""
    if value >= 1_000_000:
        return f"${value / 1_000_000:g}M"
    if value >= 10_000:
        return f"${value / 1000:g}k"
    return f"${value:,.0f}" if value >= 10 or value == 0 else f"${value:,.2f}"


def _y(value: float, y_max: float, height=H) -> float:
    plot_h = height - TOP - BOTTOM
    return TOP + plot_h - plot_h * (value / y_max if y_max else 0)


def _short(label: str, n: int = 12) -> str:
    return label if len(label) <= n else label[: n - 1] + "…"


def _slanted(labels, slot: float) -> bool:
    """Slant all category labels of a chart when any of them is wider than its slot, so many
    passes or long tag names never overprint each other."""
    return any(len(_short(str(label))) * 6.2 > slot for label in labels)


def _x_tick(x: float, slant: bool, label) -> str:
    text = _short(str(label))
    if not slant:
        return _text(x, H - BOTTOM + 14, text)
    y = H - BOTTOM + 10
    return _text(x, y, text, anchor="end", size=10, extra=f'transform="rotate(-35 {x:.1f} {y})"')


def bar_chart(
    items, *, title, x_label, y_label, fmt=lambda v: f"{v:g}", colour="bar", tick_fmt=None
):
    """Vertical bars; items are (label, value) with value a number or None (no bar). `fmt`
    formats the values (tooltips), `tick_fmt` the axis (default: fmt)."""
    items = list(items)
    ticks = _ticks(max([v for _, v in items if v is not None] or [0]))
    y_max = ticks[-1]
    body = _axes(ticks, x_label, y_label, tick_fmt or fmt)
    slot = (W - LEFT - RIGHT) / max(1, len(items))
    slant = _slanted([label for label, _ in items], slot)
    for i, (label, value) in enumerate(items):
        x = LEFT + i * slot
        if value is not None:
            y = _y(value, y_max)
            body.append(
                f'<rect x="{x + slot * 0.15:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" '
                f'height="{_y(0, y_max) - y:.1f}" fill="{COLOURS[colour]}">'
                f"<title>{escape(label)}: {escape(fmt(value))}</title></rect>"
            )
        body.append(_x_tick(x + slot / 2, slant, label))
    return _svg(title, body)


def interval_chart(points, *, title, x_label, y_label="Acceptance rate", band=None,
                   band_at="pass 1"):  # fmt: skip
    """Rates with their 95% interval as error bars, on 0–100%, with an optional reference band
    drawn only in the slot labelled `band_at` (the 10–20% band is about the first pass).
    points: (label, rate, [low, high]) with rate/interval None when nothing was reviewed."""
    points = list(points)
    body = _axes([0, 0.25, 0.5, 0.75, 1.0], x_label, y_label, lambda v: f"{v:.0%}")
    slot = (W - LEFT - RIGHT) / max(1, len(points))
    band_slot = next((i for i, p in enumerate(points) if p[0] == band_at), None)
    if band and band_slot is not None:
        top, bottom = _y(band[1], 1.0), _y(band[0], 1.0)
        body.insert(0, f'<rect class="band" x="{LEFT + band_slot * slot:.1f}" y="{top:.1f}" '
                       f'width="{slot:.1f}" height="{bottom - top:.1f}" '
                       f'fill="{COLOURS["band"]}"/>')  # fmt: skip
        body.append(
            _legend(f"expected first pass {band[0]:.0%}–{band[1]:.0%} (band)", COLOURS["accent"])
        )
    slant = _slanted([p[0] for p in points], slot)
    for i, (label, rate, ci) in enumerate(points):
        cx = LEFT + i * slot + slot / 2
        if rate is not None:
            if ci:
                body.append(
                    f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{_y(ci[0], 1.0):.1f}" '
                    f'y2="{_y(ci[1], 1.0):.1f}" stroke="{COLOURS["bar"]}" stroke-width="2"/>'
                )
                for v in ci:
                    body.append(f'<line x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{_y(v, 1.0):.1f}" '
                                f'y2="{_y(v, 1.0):.1f}" stroke="{COLOURS["bar"]}"/>')  # fmt: skip
            body.append(
                f'<circle cx="{cx:.1f}" cy="{_y(rate, 1.0):.1f}" r="4" fill="{COLOURS["accept"]}">'
                f"<title>{escape(label)}: {rate:.1%}</title></circle>"
            )
        body.append(_x_tick(cx, slant, label))
    return _svg(title, body)


def pareto_chart(counts: dict[str, int], *, title, x_label="Failure tag", y_label="Rejected takes"):
    """Bars in descending order with the cumulative share as a line (right scale 0–100%)."""
    items = sorted(counts.items(), key=lambda kv: -kv[1])
    total = sum(counts.values()) or 1
    chart = bar_chart(items, title=title, x_label=x_label, y_label=y_label, colour="reject",
                      fmt=lambda v: f"{v:g}")  # fmt: skip
    slot = (W - LEFT - RIGHT) / max(1, len(items))
    running, points = 0, []
    for i, (_, n) in enumerate(items):
        running += n
        points.append(f"{LEFT + i * slot + slot / 2:.1f},{_y(running / total, 1.0):.1f}")
    # The right-hand scale of the line: 25% steps at the right edge; its key sits above the
    # plot, where neither the bars, the line nor the scale can run into it.
    scale = "".join(
        _text(W - RIGHT - 2, _y(i / 4, 1.0) - 3, f"{i * 25}%", anchor="end",
              colour=COLOURS["accent"], size=10)
        for i in range(1, 5)
    )  # fmt: skip
    line = (
        f'<polyline points="{" ".join(points)}" fill="none" stroke="{COLOURS["accent"]}" '
        f'stroke-width="2"/>'
        + scale
        + _legend("cumulative share of rejects (right scale)", COLOURS["accent"])
    )
    return mark_safe(chart.replace("</svg>", line + "</svg>"))


def burn_chart(days, *, budget, forecast_to: tuple[str, float] | None, title):
    """Cumulative spend by day, the budget as a horizontal line, and the forecast as a dashed
    line from the last day to the run-out date at the recent burn rate."""
    if not days:
        return _svg(title, [_text(W / 2, H / 2, "No spend yet")])
    start = date.fromisoformat(days[0]["date"])
    end = (
        date.fromisoformat(forecast_to[0]) if forecast_to else date.fromisoformat(days[-1]["date"])
    )
    end = max(end, date.fromisoformat(days[-1]["date"]))
    span = max(1, (end - start).days)
    top = max(
        [d["cumulative_usd"] for d in days] + [budget or 0] + [forecast_to[1] if forecast_to else 0]
    )
    ticks = _ticks(top * 1.05)
    y_max = ticks[-1]
    body = _axes(ticks, "Day (UTC)", "Cumulative spend (USD)", _money_tick)

    def x(day: str) -> float:
        return LEFT + (W - LEFT - RIGHT) * (date.fromisoformat(day) - start).days / span

    pts = " ".join(f"{x(d['date']):.1f},{_y(d['cumulative_usd'], y_max):.1f}" for d in days)
    body.append(
        f'<polyline points="{pts}" fill="none" stroke="{COLOURS["bar"]}" stroke-width="2"/>'
    )
    if budget:
        yb = _y(budget, y_max)
        body.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{yb:.1f}" y2="{yb:.1f}" '
                    f'stroke="{COLOURS["reject"]}" stroke-width="1.5"/>')  # fmt: skip
        body.append(_text(W - RIGHT - 4, yb - 4, f"budget ${budget:,.2f}", anchor="end",
                          colour=COLOURS["reject"], size=10))  # fmt: skip
    if forecast_to:
        last = days[-1]
        body.append(
            f'<line x1="{x(last["date"]):.1f}" y1="{_y(last["cumulative_usd"], y_max):.1f}" '
            f'x2="{x(forecast_to[0]):.1f}" y2="{_y(forecast_to[1], y_max):.1f}" '
            f'stroke="{COLOURS["accent"]}" stroke-width="2" stroke-dasharray="6 4"/>'
        )
        body.append(_text(x(forecast_to[0]), _y(forecast_to[1], y_max) + 14, "forecast",
                          anchor="end", colour=COLOURS["accent"], size=10))  # fmt: skip
    # First and last day, anchored inwards so neither is cut at the edge.
    body.append(_text(x(days[0]["date"]), H - BOTTOM + 14, days[0]["date"], anchor="start"))
    if end.isoformat() != days[0]["date"]:
        body.append(_text(x(end.isoformat()), H - BOTTOM + 14, end.isoformat(), anchor="end"))
    return _svg(title, body)


def heatmap(rows: list[str], cols: list[str], values: dict[tuple[str, str], int], *, title,
            x_label="Failure tag", y_label="Shot"):  # fmt: skip
    """Counts as shaded cells: rows × columns."""
    cell_w, cell_h, left, top = 52, 22, 110, 76
    # Column labels slant up and to the right from their cell: the last one needs room on the
    # right (10 characters at 35° reach ~50 px across and ~35 px up).
    width = left + cell_w * max(1, len(cols)) + 60
    height = top + cell_h * max(1, len(rows)) + 10
    peak = max(values.values() or [1])
    body = [
        _text(left + cell_w * len(cols) / 2, 12, x_label),
        _text(8, top - 8, y_label, anchor="start"),
    ]
    for j, col in enumerate(cols):
        cx = left + j * cell_w + cell_w / 2
        body.append(_text(cx, top - 8, _short(col, 10), anchor="start", size=10,
                          extra=f'transform="rotate(-35 {cx:.1f} {top - 8})"'))  # fmt: skip
    for i, row in enumerate(rows):
        y = top + i * cell_h
        body.append(_text(left - 6, y + 15, _short(row, 16), anchor="end", size=10))
        for j, col in enumerate(cols):
            n = values.get((row, col), 0)
            alpha = 0.08 + 0.85 * n / peak if n else 0.03
            body.append(
                f'<rect x="{left + j * cell_w}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="rgba(240,97,109,{alpha:.2f})">'
                f"<title>{escape(row)} · {escape(col)}: {n}</title></rect>"
            )
            if n:
                body.append(
                    _text(left + j * cell_w + cell_w / 2, y + 15, n, size=10, colour="#e7e9ee")
                )
    return _svg(title, body, width, height)


def gauge(used: float | None, *, title="Budget used"):
    """Share of the budget spent, with marks at the 50/80/100% alert thresholds."""
    width, height, pad = 640, 54, 10
    scale_max = max(1.2, (used or 0) * 1.05)
    inner = width - 2 * pad

    def x(v: float) -> float:
        return pad + inner * v / scale_max

    colour = (
        COLOURS["accept"]
        if (used or 0) < 0.8
        else COLOURS["accent"]
        if used < 1
        else COLOURS["reject"]
    )
    body = [f'<rect x="{pad}" y="8" width="{inner}" height="16" rx="4" fill="#23262d"/>']
    if used:
        body.append(
            f'<rect x="{pad}" y="8" width="{x(used) - pad:.1f}" height="16" rx="4" '
            f'fill="{colour}"/>'
        )
    for mark in (0.5, 0.8, 1.0):
        body.append(
            f'<line x1="{x(mark):.1f}" x2="{x(mark):.1f}" y1="4" y2="28" stroke="#e7e9ee"/>'
        )
        body.append(_text(x(mark), 44, f"{mark:.0%}", size=10))
    return _svg(title, body, width, height)
