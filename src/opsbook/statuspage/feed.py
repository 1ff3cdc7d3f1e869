"""The status page's incidents as an Atom feed (RFC 4287). Pure.

One entry per incident shown on the page (active, and resolved in the last 14 days), its
content the public updates, newest first. Ids are `urn:uuid:` values derived from the
project name and the incident number, so they stay the same however the page is reached.
The document is built as an element tree, so the serialiser escapes every text.
"""

from __future__ import annotations

import html
import uuid
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from opsbook.statuspage.incidents import status_word
from opsbook.statuspage.model import PublicIncident, StatusPage

ATOM = "http://www.w3.org/2005/Atom"


def _stamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def feed_id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"opsbook:status:{name}")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def _content(parent: ET.Element, incident: PublicIncident) -> None:
    """The updates as HTML (`type="html"`: escaped once here for HTML, once more by the
    XML serialiser)."""
    lines = [
        f"<p>Affects: {html.escape(', '.join(incident.components))}. "
        f"Status: {status_word(incident.status).lower()}.</p>"
    ]
    lines += [
        f"<p><strong>{status_word(u.status)}</strong> <small>({_stamp(u.at)})</small> "
        f"{html.escape(u.text)}</p>"
        for u in incident.updates
    ]
    _add(parent, "content", "\n".join(lines), type="html")


def atom_feed(page: StatusPage, base_url: str, updated_when_empty: datetime) -> bytes:
    """The feed; `base_url` is where people reach the engine (links are absolute), and
    `updated_when_empty` is the feed's `updated` when it has no entries."""
    incidents = sorted(
        [*page.active_incidents, *page.past_incidents],
        key=lambda i: (i.updated_at, i.id),
        reverse=True,
    )
    namespace = feed_id(page.name)
    root = ET.Element("feed", xmlns=ATOM)  # the default namespace of every element
    _add(root, "id", namespace.urn)
    _add(root, "title", f"{page.name} status")
    _add(root, "subtitle", "Incidents and their public updates")
    updated = incidents[0].updated_at if incidents else updated_when_empty
    _add(root, "updated", _stamp(updated))
    _add(root, "link", rel="self", type="application/atom+xml", href=f"{base_url}/status/feed.atom")
    _add(root, "link", rel="alternate", type="text/html", href=f"{base_url}/status")
    author = _add(root, "author")
    _add(author, "name", page.name)
    _add(root, "generator", "opsbook")
    for incident in incidents:
        entry = _add(root, "entry")
        _add(entry, "id", uuid.uuid5(namespace, f"incident:{incident.id}").urn)
        _add(entry, "title", incident.title)
        _add(entry, "updated", _stamp(incident.updated_at))
        _add(entry, "published", _stamp(incident.started_at))
        _add(
            entry,
            "link",
            rel="alternate",
            type="text/html",
            href=f"{base_url}/status#incident-{incident.id}",
        )
        _content(entry, incident)
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body
