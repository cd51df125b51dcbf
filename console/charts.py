"""Small server-side SVG charts for the dashboard: no JavaScript, no CDN, nothing to vendor.

Shapes use SVG presentation attributes (fill=, stroke=), which the console's CSP (style-src 'self')
allows; every value is also in a <title> so that it shows on hover and reads out to screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = (
    "#2563eb",
    "#c8102e",
    "#15803d",
    "#b45309",
    "#7c3aed",
    "#0891b2",
    "#db2777",
    "#4b5563",
    "#65a30d",
    "#9333ea",
)
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 40


def _nice_max(value: float) -> float:
    if value <= 4:
        return 4.0  # small counts: whole numbers on the axis
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _fmt(value: float, percent: bool) -> str:
    return f"{value:.0f}%" if percent else (f"{value:.0f}" if value == int(value) else f"{value:.1f}")


def _frame(parts: list[str], labels: Sequence[str], top: float, percent: bool, title: str) -> Markup:
    plot_h = HEIGHT - TOP - BOTTOM
    axis = []
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        axis.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        axis.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#616e7c">'
            f"{_fmt(top * i / 4, percent)}</text>"
        )
    n = max(len(labels), 1)
    step = (WIDTH - LEFT - RIGHT) / n
    every = max(1, -(-n // 10))  # at most ten labels under the axis
    for i, label in enumerate(labels):
        if i % every == 0:
            x = LEFT + step * (i + 0.5)
            axis.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle" font-size="11" '
                f'fill="#616e7c">{escape(label)}</text>'
            )
    body = "".join(axis + parts)
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>{body}</svg>'
    )


def bar_chart(
    labels: Sequence[str], series: dict[str, Sequence[float]], title: str, percent: bool = False
) -> Markup:
    """Grouped bars: one group per label, one bar per series."""
    names = list(series)
    top = 100.0 if percent else _nice_max(max((v for vs in series.values() for v in vs), default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    bar_w = step * 0.8 / max(len(names), 1)
    parts = []
    for s, name in enumerate(names):
        color = PALETTE[s % len(PALETTE)]
        for i, value in enumerate(series[name]):
            h = plot_h * min(value, top) / top
            x = LEFT + step * i + step * 0.1 + bar_w * s
            parts.append(
                f'<rect x="{x:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(labels[i])} {escape(name)}: '
                f"{_fmt(value, percent)}</title></rect>"
            )
    return _frame(parts, labels, top, percent, title)


def stacked_bar_chart(labels: Sequence[str], series: dict[str, Sequence[float]], title: str) -> Markup:
    """One bar per label, split by series (e.g. messages per day by intent)."""
    totals = [sum(values[i] for values in series.values()) for i in range(len(labels))]
    top = _nice_max(max(totals, default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    parts = []
    for i, label in enumerate(labels):
        base = TOP + plot_h
        for s, (name, values) in enumerate(series.items()):
            value = values[i]
            if not value:
                continue
            h = plot_h * value / top
            base -= h
            parts.append(
                f'<rect x="{LEFT + step * i + step * 0.15:.1f}" y="{base:.1f}" width="{step * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(name)}: {_fmt(value, False)}</title></rect>"
            )
    return _frame(parts, labels, top, False, title)


def line_chart(
    labels: Sequence[str], series: dict[str, Sequence[float]], title: str, percent: bool = False
) -> Markup:
    top = 100.0 if percent else _nice_max(max((v for vs in series.values() for v in vs), default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    step = (WIDTH - LEFT - RIGHT) / max(len(labels), 1)
    parts = []
    for s, (name, values) in enumerate(series.items()):
        color = PALETTE[s % len(PALETTE)]
        points = [
            (LEFT + step * (i + 0.5), TOP + plot_h - plot_h * min(v, top) / top) for i, v in enumerate(values)
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for i, (x, y) in enumerate(points):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>{escape(labels[i])} '
                f"{escape(name)}: {_fmt(values[i], percent)}</title></circle>"
            )
    return _frame(parts, labels, top, percent, title)


def legend(names: Sequence[str]) -> Markup:
    items = "".join(
        f'<span class="legend-item"><svg width="12" height="12" aria-hidden="true">'
        f'<rect width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/></svg> {escape(name)}</span>'
        for i, name in enumerate(names)
    )
    return Markup(f'<div class="legend">{items}</div>')
