"""Real Chromium for the dashboard tests, through Python Playwright.

The browser is the Debian `chromium` package (`scripts/setup.sh --dev` installs it);
Playwright's own browser downloads are not used. Without it (or without Playwright) the
tests skip, and with OPSBOOK_REQUIRE_SERVICES=1 (CI) they fail, so a green CI run means
they ran.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from tests.services import unavailable

if TYPE_CHECKING:
    from playwright.async_api import Browser

CHROMIUM = Path(os.environ.get("OPSBOOK_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Browser]:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        unavailable("Playwright is not installed (pip install -e '.[dev]')")
        raise AssertionError from None  # unreachable
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"{CHROMIUM} not found (scripts/setup.sh --dev installs chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
