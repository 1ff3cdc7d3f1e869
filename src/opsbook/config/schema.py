"""JSON Schema of opsbook.yaml, generated from the same models that validate it."""

from __future__ import annotations

from typing import Any

from opsbook.config.models import Config

SCHEMA_ID = "https://opsbook.dev/schema/opsbook.json"


def config_json_schema() -> dict[str, Any]:
    schema = Config.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "opsbook.yaml",
        **{k: v for k, v in schema.items() if k != "title"},
    }
