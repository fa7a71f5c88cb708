"""Inline SVG charts for the HTML report: no script, no remote resource, same bytes every run.

Drawn by hand rather than with a plotting library: a horizontal bar per row is all a report
needs, and a pure function of the numbers keeps the HTML golden-testable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from converter.artifacts import FAILURES
from converter.report.view import ErrorBar

WIDTH, LABEL, ROW, TOP = 640, 250, 22, 28
PLOT = WIDTH - LABEL - 60
FLOOR, CEILING = -9, 1  # decades of absolute error shown: 1e-9 .. 1e1
COLOUR = {"passed": "#2e7d32", "skipped": "#9e9e9e"}


def log_x(value: float) -> float:
    """The x of an absolute error on the log axis, clamped to the plotted decades."""
    decade = math.log10(value) if value > 0 else FLOOR
    return LABEL + PLOT * (min(max(decade, FLOOR), CEILING) - FLOOR) / (CEILING - FLOOR)


def error_chart(bars: Sequence[ErrorBar]) -> str:
    """Max abs error per check on a log axis, each with a tick at its tolerance."""
    height = TOP + ROW * len(bars) + 24
    parts = [svg_open(height, "Maximum absolute error per runtime and artifact, log scale"),
             f'<text x="{LABEL}" y="16" class="axis">max abs error (log scale; '
             f'| = tolerance)</text>']
    for decade in range(FLOOR, CEILING + 1, 2):
        x = log_x(10.0 ** decade)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 4}" x2="{x:.1f}" y2="{height - 20}" '
                     f'class="grid"/><text x="{x:.1f}" y="{height - 6}" class="axis" '
                     f'text-anchor="middle">1e{decade}</text>')
    for row, bar in enumerate(bars):
        y = TOP + row * ROW
        colour = "#c62828" if bar.status in FAILURES else COLOUR.get(bar.status, "#9e9e9e")
        parts.append(f'<text x="{LABEL - 6}" y="{y + 14}" text-anchor="end" class="label">'
                     f'{escape(bar.label)}</text>')
        if bar.max_abs is None:
            parts.append(f'<text x="{LABEL + 4}" y="{y + 14}" class="axis">{escape(bar.status)}'
                         f'</text>')
            continue
        end = log_x(bar.max_abs)
        parts.append(f'<rect x="{LABEL}" y="{y + 3}" width="{max(end - LABEL, 1):.1f}" '
                     f'height="{ROW - 8}" fill="{colour}"><title>{escape(bar.label)}: '
                     f'{bar.max_abs:.3g}</title></rect>')
        if bar.atol:
            x = log_x(bar.atol)
            parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + ROW - 2}" '
                         f'class="bound"/>')
    return "".join(parts) + "</svg>"


def op_chart(totals: Sequence[tuple[str, int, int]]) -> str:
    """Op count per artifact before (grey) and after (blue) the graph passes."""
    largest = max([max(before, after) for _, before, after in totals] + [1])
    height = TOP + ROW * 2 * len(totals) + 8
    parts = [svg_open(height, "Op count per artifact before and after the graph passes"),
             f'<text x="{LABEL}" y="16" class="axis">ops: grey before the graph passes, '
             f'blue after</text>']
    for row, (name, before, after) in enumerate(totals):
        y = TOP + row * 2 * ROW
        parts.append(f'<text x="{LABEL - 6}" y="{y + 18}" text-anchor="end" class="label">'
                     f'{escape(name)}</text>')
        for offset, count, colour in ((0, before, "#bdbdbd"), (ROW - 4, after, "#1565c0")):
            if not count:
                continue
            width = PLOT * count / largest
            parts.append(f'<rect x="{LABEL}" y="{y + offset}" width="{width:.1f}" '
                         f'height="{ROW - 6}" fill="{colour}"/><text x="{LABEL + width + 4:.1f}"'
                         f' y="{y + offset + 12}" class="axis">{count}</text>')
    return "".join(parts) + "</svg>"


def svg_open(height: int, title: str) -> str:
    """An <svg> that scales to the page width (phones included)."""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
            f'role="img" aria-label="{escape(title)}" class="chart"><title>{escape(title)}'
            f'</title>')
