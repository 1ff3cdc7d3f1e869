"""Positions, duplicate keys and hostile YAML."""

from __future__ import annotations

from opsbook.config.yaml_source import parse_yaml


def test_positions_of_values_and_keys() -> None:
    text = "project:\n  name: x\nchecks:\n  - name: a\n    http:\n      url: http://h\n"
    data, source, issues = parse_yaml(text, "f.yaml")
    assert not issues
    assert data["checks"][0]["http"]["url"] == "http://h"
    assert source.values[("checks", 0, "http", "url")] == (6, 12)
    assert source.keys[("checks", 0, "http", "url")] == (6, 7)
    assert source.locate(("checks", 0, "http", "missing")) == (6, 7)


def test_duplicate_keys_are_reported_with_both_lines() -> None:
    _, _, issues = parse_yaml("project:\n  name: a\n  name: b\n", "f.yaml")
    assert len(issues) == 1
    assert (
        str(issues[0]) == "f.yaml:3:3 project.name: duplicate key 'name' (first defined at line 2)"
    )


def test_syntax_error_is_located() -> None:
    _, _, issues = parse_yaml("project:\n  name: [unclosed\n", "f.yaml")
    assert len(issues) == 1 and issues[0].line is not None
    assert "YAML syntax" in issues[0].message


def test_merge_keys_and_anchors() -> None:
    text = "base: &b {interval: 30s}\nchecks:\n  - <<: *b\n    name: a\n"
    data, _, issues = parse_yaml(text, "f.yaml")
    assert not issues
    assert data["checks"][0] == {"interval": "30s", "name": "a"}


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 9)}]")
    _, _, issues = parse_yaml("\n".join(lines), "f.yaml")
    assert issues and "values" in issues[0].message


def test_python_tags_are_not_executed() -> None:
    _, _, issues = parse_yaml("x: !!python/object/apply:os.system ['touch /tmp/pwned']\n", "f.yaml")
    assert issues


def test_empty_document() -> None:
    data, _, issues = parse_yaml("", "f.yaml")
    assert data is None and not issues
