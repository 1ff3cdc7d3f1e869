"""Badges are well-formed SVG with the text escaped and the status's colour."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from opsbook.statuspage.badge import COLOURS, badge_svg, text_width
from opsbook.statuspage.model import ComponentStatus

SVG = "{http://www.w3.org/2000/svg}"


def test_a_badge_reads_service_then_status_in_the_status_colour() -> None:
    svg = ET.fromstring(badge_svg("api", ComponentStatus.PARTIAL_OUTAGE))
    assert svg.tag == f"{SVG}svg"
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["api", "partial outage"]
    assert svg.get("aria-label") == "api: partial outage"
    fills = {rect.get("fill") for rect in svg.iter(f"{SVG}rect")}
    assert COLOURS[ComponentStatus.PARTIAL_OUTAGE] in fills
    widths = [int(rect.get("width", "0")) for rect in svg.iter(f"{SVG}rect")][1:3]
    assert int(svg.get("width", "0")) == sum(widths)


def test_longer_texts_make_wider_badges() -> None:
    assert text_width("payments-gateway") > text_width("api") > 0
    narrow = ET.fromstring(badge_svg("api", ComponentStatus.OPERATIONAL))
    wide = ET.fromstring(badge_svg("payments-gateway", ComponentStatus.OPERATIONAL))
    assert int(wide.get("width", "0")) > int(narrow.get("width", "0"))


@given(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("<>&\"'"),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(list(ComponentStatus)),
)
def test_any_label_is_escaped(label: str, status: ComponentStatus) -> None:
    svg = ET.fromstring(badge_svg(label, status))  # parses: nothing broke out of the text
    assert [t.text for t in svg.iter(f"{SVG}text")] == [label, status.label.lower()]
    assert svg.get("aria-label") == f"{label}: {status.label.lower()}"
    assert {child.tag for child in svg} == {
        f"{SVG}title",
        f"{SVG}linearGradient",
        f"{SVG}clipPath",
        f"{SVG}g",
    }
