"""`opsbook notify test RECEIVER` end to end: the real CLI process, real receivers."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.integration.receivers import SmtpSink, WebhookRecorder

OPSBOOK = [sys.executable, "-m", "opsbook"]


async def opsbook(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *OPSBOOK,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def write_config(directory: Path, hook: str, smarthost: str) -> Path:
    path = directory / "opsbook.yaml"
    path.write_text(
        f"""
project: {{name: memoapp}}
route: {{receiver: oncall-webhook}}
receivers:
  - name: oncall-webhook
    webhook:
      url: {hook}/hook
      headers: {{Authorization: "Bearer ${{ENV:HOOK_TOKEN}}"}}
  - name: broken-webhook
    webhook:
      url: {hook}/broken
  - name: team-email
    email:
      to: [oncall@memoapp.example]
      from: opsbook@memoapp.example
      smarthost: {smarthost}
"""
    )
    return path


async def test_notify_test_sends_through_webhook_and_email(tmp_path: Path) -> None:
    async with WebhookRecorder() as hook:
        with SmtpSink() as sink:
            config = write_config(tmp_path, hook.base_url, sink.smarthost)
            env = {"HOOK_TOKEN": "hook-token-123"}
            code, out, err = await opsbook(
                "notify", "test", "oncall-webhook", "-c", str(config), env=env
            )
            assert code == 0, err
            assert "OK test notification accepted by 'oncall-webhook' (webhook)" in out
            code, out, err = await opsbook(
                "notify", "test", "team-email", "-c", str(config), env=env
            )
            assert code == 0, err
    [request] = hook.on("/hook")
    assert request.headers["Authorization"] == "Bearer hook-token-123"
    payload = request.json
    assert payload["version"] == "4" and payload["receiver"] == "oncall-webhook"
    assert payload["alerts"][0]["labels"]["alertname"] == "OpsbookTest"
    assert request.key is not None and request.key.startswith("test:oncall-webhook:")
    [message] = sink.messages
    # A long subject is folded onto its own line; unfolded, it is the title.
    assert message["Subject"].strip() == (
        "INCIDENT ALERT - test - opsbook: Test notification to receiver team-email"
    )


async def test_notify_test_prints_the_exact_failure(tmp_path: Path) -> None:
    async with WebhookRecorder(status_for={"/broken": 401}) as hook:
        config = write_config(tmp_path, hook.base_url, "127.0.0.1:25")
        code, _, err = await opsbook(
            "notify", "test", "broken-webhook", "-c", str(config), env={"HOOK_TOKEN": "x"}
        )
    assert code == 1
    assert "FAILED test notification to 'broken-webhook' (webhook)" in err
    assert "HTTP 401 Unauthorized: scripted failure 401 (permanent)" in err


async def test_notify_test_unknown_receiver(tmp_path: Path) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9", "127.0.0.1:25")
    code, _, err = await opsbook(
        "notify", "test", "oncall-webhok", "-c", str(config), env={"HOOK_TOKEN": "x"}
    )
    assert code == 2
    assert "unknown receiver 'oncall-webhok'; did you mean 'oncall-webhook'?" in err
