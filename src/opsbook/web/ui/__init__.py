"""The web dashboard: server-rendered pages (Jinja2 + htmx) behind sign-in.

One module per page group; `ui_routers` builds them all around one set of templates and
one feed of playbook-run progress.
"""

from __future__ import annotations

from fastapi import APIRouter

from opsbook.engine.core import Engine
from opsbook.web.api._background import BackgroundRuns
from opsbook.web.ui.alerts import alerts_router
from opsbook.web.ui.checks import checks_router
from opsbook.web.ui.incidents import incidents_router
from opsbook.web.ui.oncall import oncall_router
from opsbook.web.ui.overview import overview_router
from opsbook.web.ui.rendering import Pages
from opsbook.web.ui.run_feed import RunFeed
from opsbook.web.ui.runs import runs_router


def ui_routers(engine: Engine) -> list[APIRouter]:
    pages = Pages(engine)
    feed = RunFeed(engine.playbooks)
    background = BackgroundRuns(engine.playbooks)
    return [
        overview_router(engine, pages),
        checks_router(engine, pages),
        alerts_router(engine, pages),
        incidents_router(engine, pages, background),
        oncall_router(engine, pages),
        runs_router(engine, pages, feed, background),
    ]


__all__ = ["ui_routers"]
