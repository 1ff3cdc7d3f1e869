"""The public status page over real HTTP, from a real engine and its store.

History: the public service `web` has results on the three days before today (75 %, 80 %,
50 % OK; two checks add up on the middle day), the private `ledger` has failures. An
incident on web and ledger has a public and a private update; an incident on ledger alone
is private as a whole; a resolved incident on web is past. `search` is in a maintenance
window right now; `web` has a one-off window in two days and a daily one.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import pytest_asyncio

from opsbook.checks.base import CheckResult
from opsbook.config.loader import load_config
from opsbook.incidents.model import IncidentStatus
from opsbook.incidents.service import IncidentDesk
from opsbook.status import Status
from opsbook.store import Store
from opsbook.store.uptime import UptimeRepository
from tests.integration.web.harness import Reply, Served, reserve_port, send, serving

pytestmark = [pytest.mark.asyncio(loop_scope="module")]

ATOM = {"a": "http://www.w3.org/2005/Atom"}
SVG = "{http://www.w3.org/2000/svg}"
CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:"
OK, WARN, CRIT = Status.OK, Status.WARNING, Status.CRITICAL

# (days before today, check, statuses) — a result a minute from 10:00 UTC.
HISTORY = [
    (3, "web-up", [OK, OK, CRIT, OK]),  # 3 of 4
    (2, "web-up", [OK, OK, OK]),
    (2, "web-api", [CRIT, OK]),  # with web-up: 4 of 5
    (1, "web-up", [WARN, OK]),  # 1 of 2, ending OK
    (2, "ledger-up", [CRIT, CRIT, CRIT]),
]
PRIVATE_WORDS = ("ledger", "alice", "bob", "db-7.internal", "Nightly reconciliation")


def config_text(public_url: str, now: datetime) -> str:
    def stamp(at: datetime) -> str:
        return at.isoformat()

    far_hour = (now.hour + 12) % 24  # never running while the tests do
    return f"""
project: {{name: shop, timezone: Europe/Berlin}}
services:
  - {{name: web, public: true, slo: 99.5, description: "Shop <script>alert('x')</script> front"}}
  - {{name: search, public: true, description: Product search}}
  - {{name: ledger, description: Nightly reconciliation}}
checks:
  - {{name: web-up, service: web, interval: 1h, command: {{argv: ["true"]}}}}
  - {{name: web-api, service: web, interval: 1h, command: {{argv: ["true"]}}}}
  - {{name: search-up, service: search, interval: 1h, command: {{argv: ["true"]}}}}
  - {{name: ledger-up, service: ledger, interval: 1h, command: {{argv: ["true"]}}}}
maintenance:
  - name: search-reindex
    description: Search index rebuild
    services: [search, ledger]
    start: "{stamp(now - timedelta(hours=1))}"
    end: "{stamp(now + timedelta(hours=1))}"
  - name: web-upgrade
    description: Web server upgrade
    services: [web, ledger]
    start: "{stamp(now + timedelta(days=2))}"
    end: "{stamp(now + timedelta(days=2, hours=2))}"
  - name: web-daily
    services: [web]
    schedule: "0 {far_hour} * * *"
    duration: 30m
    timezone: UTC
incidents:
  public_url: "{public_url}"
  reminders: false
"""


def prepare(path: Path, now: datetime) -> None:
    """History, roll-ups and incidents in the database the server will open."""
    config = load_config(path, environ={})
    today = datetime.combine(now.date(), time(), UTC)
    with Store.open(f"sqlite:///{path.with_suffix('.db')}") as store:
        results = [
            CheckResult(check, check.split("-")[0], status, "db-7.internal refused", at, 0.01, {})
            for days, check, statuses in HISTORY
            for i, status in enumerate(statuses)
            for at in [today - timedelta(days=days) + timedelta(hours=10, minutes=i)]
        ]
        store.results.record(results)
        store.rollups.roll_minutes(now, max_span=timedelta(days=5))
        for _ in range(6):  # one day per call
            store.rollups.roll_hours(now)
        desk = IncidentDesk(config, store)
        outage = desk.declare(
            title="Checkout <b>errors</b>", severity="P1", services=["web", "ledger"], actor="alice"
        ).incident
        desk.post_update(outage.id, "We are rolling back the <i>release</i>.", "alice")
        desk.post_update(outage.id, "db-7.internal is swapping", "alice", public=False)
        desk.set_status(outage.id, IncidentStatus.IDENTIFIED, "bob")
        desk.declare(
            title="Nightly reconciliation late", severity="P3", services=["ledger"], actor="bob"
        )
        past = desk.declare(
            title="Slow product pages", severity="P2", services=["web"], actor="bob"
        )
        desk.resolve(past.incident.id, "bob", "Caches warmed again.")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Served]:
    directory = tmp_path_factory.mktemp("status")
    port, public = reserve_port()
    path = directory / "opsbook.yaml"
    now = datetime.now(UTC)
    path.write_text(config_text(public, now))
    prepare(path, now)
    async with serving(path, port) as server:
        yield server


async def get(served: Served, path: str, **headers: str) -> Reply:
    reply = await send("GET", served.url(path), headers=headers)
    assert reply.status in (200, 304), reply.text[:500]
    assert reply.headers["content-security-policy"] == CSP
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert reply.headers["cache-control"] == "public, max-age=10"
    return reply


def day(days_ago: int) -> str:
    return (datetime.now(UTC).date() - timedelta(days=days_ago)).isoformat()


async def test_the_page_shows_public_components_their_bars_and_nothing_private(
    served: Served,
) -> None:
    reply = await get(served, "/status")
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    page = reply.text
    assert "<script" not in page
    assert "Shop &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; front" in page
    for word in PRIVATE_WORDS:
        assert word not in page, word
    assert 'id="component-web"' in page and 'id="component-search"' in page
    bars = re.findall(r'<li class="bar bar-([a-z_]+)" title="([^"]+)"', page)
    assert len(bars) == 2 * 90
    web = dict((title.split(":")[0], (level, title)) for level, title in bars[:90])
    assert web[day(3)] == ("down", f"{day(3)}: 75% (3 of 4 check results OK)")
    assert web[day(2)] == ("down", f"{day(2)}: 80% (4 of 5 check results OK)")
    assert web[day(1)] == ("down", f"{day(1)}: 50% (1 of 2 check results OK)")
    assert web[day(4)] == ("no_data", f"{day(4)}: no data")
    assert "72.72% uptime · SLO 99.5% (missed)" in page  # 8 of 11
    assert all(level == "no_data" for level, _ in bars[90:])


async def test_incidents_show_their_public_updates_only(served: Served) -> None:
    page = (await get(served, "/status")).text
    active = page[page.index('id="active"') : page.index('id="components"')]
    assert "Checkout &lt;b&gt;errors&lt;/b&gt;" in active
    assert "We are rolling back the &lt;i&gt;release&lt;/i&gt;." in active
    assert "Status changed to identified." in active
    assert "swapping" not in page
    past = page[page.index('id="past"') :]
    assert "Slow product pages" in past and "Caches warmed again." in past


async def test_maintenance_in_progress_and_scheduled(served: Served) -> None:
    page = (await get(served, "/status")).text
    search = page[page.index('id="component-search"') :]
    assert 'class="badge status-under_maintenance">Under maintenance<' in search
    now_section = page[page.index('id="maintenance-now"') : page.index('id="active"')]
    assert "Search index rebuild" in now_section
    scheduled = page[page.index('id="scheduled"') : page.index('id="past"')]
    assert "Web server upgrade" in scheduled and "web-daily" in scheduled


async def test_the_json_has_the_same_data(served: Served) -> None:
    reply = await get(served, "/status.json")
    assert reply.headers["content-type"] == "application/json"
    text = reply.text
    for word in PRIVATE_WORDS:
        assert word not in text, word
    data = reply.json()
    assert data["name"] == "shop"
    assert data["status"]["indicator"] == "under_maintenance"
    web, search = data["components"]
    assert (web["name"], web["status"], web["slo"]) == ("web", "operational", 99.5)
    assert search["status"] == "under_maintenance"
    days = {d["date"]: d for d in web["uptime"]["days"]}
    assert (days[day(3)]["ok"], days[day(3)]["total"], days[day(3)]["percent"]) == (3, 4, 75.0)
    assert days[day(2)]["percent"] == 80.0 and days[day(1)]["percent"] == 50.0
    assert days[day(4)] == {
        "date": day(4),
        "percent": None,
        "ok": 0,
        "total": 0,
        "level": "no_data",
    }
    assert (web["uptime"]["ok"], web["uptime"]["total"]) == (8, 11)
    assert web["uptime"]["meets_slo"] is False
    [active] = data["incidents"]["active"]
    assert active["components"] == ["web"] and active["status"] == "identified"
    assert [u["text"] for u in active["updates"]] == [
        "Status changed to identified.",
        "We are rolling back the <i>release</i>.",
        "We are investigating this issue.",
    ]
    [past] = data["incidents"]["past"]
    assert past["status"] == "resolved" and past["updates"][0]["text"] == "Caches warmed again."
    assert [m["name"] for m in data["maintenance"]["in_progress"]] == ["search-reindex"]
    assert data["maintenance"]["in_progress"][0]["components"] == ["search"]
    assert {m["name"] for m in data["maintenance"]["scheduled"]} == {"web-upgrade", "web-daily"}


async def test_etag_304_and_head(served: Served) -> None:
    for path in ("/status", "/status.json", "/status/feed.atom", "/status/badge/web.svg"):
        first = await get(served, path)
        etag = first.headers["etag"]
        assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
        again = await get(served, path, **{"If-None-Match": etag})
        assert (again.status, again.body, again.headers["etag"]) == (304, b"", etag)
        stale = await get(served, path, **{"If-None-Match": '"something-else"'})
        assert stale.status == 200 and stale.body == first.body
        head = await send("HEAD", served.url(path))
        assert (head.status, head.body, head.headers["etag"]) == (200, b"", etag)
        assert head.headers["content-length"] == str(len(first.body))


async def test_the_stylesheet_is_served_locally(served: Served) -> None:
    page = (await get(served, "/status")).text
    [href] = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert href.startswith("status/status.css?v=")
    reply = await send("GET", served.url("/" + href))
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/css")
    assert ".bar-up" in reply.text
    assert "http" not in re.sub(r"/\*.*?\*/", "", reply.text, flags=re.S)


async def test_the_atom_feed_parses(served: Served) -> None:
    reply = await get(served, "/status/feed.atom")
    assert reply.headers["content-type"] == "application/atom+xml"
    for word in PRIVATE_WORDS:
        assert word not in reply.text, word
    feed = ET.fromstring(reply.body)
    assert feed.findtext("a:id", namespaces=ATOM, default="").startswith("urn:uuid:")
    assert feed.findtext("a:title", namespaces=ATOM) == "shop status"
    entries = feed.findall("a:entry", ATOM)
    titles = [e.findtext("a:title", namespaces=ATOM, default="") for e in entries]
    assert sorted(titles) == ["Checkout <b>errors</b>", "Slow product pages"]
    updated = [
        datetime.fromisoformat(e.findtext("a:updated", namespaces=ATOM, default=""))
        for e in entries
    ]
    assert feed.findtext("a:updated", namespaces=ATOM) == entries[0].findtext(
        "a:updated", namespaces=ATOM
    )
    assert updated == sorted(updated, reverse=True)
    checkout = entries[titles.index("Checkout <b>errors</b>")]
    content = checkout.findtext("a:content", namespaces=ATOM, default="")
    assert "We are rolling back the &lt;i&gt;release&lt;/i&gt;." in content
    assert "swapping" not in content


async def test_badges(served: Served) -> None:
    reply = await get(served, "/status/badge/web.svg")
    assert reply.headers["content-type"] == "image/svg+xml"
    svg = ET.fromstring(reply.body)
    assert [t.text for t in svg.iter(f"{SVG}text")] == ["web", "operational"]
    search = ET.fromstring((await get(served, "/status/badge/search.svg")).body)
    assert [t.text for t in search.iter(f"{SVG}text")] == ["search", "under maintenance"]
    for hidden in ("ledger", "nothing", "%3Cscript%3E"):
        missing = await send("GET", served.url(f"/status/badge/{hidden}.svg"))
        missing.problem(404)
        assert missing.headers["content-security-policy"] == CSP
        assert "script" not in missing.text


async def test_daily_counts_join_hours_and_minutes_without_double_counting(
    store_url: str,
) -> None:
    """Results every 10 minutes for 30 hours across a day boundary; after each step of the
    hour roll-up the daily counts equal the raw counts: hours where rolled, minutes after."""
    t0 = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    with Store.open(store_url) as store:
        results: list[CheckResult] = []
        expected: dict[date, tuple[int, int]] = {}
        for i in range(180):
            at = t0 + timedelta(minutes=10 * i)
            for check in ("web-up", "other"):
                status = CRIT if i % 7 == 0 else OK
                results.append(CheckResult(check, "web", status, "", at, 0.01, {"latency": 1.0}))
                if check == "web-up":
                    ok, total = expected.get(at.date(), (0, 0))
                    expected[at.date()] = (ok + (status is OK), total + 1)
        store.results.record(results)
        end = t0 + timedelta(hours=31)
        while store.rollups.roll_minutes(end, max_span=timedelta(days=2)):
            pass
        repository = UptimeRepository(store.engine)
        start, stop = t0 - timedelta(days=1), t0 + timedelta(days=3)
        want = {("web-up", d): counts for d, counts in expected.items()}
        assert repository.daily(["web-up"], start, stop) == want  # minutes only
        for hours in (3, 5, 20, 31):
            store.rollups.roll_hours(t0 + timedelta(hours=hours))
            assert repository.daily(["web-up"], start, stop) == want, hours
        assert repository.daily([], start, stop) == {}
        whole_day = date(2026, 11, 23)
        assert repository.daily(["web-up"], datetime.combine(whole_day, time(), UTC), stop) == {
            key: counts for key, counts in want.items() if key[1] >= whole_day
        }
