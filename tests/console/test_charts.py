"""The SVG charts: axes a person can read, one bar per value, nothing external."""

from __future__ import annotations

import itertools
import math
import re

import pytest

from api.console.charts import Bar, axis_ticks, bar_chart


@pytest.mark.parametrize("highest", [0, 0.3, 1, 7, 12, 50, 99.9, 196, 812.4, 12_345])
def test_the_axis_covers_the_highest_value_in_round_steps(highest: float) -> None:
    ticks = axis_ticks(highest)
    assert ticks[0] == 0 and ticks[-1] >= highest
    assert 3 <= len(ticks) <= 6
    step = ticks[1]
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(abs(mantissa - m) < 1e-9 for m in (1, 2, 2.5, 5))
    assert all(abs(b - a - step) < 1e-9 for a, b in itertools.pairwise(ticks))


def test_a_chart_has_a_title_a_description_and_one_bar_per_value() -> None:
    bars = [
        Bar("Jan 26", 3.0, "3.0"),
        Bar("Feb 26", 0.0, "0.0"),
        Bar("Mar 26", 9.5, "9.5"),
    ]
    svg = str(bar_chart("chart-x", "Incidents, LEI", "Incidents by month", bars))
    assert 'role="img"' in svg and 'aria-labelledby="chart-x-title chart-x-desc"' in svg
    assert '<title id="chart-x-title">Incidents, LEI</title>' in svg
    assert len(re.findall(r"<rect ", svg)) == 3
    assert "<title>Mar 26: 9.5</title>" in svg
    assert "href" not in svg and "<script" not in svg


def test_labels_are_escaped() -> None:
    svg = str(bar_chart("c", "<b>", "&", [Bar("<x>", 1.0, "1")]))
    assert "<b>" not in svg and "&lt;b&gt;" in svg and "&lt;x&gt;" in svg
