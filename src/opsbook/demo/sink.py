"""A local webhook receiver for the demo: it prints what a pager or chat would show.

It accepts the Alertmanager-compatible JSON opsbook's webhook channel sends, so the demo
exercises the real delivery path (outbox, retries, idempotency keys) end to end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MAX_BODY = 1024 * 1024


def describe(payload: dict[str, Any]) -> list[str]:
    """One line per alert in a notification: state, name, severity, service, summary.
    A page (or another message about an incident) is shown as its title and text."""
    extra = payload.get("opsbook")
    if isinstance(extra, dict) and extra.get("kind") != "alert":
        kind = str(extra.get("kind", "message")).upper()
        body = str(extra.get("body", "")).splitlines()
        return [f"{kind:<8} {extra.get('title', '')}", *(f"         {line}" for line in body)]
    lines = []
    for alert in payload.get("alerts", []):
        labels = alert.get("labels", {})
        annotations = alert.get("annotations", {})
        state = "RESOLVED" if alert.get("status") == "resolved" else "FIRING"
        where = ", ".join(v for v in (labels.get("severity"), labels.get("service")) if v)
        summary = annotations.get("summary") or labels.get("alertname", "")
        name = labels.get("alertname", "?")
        lines.append(f"{state:<8} {name} ({where}): {summary}")
    return lines


@dataclass
class DemoSink:
    """Call `on_message(lines)` for every notification received (duplicates dropped)."""

    on_message: Callable[[list[str]], None]
    seen: set[str] = field(default_factory=set)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post("/hook", self._hook)
        return app

    async def _hook(self, request: web.Request) -> web.Response:
        try:
            payload = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="expected JSON")
        if not isinstance(payload, dict):
            return web.Response(status=400, text="expected a JSON object")
        key = request.headers.get("Idempotency-Key", "")
        if key and key in self.seen:  # a retried delivery we already showed
            return web.json_response({"status": "duplicate"})
        self.seen.add(key)
        self.on_message(describe(payload))
        return web.json_response({"status": "ok"})
