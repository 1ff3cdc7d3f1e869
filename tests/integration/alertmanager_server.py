"""A real Alertmanager for integration tests, and a client for its alert API.

`running_alertmanager` starts the `prometheus-alertmanager` binary (Debian's name; the
upstream `alertmanager` is tried too) on a free port with a temporary config, its
storage under the given directory and clustering off (no gossip, no settle wait), and
stops it by PID. `AlertmanagerServer.post_alerts` fires or resolves alerts through
`POST /api/v2/alerts`, as Prometheus does, so a test can drive Alertmanager directly.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from tests.integration.daemon import ready_daemon
from tests.services import free_port, unavailable

BINARIES = ("prometheus-alertmanager", "alertmanager")


def rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert(
    labels: Mapping[str, str],
    annotations: Mapping[str, str] | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    generator_url: str | None = None,
) -> dict[str, Any]:
    """One postable alert (API v2). An `ends_at` in the past resolves it."""
    body: dict[str, Any] = {"labels": dict(labels), "annotations": dict(annotations or {})}
    if starts_at is not None:
        body["startsAt"] = rfc3339(starts_at)
    if ends_at is not None:
        body["endsAt"] = rfc3339(ends_at)
    if generator_url is not None:
        body["generatorURL"] = generator_url
    return body


def webhook_receiver(
    name: str, url: str, token: str | None = None, send_resolved: bool = True
) -> dict[str, Any]:
    """A receiver with one webhook, authenticated with `Authorization: Bearer <token>`."""
    webhook: dict[str, Any] = {"url": url, "send_resolved": send_resolved, "max_alerts": 1000}
    if token is not None:
        webhook["http_config"] = {"authorization": {"type": "Bearer", "credentials": token}}
    return {"name": name, "webhook_configs": [webhook]}


@dataclass(frozen=True)
class AlertmanagerServer:
    url: str  # base URL, e.g. http://127.0.0.1:41234
    pid: int
    directory: Path  # config, storage and the server's log live here

    @property
    def address(self) -> str:
        """host:port, as Prometheus' `alerting.alertmanagers` static targets want it."""
        return self.url.removeprefix("http://")

    def post_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """POST /api/v2/alerts; raises on any answer but 200."""
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(list(alerts)).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            if response.status != 200:
                raise AssertionError(f"alertmanager answered {response.status}")

    def alerts(self, active: bool = True) -> list[dict[str, Any]]:
        """GET /api/v2/alerts: the alerts Alertmanager holds (active ones by default)."""
        flag = "true" if active else "false"
        address = f"{self.url}/api/v2/alerts?active={flag}&silenced=true&inhibited=true"
        with urllib.request.urlopen(address, timeout=5) as response:
            return list(json.load(response))

    def log(self) -> str:
        return (self.directory / "alertmanager.log").read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 20.0) -> str:
        """Poll the server's log until it contains `text`; returns the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if text in log:
                return log
            time.sleep(0.1)
        raise TimeoutError(f"{text!r} not in the alertmanager log within {timeout}s:\n{self.log()}")


def find_binary() -> str:
    for name in BINARIES:
        path = shutil.which(name)
        if path is not None:
            return path
    unavailable("alertmanager binary not installed (Debian package prometheus-alertmanager)")
    raise AssertionError  # unreachable; keeps type checkers calm


def config(
    receivers: Sequence[Mapping[str, Any]],
    group_by: Sequence[str] = ("alertname", "service"),
    group_wait: str = "0s",
    group_interval: str = "1s",
    repeat_interval: str = "4h",
) -> dict[str, Any]:
    """A config whose route sends everything to the first receiver, as fast as it goes."""
    return {
        "route": {
            "receiver": receivers[0]["name"],
            "group_by": list(group_by),
            "group_wait": group_wait,
            "group_interval": group_interval,
            "repeat_interval": repeat_interval,
        },
        "receivers": list(receivers),
    }


@contextlib.contextmanager
def running_alertmanager(
    directory: Path, alertmanager_config: Mapping[str, Any], log_level: str = "info"
) -> Iterator[AlertmanagerServer]:
    """Run Alertmanager with `alertmanager_config` (see `config`) until the block ends.
    `log_level` "info" keeps the notification failures a test may look for."""
    binary = find_binary()
    directory.mkdir(parents=True, exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    config_file = directory / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(dict(alertmanager_config), sort_keys=False))
    argv = [
        binary,
        f"--config.file={config_file}",
        f"--storage.path={directory / 'alertmanager-data'}",
        f"--web.listen-address={address}",
        "--cluster.listen-address=",  # one instance: no gossip, no settle wait
        f"--log.level={log_level}",
    ]
    url = f"http://{address}"
    log_path = directory / "alertmanager.log"
    with ready_daemon("alertmanager", argv, log_path, f"{url}/-/ready") as pid:
        yield AlertmanagerServer(url, pid, directory)
