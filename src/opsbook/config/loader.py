"""Find, read, interpolate and validate opsbook.yaml; report every problem at once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from opsbook.config.interpolate import interpolate
from opsbook.config.issues import translate
from opsbook.config.models import Config
from opsbook.config.redact import Redactor
from opsbook.config.semantics import semantic_issues
from opsbook.config.yaml_source import parse_yaml
from opsbook.errors import ConfigError, ConfigIssue
from opsbook.inbound.integrations import integration_secrets

DEFAULT_CONFIG_NAME = "opsbook.yaml"
CONFIG_ENV = "OPSBOOK_CONFIG"


def find_config_path(
    explicit: Path | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """`-c/--config`, else `$OPSBOOK_CONFIG`, else `./opsbook.yaml`."""
    env = os.environ if environ is None else environ
    if explicit is not None:
        return explicit
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    return Path(DEFAULT_CONFIG_NAME)


def load_config(path: Path | str, environ: Mapping[str, str] | None = None) -> Config:
    path = Path(path)
    display = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            [
                ConfigIssue(
                    display, None, None, "", "file not found (create one with `opsbook init`)"
                )
            ]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(display, None, None, "", f"cannot read: {exc.strerror}")]
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [ConfigIssue(display, None, None, "", f"not UTF-8 text (byte {exc.start})")]
        ) from None
    config = load_config_text(text, display, path.resolve().parent, environ)
    config.attach_source(path.resolve(), config.redactor)
    return config


def load_config_text(
    text: str,
    file: str = DEFAULT_CONFIG_NAME,
    base_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Validate config text; raises `ConfigError` listing every issue, located."""
    data, source, issues = parse_yaml(text, file)
    if issues:
        raise ConfigError(issues)
    if data is None:
        raise ConfigError(
            [ConfigIssue(file, 1, 1, "", "the file is empty; expected a mapping with 'project'")]
        )
    if not isinstance(data, dict):
        raise ConfigError(
            [source.issue((), "expected a mapping at the top level (project:, checks:, ...)")]
        )
    data, secrets, issues = interpolate(data, source, base_dir or Path.cwd(), environ)
    redactor = Redactor(secrets)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        # A value whose reference failed is already reported; its knock-on error is noise.
        broken = {issue.path for issue in issues}
        issues += [
            i for i in translate(exc, Config, data, source, redactor) if i.path not in broken
        ]
        raise ConfigError(_sorted(issues)) from None
    issues += semantic_issues(config, source)
    if issues:
        raise ConfigError(_sorted(issues))
    # Tokens written into the file itself (not through ${ENV:...}) are secrets too.
    redactor = redactor.with_secrets(integration_secrets(config.integrations))
    config.attach_source(None, redactor)
    return config


def _sorted(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    return sorted(issues, key=lambda i: (i.line or 0, i.column or 0, i.path))
