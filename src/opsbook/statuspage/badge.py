"""An SVG status badge ("api | operational") in the flat style READMEs use. Pure.

Text widths are estimated from a small table of Verdana advance widths at 11 px, and
each text carries `textLength`, so a renderer fits the text into exactly the box drawn
for it whatever font it really has. Every text is XML-escaped.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from opsbook.statuspage.model import ComponentStatus

COLOURS = {
    ComponentStatus.OPERATIONAL: "#2e7d32",
    ComponentStatus.MAINTENANCE: "#1565c0",
    ComponentStatus.DEGRADED: "#b26a00",
    ComponentStatus.PARTIAL_OUTAGE: "#d84315",
    ComponentStatus.MAJOR_OUTAGE: "#c62828",
}
LABEL_COLOUR = "#555"
PADDING = 6  # on each side of a text
HEIGHT = 20

_NARROW = set("fijlrtI!.,:;'|()[] ")
_WIDE = set("mwMW%@")


def text_width(text: str) -> int:
    """Approximate width in pixels of `text` in Verdana 11 px."""
    width = 0.0
    for char in text:
        if char in _NARROW:
            width += 3.9
        elif char in _WIDE:
            width += 10.7
        elif char.isupper() or char.isdigit():
            width += 7.6
        else:
            width += 6.9
    return max(1, round(width))


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def badge_svg(label: str, status: ComponentStatus) -> str:
    value = status.label.lower()
    label_w = text_width(label) + 2 * PADDING
    value_w = text_width(value) + 2 * PADDING
    total = label_w + value_w
    colour = COLOURS[status]
    title = f"{label}: {value}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{HEIGHT}" '
        f'role="img" aria-label="{_attr(title)}">'
        f"<title>{escape(title)}</title>"
        '<linearGradient id="s" x2="0" y2="100%">'
        '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/>'
        '<stop offset="1" stop-opacity=".1"/></linearGradient>'
        f'<clipPath id="r"><rect width="{total}" height="{HEIGHT}" rx="3" fill="#fff"/>'
        "</clipPath>"
        '<g clip-path="url(#r)">'
        f'<rect width="{label_w}" height="{HEIGHT}" fill="{LABEL_COLOUR}"/>'
        f'<rect x="{label_w}" width="{value_w}" height="{HEIGHT}" fill="{colour}"/>'
        f'<rect width="{total}" height="{HEIGHT}" fill="url(#s)"/></g>'
        '<g fill="#fff" text-anchor="middle" '
        'font-family="Verdana,Geneva,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{label_w / 2:g}" y="14" textLength="{label_w - 2 * PADDING}">'
        f"{escape(label)}</text>"
        f'<text x="{label_w + value_w / 2:g}" y="14" textLength="{value_w - 2 * PADDING}">'
        f"{escape(value)}</text></g></svg>"
    )
