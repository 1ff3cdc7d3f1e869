"""JSON Schema of opsbook.yaml, generated from the same models that validate it."""

from __future__ import annotations

from typing import Any

from opsbook.config.models import Config

SCHEMA_ID = "https://opsbook.dev/schema/opsbook.json"
# Any scalar may be written as a reference resolved at load time, e.g. port: ${ENV:PORT}.
REFERENCE = {"type": "string", "pattern": r"\$\{(ENV|VAR|FILE):"}
_SCALARS = {"integer", "number", "boolean"}


def _allow_references(node: Any) -> Any:
    if isinstance(node, list):
        return [_allow_references(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _allow_references(value) for key, value in node.items()}
    kind = node.get("type")
    if isinstance(kind, str) and kind in _SCALARS:
        return {"anyOf": [node, REFERENCE]}
    return node


def config_json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    body = _allow_references({k: v for k, v in schema.items() if k != "title"})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "opsbook.yaml",
        **body,
    }
