"""The Atom feed parses, has what RFC 4287 requires, and escapes whatever people wrote."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from opsbook.statuspage.feed import ATOM, atom_feed
from tests.unit.status.factory import T0, incident, page

NS = {"a": ATOM}
BASE = "https://status.example.com"

# Characters XML 1.0 can carry (people's texts are already free of control characters).
xml_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("<>&\"'\n\t"),
    min_size=1,
    max_size=60,
).filter(lambda t: t.strip())


def parse(body: bytes) -> ET.Element:
    assert body.startswith(b"<?xml")
    return ET.fromstring(body)


def test_a_valid_feed_with_one_entry_per_incident_newest_first() -> None:
    feed = parse(
        atom_feed(
            page(active=(incident(2, "Slow search"),), past=(incident(1, resolved=True),)),
            BASE,
            T0,
        )
    )
    assert feed.tag == f"{{{ATOM}}}feed"
    for required in ("id", "title", "updated", "author/a:name"):
        assert feed.find(f"a:{required}", NS) is not None, required
    assert feed.findtext("a:id", namespaces=NS, default="").startswith("urn:uuid:")
    links = {link.get("rel"): link.get("href") for link in feed.findall("a:link", NS)}
    assert links == {"self": f"{BASE}/status/feed.atom", "alternate": f"{BASE}/status"}
    entries = feed.findall("a:entry", NS)
    assert [e.findtext("a:title", namespaces=NS) for e in entries] == [
        "Checkout errors",
        "Slow search",
    ]
    ids = {e.findtext("a:id", namespaces=NS) for e in entries}
    assert len(ids) == 2 and all(i and i.startswith("urn:uuid:") for i in ids)
    resolved = entries[0]
    assert resolved.findtext("a:updated", namespaces=NS) == "2026-11-23T13:00:00Z"
    assert feed.findtext("a:updated", namespaces=NS) == "2026-11-23T13:00:00Z"
    link = resolved.find("a:link", NS)
    assert link is not None and link.get("href") == f"{BASE}/status#incident-1"
    content = resolved.find("a:content", NS)
    assert content is not None and content.get("type") == "html"
    assert "Fixing." in (content.text or "")


def test_ids_are_stable_and_the_empty_feed_is_still_valid() -> None:
    first = parse(atom_feed(page(active=(incident(),)), BASE, T0))
    again = parse(atom_feed(page(active=(incident(),)), "http://other:8080", T0))
    assert first.findtext("a:entry/a:id", namespaces=NS) == again.findtext(
        "a:entry/a:id", namespaces=NS
    )
    empty = parse(atom_feed(page(), BASE, T0))
    assert empty.findall("a:entry", NS) == []
    assert datetime.fromisoformat(empty.findtext("a:updated", namespaces=NS, default="")) == T0


@given(xml_text, xml_text)
def test_any_title_and_update_survive_the_round_trip(title: str, text: str) -> None:
    feed = parse(atom_feed(page(active=(incident(title=title, text=text),)), BASE, T0))
    entry = feed.find("a:entry", NS)
    assert entry is not None
    assert entry.findtext("a:title", namespaces=NS) == title
    content = entry.findtext("a:content", namespaces=NS, default="")
    html = ET.fromstring(f"<div>{content}</div>")  # the html content is well-formed too
    assert {element.tag for element in html.iter()} <= {"div", "p", "strong", "small"}
    assert text in "".join(html.itertext())
