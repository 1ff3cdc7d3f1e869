"""`opsbook validate` on malformed configs: every error located, exit code 2, nothing started.

Each case is a config a user could really write, and the exact line the user should see.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from opsbook.cli import app

HEAD = "project:\n  name: shop\n"
SERVICES = "services:\n  - name: api\n    depends_on: [database]\n  - name: database\n"

CASES: dict[str, tuple[str, str]] = {
    "yaml syntax": (
        HEAD + "checks:\n  - name: [api\n",
        "opsbook.yaml:5:1 YAML syntax: while parsing a flow sequence:",
    ),
    "tab indentation": (
        HEAD + "checks:\n\t- name: api\n",
        "opsbook.yaml:4:1 YAML syntax:",
    ),
    "top-level typo": (
        HEAD + "chekcs: []\n",
        "opsbook.yaml:3:1 chekcs: unknown key 'chekcs'; did you mean 'checks'?",
    ),
    "check key typo": (
        HEAD + "checks:\n  - name: api\n    intervall: 30s\n    http: {url: 'http://h'}\n",
        "opsbook.yaml:5:5 checks[0].intervall: unknown key 'intervall'; did you mean 'interval'?",
    ),
    "kind key typo": (
        HEAD + "checks:\n  - name: api\n    http:\n      url: http://h\n      timout: 5s\n",
        "opsbook.yaml:7:7 checks[0].http.timout: unknown key 'timout'; did you mean 'timeout'?",
    ),
    "wrong type": (
        "project:\n  name: [a, b]\n",
        "opsbook.yaml:2:9 project.name: expected a string, got a list",
    ),
    "bad duration": (
        HEAD + "checks:\n  - name: api\n    http:\n      url: http://h\n      timeout: 5 minutes\n",
        "opsbook.yaml:7:16 checks[0].http.timeout: expected a duration like '5s', got '5 minutes'",
    ),
    "number as duration": (
        HEAD + "checks:\n  - name: api\n    interval: 30\n    http: {url: 'http://h'}\n",
        "opsbook.yaml:5:15 checks[0].interval: expected a duration like '5s', got the number 30: add a unit",
    ),
    "duplicate check name": (
        HEAD
        + "checks:\n  - name: api\n    http: {url: 'http://a'}\n  - name: api\n    http: {url: 'http://b'}\n",
        "opsbook.yaml:6:11 checks[1].name: duplicate check name 'api' (first at line 4)",
    ),
    "dangling depends_on": (
        HEAD + "services:\n  - name: api\n    depends_on: [databse]\n  - name: database\n",
        "opsbook.yaml:5:18 services[0].depends_on[0]: unknown service 'databse'; did you mean 'database'?",
    ),
    "dependency cycle": (
        HEAD
        + "services:\n  - name: api\n    depends_on: [database]\n  - name: database\n    depends_on: [api]\n",
        "services[1].depends_on: dependency cycle: ",
    ),
    "missing env var": (
        HEAD + "checks:\n  - name: db\n    http:\n      url: '${ENV:OPSBOOK_TEST_UNSET_VAR}'\n",
        "opsbook.yaml:6:12 checks[0].http.url: environment variable OPSBOOK_TEST_UNSET_VAR is not set",
    ),
    "missing project": (
        "checks: []\n",
        "opsbook.yaml:1:1 project: missing required key 'project'",
    ),
    "missing required key in kind": (
        HEAD + "checks:\n  - name: api\n    http: {method: GET}\n",
        "opsbook.yaml:5:11 checks[0].http.url: missing required key 'url'",
    ),
    "check without kind": (
        HEAD + "checks:\n  - name: api\n    interval: 30s\n",
        "opsbook.yaml:4:5 checks[0]: a check needs one kind block: http, tcp, tls",
    ),
    "check with two kinds": (
        HEAD + "checks:\n  - name: api\n    http: {url: 'http://h'}\n    tcp: {}\n",
        "opsbook.yaml:4:5 checks[0]: a check has exactly one kind, found http, tcp",
    ),
    "duplicate yaml key": (
        HEAD + "checks:\n  - name: api\n    name: web\n    http: {url: 'http://h'}\n",
        "opsbook.yaml:5:5 checks[0].name: duplicate key 'name' (first defined at line 4)",
    ),
    "invalid name": (
        HEAD + "checks:\n  - name: my check!\n    http: {url: 'http://h'}\n",
        "opsbook.yaml:4:11 checks[0].name: invalid name 'my check!': use letters, digits",
    ),
    "bad threshold bound": (
        HEAD
        + "checks:\n  - name: api\n    http: {url: 'http://h'}\n    thresholds:\n      latency_ms: {warning: about 200}\n",
        "opsbook.yaml:7:29 checks[0].thresholds.latency_ms.warning: expected a bound like '> 80', '< 14' or '== 0', got 'about 200'",
    ),
    "threshold on unknown sample": (
        HEAD
        + "checks:\n  - name: api\n    http: {url: 'http://h'}\n    thresholds:\n      latency: {warning: 200}\n",
        "opsbook.yaml:7:7 checks[0].thresholds.latency: unknown sample of a http check 'latency'; did you mean 'latency_ms'?",
    ),
    "unknown timezone": (
        "project:\n  name: shop\n  timezone: Europe/Atlantis\n",
        "opsbook.yaml:3:13 project.timezone: unknown timezone 'Europe/Atlantis'",
    ),
    "timeout longer than interval": (
        HEAD
        + "checks:\n  - name: api\n    interval: 5s\n    http: {url: 'http://h', timeout: 10s}\n",
        "opsbook.yaml:6:38 checks[0].http.timeout: timeout is longer than the check's interval (10s > 5s)",
    ),
    "unknown service on check": (
        HEAD + SERVICES + "checks:\n  - name: api\n    service: apy\n    http: {url: 'http://h'}\n",
        "opsbook.yaml:9:14 checks[0].service: unknown service 'apy'; did you mean 'api'?",
    ),
    "slo over 100": (
        HEAD + "services:\n  - name: api\n    slo: 199.9\n",
        "opsbook.yaml:5:10 services[0].slo: should be less than or equal to 100",
    ),
    "empty file": ("", "opsbook.yaml:1:1 the file is empty"),
    "top-level list": ("- project\n", "opsbook.yaml:1:1 expected a mapping at the top level"),
    "bad status code": (
        HEAD + "checks:\n  - name: api\n    http: {url: 'http://h', expect_status: 2000}\n",
        "opsbook.yaml:5:44 checks[0].http.expect_status: expected status codes like 200, '200-299' or '2xx', got 2000",
    ),
    "bad json assertion": (
        HEAD
        + "checks:\n  - name: api\n    http:\n      url: http://h\n      json: ['status == ok']\n",
        "opsbook.yaml:7:14 checks[0].http.json[0]: expected an assertion like '$.status == \"ok\"'",
    ),
    "bad url scheme": (
        HEAD + "checks:\n  - name: api\n    http: {url: 'ftp://h'}\n",
        "opsbook.yaml:5:17 checks[0].http.url: expected an http:// or https:// URL, got 'ftp://h'",
    ),
    "header injection": (
        HEAD
        + "checks:\n  - name: api\n    http: {url: 'http://h', headers: {X-A: \"a\\r\\nX-B: b\"}}\n",
        "checks[0].http.headers: header 'X-A' contains a line break or NUL",
    ),
}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_malformed_config_gives_a_located_message_and_exit_2(
    name: str, runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text, expected = CASES[name]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OPSBOOK_TEST_UNSET_VAR", raising=False)
    Path("opsbook.yaml").write_text(text)
    result = runner.invoke(app, ["validate", "opsbook.yaml"])
    assert result.exit_code == 2, result.output
    assert expected in result.output, result.output
    assert not list(tmp_path.glob("*.db")), "validation must not create a store"


def test_all_errors_are_reported_at_once(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_text(
        HEAD + "checks:\n  - name: a\n    intervall: 5s\n    http: {url: 'ftp://x', timeout: 5}\n"
    )
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "3 errors in config" in result.output


def test_non_utf8_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "opsbook.yaml"
    path.write_bytes(b"project:\n  name: caf\xe9\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "not UTF-8 text" in result.output


def test_missing_file_says_how_to_start(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "file not found (create one with `opsbook init`)" in result.output


def test_secret_values_never_appear_in_errors(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSBOOK_TEST_SECRET", "topsecret-value-123")
    path = tmp_path / "opsbook.yaml"
    path.write_text(HEAD + "checks:\n  - name: a\n    http: {url: '${ENV:OPSBOOK_TEST_SECRET}'}\n")
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "topsecret-value-123" not in result.output
    assert "got '***'" in result.output
