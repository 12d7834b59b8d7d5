"""Plain SVG charts for docs/benchmarks.md: a line chart and a grouped bar chart.

Written by hand rather than with matplotlib: two chart kinds, a few dozen lines, and no plotting
stack to install for `make bench`. The output is deterministic text, so a changed figure shows
as a diff.
"""
from __future__ import annotations

from html import escape
from pathlib import Path

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 210, 40, 64
COLOURS = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df")


def _frame(title: str, y_label: str, y_max: float, ticks: int = 5) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="DejaVu Sans, sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{LEFT}" y="22" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<text x="14" y="{TOP + plot_h / 2}" transform="rotate(-90 14 {TOP + plot_h / 2})" '
           f'text-anchor="middle">{escape(y_label)}</text>']
    for i in range(ticks + 1):
        value = y_max * i / ticks
        y = TOP + plot_h - plot_h * i / ticks
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#ddd"/>')
        label = f"{value:.0f}" if y_max >= 10 else f"{value:.2f}"
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>')
    return out


def _legend(names: list[str]) -> list[str]:
    out = []
    for i, name in enumerate(names):
        y = TOP + 10 + i * 20
        out.append(f'<rect x="{WIDTH - RIGHT + 12}" y="{y - 9}" width="12" height="12" '
                   f'fill="{COLOURS[i % len(COLOURS)]}"/>')
        out.append(f'<text x="{WIDTH - RIGHT + 30}" y="{y + 1}">{escape(name)}</text>')
    return out


def line_chart(path: Path, title: str, x_label: str, y_label: str, xs: list[float],
               series: dict[str, list[float]]) -> None:
    """One line per series over the same xs (placed evenly: connection counts 1, 4, 16, 64)."""
    y_max = max(max(v) for v in series.values()) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(xs) - 1, 1)
    out = _frame(title, y_label, y_max)
    for i, x in enumerate(xs):
        out.append(f'<text x="{LEFT + i * step:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                   f'text-anchor="middle">{x:g}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 10}" text-anchor="middle">'
               f'{escape(x_label)}</text>')
    for n, (name, values) in enumerate(series.items()):
        colour = COLOURS[n % len(COLOURS)]
        points = " ".join(f"{LEFT + i * step:.1f},{TOP + plot_h - plot_h * v / y_max:.1f}"
                          for i, v in enumerate(values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, v in enumerate(values):
            out.append(f'<circle cx="{LEFT + i * step:.1f}" cy="{TOP + plot_h - plot_h * v / y_max:.1f}" '
                       f'r="3" fill="{colour}"/>')
    out += _legend(list(series))
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")


def bar_chart(path: Path, title: str, y_label: str, groups: list[str],
              series: dict[str, list[float]], y_max: float | None = None) -> None:
    """Bars side by side for each group (e.g. one group per degradation kind)."""
    y_max = y_max or max(max(v) for v in series.values()) * 1.1 or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    group_w = plot_w / len(groups)
    bar_w = group_w * 0.8 / len(series)
    out = _frame(title, y_label, y_max)
    for g, group in enumerate(groups):
        x0 = LEFT + g * group_w + group_w * 0.1
        for n, values in enumerate(series.values()):
            h = plot_h * values[g] / y_max
            out.append(f'<rect x="{x0 + n * bar_w:.1f}" y="{TOP + plot_h - h:.1f}" '
                       f'width="{bar_w:.1f}" height="{h:.1f}" fill="{COLOURS[n % len(COLOURS)]}"/>')
        cx = LEFT + g * group_w + group_w / 2
        out.append(f'<text x="{cx:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="end" font-size="10" '
                   f'transform="rotate(-35 {cx:.1f} {HEIGHT - BOTTOM + 14})">{escape(group)}</text>')
    out += _legend(list(series))
    out.append("</svg>")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
