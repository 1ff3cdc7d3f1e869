"""`opsbook schema` describes exactly what the loader accepts; `opsbook init` validates."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from opsbook.cli import app
from opsbook.config.loader import load_config

EXAMPLES = sorted(Path(__file__).parents[3].joinpath("examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def schema() -> dict[str, object]:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0
    return json.loads(result.output)


def test_schema_is_valid_json_schema(schema: dict[str, object]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    properties = schema["properties"]
    assert isinstance(properties, dict)
    assert {"project", "services", "severities", "checks"} <= set(properties)


def test_schema_lists_every_check_kind(schema: dict[str, object]) -> None:
    from opsbook.checks.registry import KINDS

    text = json.dumps(schema)
    for kind in KINDS:
        assert f'"{kind}"' in text


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_validate_and_match_the_schema(example: Path, schema: dict[str, object]) -> None:
    load_config(example, environ={})
    jsonschema.validate(yaml.safe_load(example.read_text()), schema)


def test_schema_rejects_what_the_loader_rejects(schema: dict[str, object]) -> None:
    bad = {
        "project": {"name": "x"},
        "checks": [{"name": "a", "interval": "5 minutes", "http": {"url": "http://h"}}],
    }
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_init_writes_a_valid_commented_starter(tmp_path: Path, schema: dict[str, object]) -> None:
    target = tmp_path / "opsbook.yaml"
    result = CliRunner().invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert text.count("\n#") >= 5
    config = load_config(target, environ={})
    assert {c.kind for c in config.checks} >= {"http", "postgres", "redis", "disk"}
    assert config.service("api") is not None
    jsonschema.validate(yaml.safe_load(text), schema)
    validated = CliRunner().invoke(app, ["validate", str(target)])
    assert validated.exit_code == 0 and "OK" in validated.output


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "opsbook.yaml"
    target.write_text("mine")
    result = CliRunner().invoke(app, ["init", str(target)])
    assert result.exit_code == 1 and "exists" in result.output
    assert target.read_text() == "mine"
    assert CliRunner().invoke(app, ["init", str(target), "--force"]).exit_code == 0
