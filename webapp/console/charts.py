"""Bar charts drawn as inline SVG on the server: no chart library, no script, nothing to load
from anywhere, readable when printed. The template draws what this computes."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT = 320, 150
LEFT, BOTTOM, TOP = 28, 18, 8  # room for the scale and the week labels


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str  # a CSS class: a, b, c
    name: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the scale's lines
    labels: list[tuple[float, str]]  # (x, text) under each group
    legend: list[tuple[str, str, int]]  # (name, series, latest value)
    left: int = LEFT
    bottom: float = HEIGHT - BOTTOM


def nice_top(peak: int) -> int:
    scale = 1
    while True:
        for step in (1, 2, 5):
            if step * scale >= peak:
                return step * scale
        scale *= 10


def bar_chart(labels: list[str], series: list[tuple[str, list[int], str]]) -> Chart:
    """Grouped bars: one group per label, one bar per series."""
    top = nice_top(max([1, *(v for _, values, _ in series for v in values)]))
    plot_h = HEIGHT - BOTTOM - TOP
    group = (WIDTH - LEFT) / len(labels)
    bar_w = (group - 6) / len(series)
    bars = []
    for i, label in enumerate(labels):
        for j, (name, values, css) in enumerate(series):
            h = plot_h * values[i] / top
            bars.append(
                Bar(LEFT + i * group + 3 + j * bar_w, HEIGHT - BOTTOM - h, bar_w - 1, h, values[i], css, name, label)
            )
    ticks = [(HEIGHT - BOTTOM - plot_h * f, int(top * f)) for f in (0, 0.5, 1) if float(top * f).is_integer()]
    return Chart(
        WIDTH,
        HEIGHT,
        bars,
        ticks,
        [(LEFT + i * group + group / 2, l) for i, l in enumerate(labels)],
        [(name, css, values[-1]) for name, values, css in series],
    )
