"""What the benches print and record alike: progress lines, a plain table, and a
measure's medians over rounds with their ratio."""

from __future__ import annotations

import statistics
import sys
from collections.abc import Sequence
from typing import Any


def progress(line: str) -> None:
    """A progress line on stderr, so stdout keeps only the table."""
    print(line, file=sys.stderr, flush=True)


def print_table(rows: Sequence[Sequence[str]]) -> None:
    """Rows as left-aligned columns; the first row is the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        print(" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            print("-+-".join("-" * w for w in widths))


def ratio_figures(ours: Sequence[float], baseline: Sequence[float]) -> dict[str, Any]:
    """Both sides' medians over rounds, the ratio of the medians, and every round."""
    ours_median, baseline_median = statistics.median(ours), statistics.median(baseline)
    return {
        "ours_median": round(ours_median),
        "baseline_median": round(baseline_median),
        "ratio": round(ours_median / baseline_median, 3),
        "ours_rounds": [round(v) for v in ours],
        "baseline_rounds": [round(v) for v in baseline],
    }
