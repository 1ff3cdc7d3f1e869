"""Read YAML while remembering where every key and value came from.

PyYAML's composer keeps a mark (line, column) on every node; we build plain Python data
from the node tree ourselves so that each value's path (``("checks", 3, "http", "url")``)
maps to its position. That is what lets every later error say ``file:line:col key.path``.
Duplicate keys, which PyYAML would silently overwrite, are reported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from opsbook.errors import ConfigIssue

Path_ = tuple[str | int, ...]

MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000  # stops alias bombs ("billion laughs") long before memory does


@dataclass
class SourceMap:
    """Positions (1-based line, column) of values and of mapping keys, by path."""

    file: str
    values: dict[Path_, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path_, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Path_, *, key: bool = False) -> tuple[int | None, int | None]:
        """Position of `path`, or of its nearest located ancestor."""
        table = self.keys if key else self.values
        probe = path
        while True:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            if not probe:
                return None, None
            probe = probe[:-1]

    def issue(self, path: Path_, message: str, *, key: bool = False) -> ConfigIssue:
        line, column = self.locate(path, key=key)
        return ConfigIssue(self.file, line, column, format_path(path), message)


def format_path(path: Path_) -> str:
    """('checks', 3, 'http', 'timeout') -> 'checks[3].http.timeout'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_PLAIN_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


# libyaml's parser when PyYAML was built with it (same results, several times faster).
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TooLargeError(Exception):
    pass


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, source: SourceMap) -> None:
        self.loader = loader
        self.source = source
        self.issues: list[ConfigIssue] = []
        self.count = 0

    def build(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.source.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooLargeError
        if depth > MAX_DEPTH:
            self.issues.append(self.source.issue(path, f"nested deeper than {MAX_DEPTH} levels"))
            return None
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_TAGS:
            self.issues.append(self.source.issue(path, f"unsupported YAML tag {node.tag!r}"))
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolve "<<: *anchor" merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            position = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key, str):
                key = str(key)
            child = (*path, key)
            if key in result:
                first = self.source.keys[child]
                self.issues.append(
                    ConfigIssue(
                        self.source.file,
                        *position,
                        format_path(child),
                        f"duplicate key {key!r} (first defined at line {first[0]})",
                    )
                )
                continue
            self.source.keys[child] = position
            result[key] = self.build(value_node, child, depth + 1)
        return result


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap, list[ConfigIssue]]:
    """Parse one YAML document into plain data plus its source map.

    Returns issues instead of raising so the caller can report everything at once.
    """
    source = SourceMap(file)
    if len(text.encode("utf-8", errors="replace")) > MAX_CONFIG_BYTES:
        return None, source, [ConfigIssue(file, None, None, "", "file larger than 4 MiB")]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, source, []
        builder = _Builder(loader, source)
        data = builder.build(node, ())
        return data, source, builder.issues
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{exc.context}: {problem}"
        return None, source, [ConfigIssue(file, line, column, "", f"YAML syntax: {problem}")]
    except yaml.YAMLError as exc:
        return None, source, [ConfigIssue(file, None, None, "", f"YAML error: {exc}")]
    except _TooLargeError:
        message = f"more than {MAX_NODES} values (alias expansion?)"
        return None, source, [ConfigIssue(file, None, None, "", message)]
    except RecursionError:
        return None, source, [ConfigIssue(file, None, None, "", "YAML nested too deeply")]
    finally:
        loader.dispose()
