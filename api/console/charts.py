"""Bar charts as SVG, drawn on the server: nothing is fetched or run in the browser.

Each chart is an ``<svg role="img">`` with a title and a description that a screen
reader announces, a ``<title>`` per bar (its exact value on hover), and the same
figures in a table beside it (``charts`` never stands alone as the only copy).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 40


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    shown: str
    """The value as a reader should see it (e.g. ``12.5%``)."""


def axis_ticks(highest: float) -> list[float]:
    """Gridlines from 0 to at least ``highest``: about four, in steps of 1, 2, 2.5
    or 5 x 10^n (so an axis reads 0, 20, 40, 60, never 0, 12.5, 25, 37.5)."""
    if highest <= 0:
        return [0.0, 0.5, 1.0]
    rough = highest / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    count = math.ceil(highest / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _number(value: float) -> str:
    return f"{value:g}" if value < 1000 else f"{value:,.0f}"


def bar_chart(
    chart_id: str, title: str, description: str, bars: Sequence[Bar]
) -> Markup:
    """One bar per month (or any label), on a 0-based axis."""
    ticks = axis_ticks(max((b.value for b in bars), default=0.0))
    top = ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    parts = [
        f'<svg id="{chart_id}" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
        'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>',
    ]
    for value in ticks:
        y = TOP + plot_h - plot_h * value / top
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end">{_number(value)}</text>'
        )
    for i, bar in enumerate(bars):
        height = plot_h * bar.value / top
        x = LEFT + i * slot + slot * 0.15
        y = TOP + plot_h - height
        parts.append(
            f'<g class="bar"><rect x="{x:.1f}" y="{y:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{height:.1f}">'
            f"<title>{escape(bar.label)}: {escape(bar.shown)}</title></rect>"
            f'<text class="axis" x="{x + slot * 0.35:.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{escape(bar.label)}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
