"""Charts drawn on the server as SVG: no chart script in the browser, and a screen reader gets
the same figures from the table each chart carries."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from api.console.kpis import Bar

BAR_COLOUR = "#2f5233"
MUTED = "#5d665f"


def bar_chart(bars: list[Bar], *, title: str, width: int = 540) -> Markup:
    """Horizontal bars, labels on the left, values at the end of each bar."""
    if not bars or not any(b.value for b in bars):
        return Markup('<p class="empty">None in this period.</p>')
    row, label_w, value_w = 26, 180, 48
    height = row * len(bars) + 8
    top = max((b.value for b in bars), default=0) or 1
    span = width - label_w - value_w
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet">'
    ]
    for i, bar in enumerate(bars):
        y = 4 + i * row
        w = max(2.0, span * bar.value / top) if bar.value else 0
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end" fill="{MUTED}"'
            f' font-size="13">{escape(bar.label)}</text>'
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row - 10}" rx="3"'
            f' fill="{BAR_COLOUR}"></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 17}" font-size="13"'
            f' fill="#1f2421">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(bars: list[Bar], *, title: str, width: int = 860, height: int = 170) -> Markup:
    """Vertical columns over time, with a label every few columns."""
    if not bars:
        return Markup('<p class="empty">None in this period.</p>')
    bottom, left, right = 22, 28, 24
    inner_h = height - bottom - 8
    top = max((b.value for b in bars), default=0) or 1
    step = (width - left - right) / len(bars)
    every = max(1, len(bars) // 10)
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}"'
        f' width="100%" preserveAspectRatio="xMinYMin meet">',
        f'<line x1="{left}" y1="{8 + inner_h}" x2="{width}" y2="{8 + inner_h}" stroke="#e4e2da"/>',
        f'<text x="{left - 6}" y="16" text-anchor="end" font-size="11" fill="{MUTED}">'
        f"{top:.0f}</text>",
    ]
    for i, bar in enumerate(bars):
        h = inner_h * bar.value / top
        x = left + i * step
        parts.append(
            f'<rect x="{x + step * 0.15:.1f}" y="{8 + inner_h - h:.1f}" width="{step * 0.7:.1f}"'
            f' height="{h:.1f}" rx="2" fill="{BAR_COLOUR}"><title>{escape(bar.label)}: '
            f"{escape(bar.text)}</title></rect>"
        )
        last = len(bars) - 1
        if (i % every == 0 and last - i >= every / 2) or i == last:
            parts.append(
                f'<text x="{x + step / 2:.1f}" y="{height - 6}" text-anchor="middle"'
                f' font-size="11" fill="{MUTED}">{escape(bar.label)}</text>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))
