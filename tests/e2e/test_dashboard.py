"""The dashboard in real Chromium against a real `opsbook serve` and the demo API.

Timeline of `test_outage_from_the_dashboard`: the API is healthy → it goes down → the
check turns red on the overview (which refreshes itself) and api-down fires → the
incident opens → acknowledged from its page → the API recovers → the timeline shows
"monitoring" without a reload (Server-Sent Events) → a playbook runs from the incident
with a parameter and its output streams line by line → its manual step is confirmed →
a public status update, then resolved → the postmortem → /status, signed out, shows the
incident and the uptime bars. Every page is photographed at desktop (1280×800) and
phone (390×844) widths into artifacts/screenshots/.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from opsbook.demo.target import running_target
from opsbook.incidents.model import IncidentStatus
from opsbook.store import Store
from tests.e2e.scenario import ADMIN, PASSWORD, VIEWER, add_user, config_text
from tests.integration.engine.harness import ServeProcess, eventually, set_mode
from tests.services import services_required

try:
    from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect
except ImportError:  # skipped locally; on CI (OPSBOOK_REQUIRE_SERVICES=1) a failure
    if services_required():
        raise
    pytest.skip("Playwright is not installed (pip install -e '.[dev]')", allow_module_level=True)

DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
WAIT = 30_000  # ms: what the engine needs to notice, judge and write, with room to spare


@dataclass
class Shop:
    base: str
    target: str
    config: Path
    store: Store


@asynccontextmanager
async def shop(tmp_path: Path) -> AsyncIterator[Shop]:
    path = tmp_path / "opsbook.yaml"
    async with running_target() as target:
        serve = ServeProcess(path)
        base = f"http://127.0.0.1:{serve.port}"
        path.write_text(config_text(target, base))
        add_user(path, ADMIN, "admin")
        add_user(path, VIEWER, "viewer")
        await serve.start()
        store = Store.open(f"sqlite:///{path.with_suffix('.db')}")
        try:
            yield Shop(base, target, path, store)
        finally:
            store.close()
            await serve.stop()


async def signed_in(browser: Browser, base: str, name: str, **options: object) -> BrowserContext:
    context = await browser.new_context(base_url=base, **options)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto("/")
    await expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await page.close()
    return context


class Camera:
    """Photographs the desktop page, and the same address in a phone-sized window."""

    def __init__(self, phone: BrowserContext, folder: Path) -> None:
        self.phone = phone
        self.folder = folder

    async def shoot(self, page: Page, name: str) -> None:
        await page.screenshot(path=self.folder / f"{name}-desktop.png", full_page=True)
        small = await self.phone.new_page()
        try:
            await small.goto(page.url)
            await small.wait_for_load_state("networkidle", timeout=5000)
            await small.screenshot(path=self.folder / f"{name}-phone.png", full_page=True)
            width = await small.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"{name}: {width}px wide on a 390px phone"
        finally:
            await small.close()


async def nav(page: Page, name: str) -> None:
    await page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def incident(store: Store, number: int) -> IncidentStatus | None:
    found = store.incidents.get(number)
    return found.status if found else None


async def test_outage_from_the_dashboard(
    browser: Browser, tmp_path: Path, screenshots: Path
) -> None:
    async with shop(tmp_path) as s:
        desk = await signed_in(browser, s.base, ADMIN, viewport=DESKTOP)
        phone = await signed_in(browser, s.base, ADMIN, viewport=PHONE, is_mobile=True)
        camera = Camera(phone, screenshots)
        page = await desk.new_page()
        console: list[str] = []
        page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)

        # Healthy, then down: the overview turns red by itself and the alert shows up.
        await page.goto("/")
        api = page.locator("#service-api")
        await expect(api).to_contain_text("Operational", timeout=WAIT)
        await camera.shoot(page, "overview-healthy")
        await set_mode(s.target, "down")
        await expect(api).to_have_class(re.compile(r"\btone-bad\b"), timeout=WAIT)
        await expect(api).to_contain_text("critical")
        firing = page.locator("section[aria-labelledby=alerts-h]")
        await expect(firing).to_contain_text("api-down", timeout=WAIT)
        await expect(page.locator("section[aria-labelledby=incidents-h]")).to_contain_text(
            "API Service Down", timeout=WAIT
        )
        await camera.shoot(page, "overview-outage")

        await page.get_by_role("link", name="api-health").click()
        await expect(page.get_by_role("heading", name="api-health")).to_be_visible()
        await expect(page.locator("svg.uptime-bars rect")).to_have_count(90)
        await expect(page.locator("table.results")).to_contain_text("critical")
        await page.get_by_role("link", name="1h", exact=True).click()
        await expect(page.locator("svg.chart-plot path.p95").first).to_be_attached()
        await camera.shoot(page, "check")

        # Alerts: filtered list, then a silence prefilled from the alert's labels.
        await nav(page, "Alerts")
        await expect(page.locator("table.alerts")).to_contain_text("api-down")
        await page.get_by_label("Severity").select_option("P1")
        await expect(page).to_have_url(re.compile(r"severity=P1"))
        await camera.shoot(page, "alerts")
        await page.get_by_role("link", name="Silence api-down").click()
        await expect(page.get_by_label('alertname="api-down"')).to_be_checked()
        await camera.shoot(page, "silence")
        await page.get_by_label("Why").fill("known outage, working on it")
        await page.get_by_role("button", name="Create silence").click()
        silences = page.locator("section[aria-labelledby=silences-h]")
        await expect(silences).to_contain_text("known outage, working on it")
        await silences.get_by_role("button", name=re.compile("^Expire")).click()
        await expect(silences).not_to_contain_text("known outage", timeout=WAIT)

        # The incident: acknowledge, then watch it calm down without reloading.
        await eventually(lambda: incident(s.store, 1) is not None, timeout=WAIT / 1000)
        await nav(page, "Incidents")
        await camera.shoot(page, "incidents")
        await page.get_by_role("link", name="API Service Down").click()
        await expect(page).to_have_url(re.compile(r"/incidents/1$"))
        head = page.locator("#incident-head")
        await expect(head).to_contain_text("not acknowledged")
        await expect(page.locator("[data-stream-state]")).to_have_text("live")
        await page.evaluate("window.__notReloaded = true")
        await head.get_by_role("button", name="Acknowledge").click()
        await expect(head).to_contain_text(f"Acknowledged by {ADMIN} (via web)")
        timeline = page.locator("#timeline")
        await expect(timeline).to_contain_text(f"Acknowledged by {ADMIN}")
        await set_mode(s.target, "healthy")
        await expect(timeline).to_contain_text("→ monitoring", timeout=WAIT)
        await expect(head).to_contain_text("monitoring")
        assert await page.evaluate("window.__notReloaded === true"), "the page was reloaded"
        await camera.shoot(page, "incident")

        # A playbook with a parameter, from the incident; its output streams in.
        await page.locator("details.playbook summary").first.click()
        await page.get_by_label("reason").fill("disk full on api-1")
        await page.get_by_role("button", name="Run restart-api").click()
        await expect(page).to_have_url(re.compile(r"/runs/\d+$"))
        output = page.locator("#out-0")
        await expect(output).to_contain_text("restarting: disk full on api-1 (soft)")
        await expect(output).to_contain_text("waiting for the API (1/4)")
        assert "API restarted" not in await output.inner_text(), "output came all at once"
        await expect(page.locator("#step-0")).to_contain_text("running")
        await expect(output).to_contain_text("API restarted", timeout=WAIT)
        await expect(page.locator("#run-head")).to_contain_text("waiting", timeout=WAIT)
        await camera.shoot(page, "run-waiting")
        await page.get_by_role("button", name=re.compile("^Confirm")).click()
        await expect(page.locator("#run-head")).to_contain_text("succeeded", timeout=WAIT)
        await expect(page.locator("#step-1")).to_contain_text(f"Confirmed by {ADMIN}")
        await camera.shoot(page, "run")
        await nav(page, "Runs")
        await camera.shoot(page, "runs")

        # Back on the incident: a public update, then resolve; the postmortem.
        await page.goto("/incidents/1")
        await expect(page.locator("#incident-runs")).to_contain_text("succeeded")
        await page.get_by_label("Update", exact=True).fill("Restarted the API; watching it.")
        await page.get_by_role("button", name="Post update").click()
        await expect(timeline).to_contain_text("Restarted the API; watching it.")
        await expect(page.get_by_label("Update", exact=True)).to_have_value("")
        await page.get_by_label("Resolve with a message").fill("disk cleaned up")
        await page.locator("form:has(#r-message)").get_by_role("button", name="Resolve").click()
        await expect(head).to_contain_text("resolved")
        await expect(timeline).to_contain_text(f"Resolved by {ADMIN}: disk cleaned up")
        assert incident(s.store, 1) is IncidentStatus.RESOLVED
        await camera.shoot(page, "incident-resolved")
        await head.get_by_role("link", name="Postmortem").click()
        article = page.locator("article.postmortem")
        await expect(article).to_contain_text("Postmortem: API Service Down")
        await expect(article).to_contain_text("disk cleaned up")
        await camera.shoot(page, "postmortem")

        await nav(page, "On call")
        await expect(page.locator("table.calendar .override").first).to_be_visible()
        await camera.shoot(page, "oncall")
        assert not [c for c in console if "Content Security Policy" in c], console

        # The public status page, signed out.
        public = await browser.new_context(base_url=s.base, viewport=DESKTOP)
        status = await public.new_page()
        # Incidents opened by alerts are titled after their components there; the public
        # update and the resolution message are shown as written.
        update = "Restarted the API; watching it."
        for _ in range(30):  # the page is rebuilt at most every few seconds
            await status.goto("/status")
            if update in await status.locator("body").inner_text():
                break
            await asyncio.sleep(1)
        await expect(status.locator("body")).to_contain_text(update)
        await expect(status.locator("body")).to_contain_text("disk cleaned up")
        await expect(status.locator("#component-api .bar")).to_have_count(90)
        await status.screenshot(path=screenshots / "status-desktop.png", full_page=True)
        await public.close()
        await desk.close()
        await phone.close()


async def test_viewer_sees_no_actions_and_refusals_change_nothing(
    browser: Browser, tmp_path: Path, screenshots: Path
) -> None:
    async with shop(tmp_path) as s:
        await set_mode(s.target, "down")
        await eventually(lambda: incident(s.store, 1) is not None, timeout=WAIT / 1000)
        viewer = await signed_in(browser, s.base, VIEWER, viewport=DESKTOP, color_scheme="dark")
        page = await viewer.new_page()
        await page.goto("/incidents/1")
        await expect(page.locator("#incident-head")).to_contain_text("API Service Down")
        await expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
        await expect(page.get_by_role("button", name="Post update")).to_have_count(0)
        await page.screenshot(path=screenshots / "incident-viewer-dark-desktop.png", full_page=True)

        # The same POST a responder's button sends: refused for a viewer (403 page).
        cookies = {c["name"]: c["value"] for c in await viewer.cookies()}
        html = await page.content()
        token = re.search(r'name="csrf" value="([^"]+)"', html)
        assert token, "every page carries the CSRF field (the sign-out form)"
        async with aiohttp.ClientSession(cookies=cookies) as http:
            async with http.post(
                f"{s.base}/incidents/1/ack", data={"csrf": token.group(1)}, allow_redirects=False
            ) as refused:
                assert refused.status == 403
            async with http.get(f"{s.base}/incidents/1/timeline/stream") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                first = await asyncio.wait_for(stream.content.readuntil(b"\n\n"), 5)
                assert first.startswith(b"retry:")
        assert s.store.incidents.get(1).acknowledged_at is None  # type: ignore[union-attr]

        # Without the CSRF token even an admin's POST is refused.
        admin = await signed_in(browser, s.base, ADMIN, viewport=DESKTOP)
        cookies = {c["name"]: c["value"] for c in await admin.cookies()}
        async with (
            aiohttp.ClientSession(cookies=cookies) as http,
            http.post(f"{s.base}/incidents/1/ack", data={}, allow_redirects=False) as refused,
        ):
            assert refused.status == 403
        assert s.store.incidents.get(1).acknowledged_at is None  # type: ignore[union-attr]
        await viewer.close()
        await admin.close()
