"""The session page's chart of tokens per model call: an inline SVG drawn on the server (no
script, no build step), input tokens below output tokens in each bar. A session with more
calls than :data:`MAX_BARS` gets one bar per group of consecutive calls (their sum). Each bar
links to the page holding its call and says its figures in a tooltip."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from html import escape

__all__ = ["MAX_BARS", "tokens_chart"]

MAX_BARS = 300
WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 900, 180, 48, 20, 10


def tokens_chart(turns: Sequence[tuple[int, int, float | None]], link: Callable[[int], str]) -> str:
    """SVG for ``turns``, ``(input_tokens, output_tokens, seconds or None)`` per model call in
    order; ``link(i)`` is the URL of call ``i`` (0-based). Empty when there are no calls."""
    if not turns:
        return ""
    group = max(1, math.ceil(len(turns) / MAX_BARS))
    bars = []
    for start in range(0, len(turns), group):
        chunk = turns[start : start + group]
        timed = [t[2] for t in chunk if t[2] is not None]
        seconds = sum(timed) if timed else None
        bars.append((start, len(chunk), sum(t[0] for t in chunk), sum(t[1] for t in chunk), seconds))
    peak = max((b[2] + b[3] for b in bars), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    step = plot_w / len(bars)
    width = max(step * 0.8, 0.5)
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title" '
        'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">Tokens per model call ({len(turns)} calls'
        + (f", {group} per bar" if group > 1 else "")
        + ")</title>",
        f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - 4}" y2="{TOP + plot_h}"/>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + 8}" text-anchor="end">{peak:,}</text>',
        f'<text class="tick" x="{LEFT - 6}" y="{TOP + plot_h}" text-anchor="end">0</text>',
    ]
    for n, (start, count, tin, tout, seconds) in enumerate(bars):
        x = LEFT + n * step + (step - width) / 2
        h_in, h_out = plot_h * tin / peak, plot_h * tout / peak
        label = f"call {start + 1}" if count == 1 else f"calls {start + 1}-{start + count}"
        took = f", {seconds:.2f} s" if seconds is not None else ""
        out.append(
            f'<a class="bar" href="{escape(link(start))}"><title>{label}: {tin:,} input + {tout:,} output tokens{took}'
            "</title>"
            f'<rect class="in" x="{x:.2f}" y="{TOP + plot_h - h_in:.2f}" width="{width:.2f}" height="{h_in:.2f}"/>'
            f'<rect class="out" x="{x:.2f}" y="{TOP + plot_h - h_in - h_out:.2f}" width="{width:.2f}" '
            f'height="{h_out:.2f}"/></a>'
        )
    last = bars[-1][0] + bars[-1][1]
    out.append(f'<text class="tick" x="{LEFT}" y="{HEIGHT - 4}">1</text>')
    out.append(f'<text class="tick" x="{WIDTH - 4}" y="{HEIGHT - 4}" text-anchor="end">{last}</text>')
    out.append("</svg>")
    return "".join(out)
