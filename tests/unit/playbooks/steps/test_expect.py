"""Output assertions and saved variables, shared by the shell and http steps."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from opsbook.playbooks.steps.expect import ExtractionType, TextExpect, extract_vars

EXTRACTION: TypeAdapter[object] = TypeAdapter(ExtractionType)
STATUS = '{"status": "ok", "revision": 42, "components": {"db": {"status": "up"}}}'


def test_a_dollar_means_a_json_path_anything_else_a_regex_with_one_group() -> None:
    save = {"rev": EXTRACTION.validate_python("$.revision"),
            "db": EXTRACTION.validate_python('"db": \\{"status": "(\\w+)"'),
            "components": EXTRACTION.validate_python("$.components")}  # fmt: skip
    values, problems = extract_vars(save, STATUS)  # type: ignore[arg-type]
    assert problems == []
    assert values == {"rev": 42, "db": "up", "components": '{"db":{"status":"up"}}'}


def test_extraction_errors_say_what_is_wrong() -> None:
    with pytest.raises(ValidationError, match="has 0 groups; it needs exactly one"):
        EXTRACTION.validate_python("revision \\d+")
    with pytest.raises(ValidationError, match="has 2 groups"):
        EXTRACTION.validate_python("(\\w+)=(\\w+)")
    with pytest.raises(ValidationError, match="invalid regular expression"):
        EXTRACTION.validate_python("(unclosed")
    with pytest.raises(ValidationError, match="invalid JSON path"):
        EXTRACTION.validate_python("$.[[")
    with pytest.raises(ValidationError, match="expected a JSON path"):
        EXTRACTION.validate_python(42)


def test_values_that_are_not_there_are_problems_not_crashes() -> None:
    save = {"rev": EXTRACTION.validate_python("$.image"),
            "line": EXTRACTION.validate_python("^image: (.+)$")}  # fmt: skip
    values, problems = extract_vars(save, STATUS)  # type: ignore[arg-type]
    assert values == {}
    assert problems == ["cannot save rev: $.image not found",
                        "cannot save line: /^image: (.+)$/ does not match the output"]  # fmt: skip
    _, not_json = extract_vars({"rev": EXTRACTION.validate_python("$.r")}, "OK")  # type: ignore[dict-item]
    assert not_json == ["cannot save rev: output is not valid JSON"]


def test_regexes_match_lines() -> None:
    expect = TextExpect.model_validate({"regex": "^Active: active \\(running\\)$"})
    output = "● review-engine.service\n   Loaded: loaded\nActive: active (running)\n"
    assert expect.failures(output, str) == []
    assert expect.failures("Active: failed", str) == [
        "output does not match /^Active: active \\(running\\)$/"
    ]


def test_all_assertions_are_reported_together() -> None:
    expect = TextExpect.model_validate({"contains": "ok", "regex": "^up$",
                                        "json": ['$.status == "ok"', "$.revision > 50"]})  # fmt: skip
    assert expect.failures(STATUS, str) == [
        "output does not match /^up$/",
        "$.revision is 42, expected > 50",
    ]
    assert expect.summary() == "contains 'ok', matches /^up$/, $.status == \"ok\", $.revision > 50"
