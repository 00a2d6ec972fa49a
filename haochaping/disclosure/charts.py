"""Server-rendered inline SVG charts for the public pages: no script, a few hundred bytes per month.

Each chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` that says in words what it shows; the page
always gives the same figures in a table next to it (the chart is hidden in elderly mode). Suppressed months
(fewer than k ratings) are drawn as a gap with no bar and no point.
"""

from __future__ import annotations

from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 48, 16, 36
BAR = "#8cb4e6"  # 评价数 bars (decoration: the values are in the table)
LINE = "#116329"  # 好评率 line: dark green, 3:1+ against white
BAD_LINE = "#a40e26"


def _nice_max(n: int) -> int:
    if n <= 10:
        return 10
    magnitude = 10 ** (len(str(n)) - 1)
    for step in (1, 2, 5, 10):
        if n <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def trend_svg(rows: list[dict[str, Any]], *, chart_id: str, caption: str) -> SafeString:
    """Bars of 评价数 per month (left axis) with lines of 好评率 and 差评率 (right axis, 0–100%).

    ``rows``: the trend rows of ``portal._trend`` (name = "YYYY-MM", fig = figures or None when suppressed)."""
    n = len(rows)
    if not n:
        return mark_safe("")
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / n
    top_count = _nice_max(max([r["fig"]["counted"] for r in rows if r["fig"]] or [0]))
    parts: list[str] = []
    for frac in (0, 0.5, 1):
        y = TOP + plot_h * (1 - frac)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#d0d7de"/>')
        parts.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">{int(top_count * frac):,}</text>')
        parts.append(f'<text x="{WIDTH - RIGHT + 4}" y="{y + 4:.1f}">{int(frac * 100)}%</text>')
    good_pts: list[str] = []
    bad_pts: list[str] = []
    label_every = 1 if n <= 12 else 2
    for i, row in enumerate(rows):
        x = LEFT + step * i
        cx = x + step / 2
        if i % label_every == 0:
            parts.append(f'<text x="{cx:.1f}" y="{HEIGHT - 14}" text-anchor="middle">{escape(row["name"][2:])}</text>')
        fig = row["fig"]
        if not fig:
            continue
        h = plot_h * fig["counted"] / top_count if top_count else 0
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{TOP + plot_h - h:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}" '
            f'fill="{BAR}"/>'
        )
        if fig["good_rate"] is not None:
            good_pts.append(f"{cx:.1f},{TOP + plot_h * (1 - fig['good_rate']):.1f}")
        if fig["bad_rate"] is not None:
            bad_pts.append(f"{cx:.1f},{TOP + plot_h * (1 - fig['bad_rate']):.1f}")
    for pts, colour, dash in ((good_pts, LINE, ""), (bad_pts, BAD_LINE, ' stroke-dasharray="6 4"')):
        if len(pts) > 1:
            parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{colour}" stroke-width="2.5"{dash}/>')
        for p in pts:
            x, y = p.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
    shown = [r for r in rows if r["fig"]]
    if shown:
        first, last = shown[0], shown[-1]
        desc = _(
            "柱为每月评价数（左轴），实线为好评率、虚线为差评率（右轴）。%(a)s 好评率 %(g1)s，%(b)s 好评率 %(g2)s。"
        ) % {
            "a": first["name"],
            "g1": first["fig"]["good_rate_text"],
            "b": last["name"],
            "g2": last["fig"]["good_rate_text"],
        }
    else:
        desc = _("各月样本不足，未绘制。")
    desc += " " + _("数据见下表。")
    svg = (
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'font-size="12" fill="#24292f" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{chart_id}-t">{escape(caption)}</title><desc id="{chart_id}-d">{escape(desc)}</desc>'
        + "".join(parts)
        + "</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - built from numbers and escaped texts only
