"""Draft playbooks as the `playbooks:` and `connections:` entries of opsbook.yaml.

Names follow the config's `Name` pattern and are unique; every string is written so that
loading the file gives back exactly the runbook's text: a `${HOME:-/root}` in a script
is escaped so config interpolation leaves it alone, and multi-line scripts are YAML
literal blocks a person can read and edit.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import yaml

from opsbook.playbooks.importer import steps
from opsbook.playbooks.importer.drafts import DraftPlaybook, DraftStep

MAX_NAME = 64
MAX_STEP_NAME = 48
MAX_STEPS = 200
# The config loader replaces ${ENV:X}, ${VAR:X} and ${FILE:X}; "$${" stands for "${".
_REFERENCE = re.compile(r"\$(\$?)\{([A-Z]+):([^}]*)\}")
_PREFIX = re.compile(r"^(playbook|issue|procedure|runbook)\s*:\s*", re.IGNORECASE)
_NUMBERING = re.compile(r"^\s*(\d{1,3}[.)]\s+|\d{1,3}\.\s*)")


def slug(text: str) -> str:
    """`Playbook: API Service Down` → api-service-down; `5. Out of Memory (OOM Kills)`
    → out-of-memory. ASCII letters, digits and dashes only."""
    text = _NUMBERING.sub("", text)
    text = _PREFIX.sub("", text)
    text = re.sub(r"\([^)]*\)", " ", text)
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def shorten(name: str, limit: int) -> str:
    if len(name) <= limit:
        return name
    cut = name[:limit]
    if "-" in cut[limit // 2 :]:
        cut = cut[: cut.rfind("-")]
    return cut.strip("-.") or name[:limit]


def unique(name: str, taken: set[str], limit: int) -> str:
    candidate = name
    number = 2
    while candidate in taken:
        suffix = f"-{number}"
        candidate = shorten(name, limit - len(suffix)) + suffix
        number += 1
    taken.add(candidate)
    return candidate


def playbook_name(path: list[str], fallback: str, line: int) -> str:
    """The top-level section and the procedure's own heading: `incident-response` +
    `api-service-down`, skipping the levels in between."""
    parts = [slug(p) for p in path]
    parts = [p for p in parts if p]
    if not parts:
        base = slug(fallback)
    elif len(parts) == 1 or parts[-1].startswith(parts[0]):
        base = parts[-1]
    else:
        base = f"{parts[0]}-{parts[-1]}"
    return shorten(base or f"section-{line}", MAX_NAME)


def escape_interpolation(text: str) -> str:
    return _REFERENCE.sub(lambda m: "$" + m.group(0), text)


def _escaped(value: Any) -> Any:
    if isinstance(value, str):
        return escape_interpolation(value)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def split_long(playbooks: list[DraftPlaybook]) -> list[DraftPlaybook]:
    """A playbook has at most MAX_STEPS steps; a longer procedure becomes parts."""
    out: list[DraftPlaybook] = []
    for playbook in playbooks:
        if len(playbook.steps) <= MAX_STEPS:
            out.append(playbook)
            continue
        chunks = [
            playbook.steps[i : i + MAX_STEPS] for i in range(0, len(playbook.steps), MAX_STEPS)
        ]
        for number, chunk in enumerate(chunks, start=1):
            part = DraftPlaybook(
                [*playbook.path[:-1], f"{playbook.heading} part {number}"],
                chunk[0].line,
                playbook.intro,
                chunk,
                dict(playbook.params),
                set(playbook.env),
            )
            if number == 1:
                part.notes = playbook.notes
            part.note(playbook.line, f"more than {MAX_STEPS} steps: split into {len(chunks)} "
                      "playbooks")  # fmt: skip
            out.append(part)
    return out


def _step_dict(step: DraftStep, taken: set[str]) -> dict[str, Any]:
    base = slug(step.label) or slug(step.title.split(" — ")[0]) or slug(step.name_hint)
    base = base or step.kind
    name = unique(shorten(base, MAX_STEP_NAME), taken, MAX_STEP_NAME)
    entry: dict[str, Any] = {"name": name}
    if step.title:
        entry["title"] = step.title
    if step.switch:
        entry["when"] = f"params.{step.switch} == true"
    if step.dangerous:
        entry["dangerous"] = True
    entry[step.kind] = dict(step.spec)
    return entry


def _fits_one_line(items: list[Any]) -> bool:
    """A short list of plain values reads best on one line (`argv: [npm, run, build]`)."""
    if not all(isinstance(i, str | int) and not isinstance(i, bool) for i in items):
        return False
    texts = [str(i) for i in items]
    return sum(len(t) + 2 for t in texts) < 80 and not any("\n" in t for t in texts)


def _description(playbook: DraftPlaybook, source: str) -> str:
    parts = [playbook.heading or source]
    if playbook.intro:
        parts.append(playbook.intro)
    if playbook.env:
        parts.append(
            "Needs environment variables (the commands read them and do not set them): "
            + ", ".join(sorted(playbook.env))
            + "."
        )
    if any(s.kind == "sql" for s in playbook.steps):
        parts.append(
            f"SQL steps run on connection {steps.CONNECTION} (its DSN comes from "
            f"{steps.CONNECTION_ENV})."
        )
    parts.append(f"Imported from {source}, line {playbook.line}.")
    return "\n\n".join(parts)


def playbook_dict(playbook: DraftPlaybook, source: str) -> dict[str, Any]:
    params: list[dict[str, Any]] = []
    for param in playbook.params.values():
        entry: dict[str, Any] = {"name": param.name, "type": param.type}
        if param.description:
            entry["description"] = param.description
        if param.optional_step:
            entry["default"] = False
        else:
            entry["required"] = True
        if param.secret:
            entry["secret"] = True
        params.append(entry)
    taken: set[str] = set()
    out: dict[str, Any] = {"name": playbook.name, "description": _description(playbook, source)}
    if params:
        out["params"] = params
    out["steps"] = [_step_dict(step, taken) for step in playbook.steps]
    return _escaped(out)  # type: ignore[no-any-return]


def name_playbooks(playbooks: list[DraftPlaybook], fallback: str, title: str | None) -> None:
    """Names from heading paths; the document's title (its only H1) names nothing, as
    every procedure is under it."""
    taken: set[str] = set()
    for playbook in playbooks:
        path = playbook.path
        if title is not None and path[:1] == [title] and len(path) > 1:
            path = path[1:]
        base = playbook_name(path, fallback, playbook.line)
        playbook.name = unique(base, taken, MAX_NAME)


def document(playbooks: list[DraftPlaybook], source: str) -> dict[str, Any]:
    """The fragment: `playbooks:` and, when SQL steps need one, `connections:`."""
    doc: dict[str, Any] = {"playbooks": [playbook_dict(p, source) for p in playbooks]}
    if any(s.kind == "sql" for p in playbooks for s in p.steps):
        doc["connections"] = [
            {"name": steps.CONNECTION, "postgres": {"dsn": f"${{ENV:{steps.CONNECTION_ENV}}}"}}
        ]
    return doc


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks; lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


def _sequence(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    flow = bool(value) and _fits_one_line(value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=flow)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _sequence)


def to_yaml(doc: dict[str, Any], source: str) -> str:
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100, indent=2)
    header = (
        f"# Playbooks imported from {source} by `opsbook import`.\n"
        "# Review every step before running it: the importer maps commands, it does not\n"
        "# test them. Add these entries to opsbook.yaml (or include this file).\n"
    )
    return header + body


def problems(doc: dict[str, Any]) -> list[str]:
    """What the config loader says about the fragment in an otherwise empty config
    (nothing: it loads). The DSN is read from a stand-in, never from the environment."""
    from opsbook.config.loader import load_config_text
    from opsbook.errors import ConfigError

    text = yaml.safe_dump({"project": {"name": "imported"}, **doc}, sort_keys=False)
    try:
        load_config_text(
            text, "imported.yaml", environ={steps.CONNECTION_ENV: "postgresql://localhost/x"}
        )
    except ConfigError as exc:
        return [str(issue) for issue in exc.issues]
    return []
