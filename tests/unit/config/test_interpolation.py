"""${ENV:...} and ${FILE:...}: substituted, remembered as secrets, errors located."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsbook.config.loader import load_config_text
from opsbook.config.redact import Redactor
from opsbook.errors import ConfigError

BASE = "project:\n  name: demo\nchecks:\n  - name: api\n    http:\n      url: {url}\n"


def test_env_and_default_and_secret_redaction(tmp_path: Path) -> None:
    config = load_config_text(
        BASE.format(
            url='"https://user:${ENV:API_PASSWORD}@example.test/${ENV:HEALTH_PATH:-health}"'
        ),
        environ={"API_PASSWORD": "hunter2-secret"},
        base_dir=tmp_path,
    )
    url = config.checks[0].http.url  # type: ignore[attr-defined]
    assert url == "https://user:hunter2-secret@example.test/health"
    assert "hunter2-secret" not in config.redactor(f"failed to fetch {url}")
    assert config.redactor("token hunter2-secret leaked") == "token *** leaked"


def test_file_reference_relative_to_config_dir(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("s3cr3t-token\n")
    text = BASE.format(url="http://h/") + "      headers: {Authorization: 'Bearer ${FILE:token}'}\n"
    config = load_config_text(text, base_dir=tmp_path, environ={})
    assert config.checks[0].http.headers["Authorization"] == "Bearer s3cr3t-token"  # type: ignore[attr-defined]
    assert "s3cr3t-token" not in config.redactor("Bearer s3cr3t-token")


def test_missing_env_is_located_and_suggests_default(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(BASE.format(url='"${ENV:NOPE_NOT_SET}"'), environ={}, base_dir=tmp_path)
    (issue,) = caught.value.issues
    assert (issue.line, issue.path) == (6, "checks[0].http.url")
    assert "NOPE_NOT_SET is not set" in issue.message and ":-default" in issue.message


def test_missing_file_and_unknown_reference(tmp_path: Path) -> None:
    text = BASE.format(url='"${FILE:/nonexistent/secret}"') + "      body: '${VAULT:x}'\n"
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, environ={}, base_dir=tmp_path)
    messages = [i.message for i in caught.value.issues]
    assert any("cannot read /nonexistent/secret" in m for m in messages)
    assert any("unknown reference ${VAULT:...}" in m for m in messages)


def test_escaped_reference_is_literal(tmp_path: Path) -> None:
    config = load_config_text(
        BASE.format(url="http://h/") + "      body: '$${ENV:HOME}'\n", environ={}, base_dir=tmp_path
    )
    assert config.checks[0].http.body == "${ENV:HOME}"  # type: ignore[attr-defined]


def test_redactor_masks_url_passwords_even_when_not_interpolated() -> None:
    redact = Redactor()
    assert redact("postgresql://app:plainpw@db:5432/app") == "postgresql://app:***@db:5432/app"
    assert redact("redis://:pw@cache:6379/0") == "redis://:***@cache:6379/0"


def test_short_secrets_are_not_masked_everywhere() -> None:
    assert Redactor(["abcde"])("xabcdex") == "xabcdex"
    assert Redactor(["abcdef", "abcdefgh"])("xabcdefghx abcdef") == "x***x ***"


def test_var_reads_the_environment_without_making_a_secret(tmp_path: Path) -> None:
    text = BASE.format(url='"http://${VAR:API_HOST:-localhost}/health?key=${ENV:API_KEY}"')
    environ = {"API_HOST": "api.internal", "API_KEY": "k3y-0123456789"}
    config = load_config_text(text, environ=environ, base_dir=tmp_path)
    url = config.checks[0].http.url  # type: ignore[attr-defined]
    assert url == "http://api.internal/health?key=k3y-0123456789"
    assert config.redactor(url) == "http://api.internal/health?key=***"
    with pytest.raises(ConfigError, match=r"use \$\{VAR:NOPE:-default\}"):
        load_config_text(BASE.format(url='"${VAR:NOPE}"'), environ={}, base_dir=tmp_path)
