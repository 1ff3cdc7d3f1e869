"""The blanks a runbook leaves for the reader to fill: `<userId>`, `[service]`,
`PREVIOUS_REVISION`, `YOUR_API_KEY`, `/path/to/backup`, `backup_TIMESTAMP.sql.gz`.

Each becomes a playbook parameter, so the value is asked for when the playbook runs
instead of being typed into a copy of the command. The rules are deliberately narrow:
`$DB_HOST` is a variable, `FEATURE_FLAG=false` is an assignment, `SELECT` and `DEL` are
keywords, `[ -z "$x" ]` is a test, and none of them is a blank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ParamType = Literal["string", "int"]

# Words that name a value when they appear in capitals inside a lower-case word
# (`backup_TIMESTAMP.sql.gz`) or alone as an argument (`pg_terminate_backend(PID)`).
_EMBEDDED_NOUNS = frozenset(
    [
        "TIMESTAMP",
        "DATE",
        "TIME",
        "ID",
        "PID",
        "HOST",
        "HOSTNAME",
        "NAME",
        "VERSION",
        "TAG",
        "REVISION",
        "REGION",
        "ZONE",
        "PORT",
        "USER",
        "USERNAME",
        "IP",
        "SHA",
        "COMMIT",
        "BRANCH",
        "SERVICE",
        "PROJECT",
        "NAMESPACE",
        "POD",
        "NODE",
        "INSTANCE",
        "DATABASE",
        "TABLE",
        "FILE",
        "PATH",
        "DIR",
        "KEY",
        "TOKEN",
        "PASSWORD",
        "SECRET",
        "URL",
        "DOMAIN",
        "EMAIL",
        "UUID",
    ]
)
# Alone, only the nouns that are no SQL keyword, HTTP method or common literal.
_STANDALONE_NOUNS = frozenset(
    [
        "PID",
        "ID",
        "UUID",
        "IP",
        "HOST",
        "HOSTNAME",
        "PORT",
        "SHA",
        "BRANCH",
        "REVISION",
        "NAMESPACE",
        "POD",
        "TOKEN",
        "PASSWORD",
        "EMAIL",
        "DOMAIN",
    ]
)
# Capitalised words with underscores that are vocabulary, not blanks.
_VOCABULARY = frozenset(
    [
        "CURRENT_DATE",
        "CURRENT_TIME",
        "CURRENT_TIMESTAMP",
        "CURRENT_USER",
        "SESSION_USER",
        "LOCAL_TIME",
        "NOT_NULL",
        "IF_EXISTS",
        "IF_NOT_EXISTS",
        "ON_ERROR_STOP",
        "PG_VERSION",
        "SIGTERM",
        "SIGKILL",
        "O_RDONLY",
        "EXIT_SUCCESS",
        "EXIT_FAILURE",
    ]
)
_INT_NAMES = frozenset(
    [
        "port",
        "pid",
        "count",
        "limit",
        "replicas",
        "size",
        "percent",
        "days",
        "hours",
        "minutes",
        "seconds",
        "workers",
        "instances",
        "number",
        "num",
        "lines",
        "retries",
        "threads",
    ]
)
_SECRET = re.compile(r"password|passwd|secret|token|api_key|private_key|credential")

_ANGLE = re.compile(r"(?<![<\w])<([A-Za-z][A-Za-z0-9_ .-]{0,60}[A-Za-z0-9])>(?![>=])")
_BRACKET = re.compile(r"(?<![\[$])\[([A-Za-z][A-Za-z0-9_ /.-]{1,60})\](?!\])")
_YOUR = re.compile(r"\b(?:YOUR_[A-Z0-9_]+|your[-_][a-z0-9]+(?:[-_][a-z0-9]+)*(?:\.[a-z]{2,})*)")
_CAPS = re.compile(r"(?<![\w${])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?![\w(])")
_EMBEDDED = re.compile(r"(?<=[a-z0-9][_.-])([A-Z]{2,})(?=[_.-]?[a-z0-9]|\b)")
_STANDALONE = re.compile(r"(?<![\w$.-])([A-Z]{2,})(?![\w.-])")
_PATH_TO = re.compile(r"/path/to((?:/[A-Za-z0-9_.@+-]+)+)")
_HOST = re.compile(
    r"(?<=://)((?:new|your|my|the)-[a-z]+(?:-[a-z]+)*-(?:ip|host|hostname|server))(?=[:/])"
)


@dataclass(frozen=True)
class Placeholder:
    start: int
    end: int
    raw: str
    name: str
    type: ParamType
    secret: bool


def snake(text: str) -> str:
    """`userId` → user_id, `backup-id` → backup_id, `SERVICE_NAME` → service_name."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text.strip())
    text = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    text = re.sub(r"^your_", "", text)
    if not text:
        return "value"
    if text[0].isdigit():
        text = f"value_{text}"
    return text[:60].rstrip("_")


def _path_name(rest: str) -> str:
    parts = [re.sub(r"\..*$", "", p) for p in rest.strip("/").split("/") if p]
    return snake("_".join(parts[-2:]) + "_path") if parts else "path"


def _typed(name: str) -> tuple[ParamType, bool]:
    last = name.rsplit("_", 1)[-1]
    kind: ParamType = "int" if name in _INT_NAMES or last in ("port", "count") else "string"
    return kind, bool(_SECRET.search(name))


def _assignment(text: str, start: int, end: int) -> bool:
    """`FEATURE_UGC_ANALYSIS=false` at the start of a word sets a variable."""
    before = text[start - 1] if start > 0 else " "
    return before in " \t\n\"'" and text.startswith("=", end)


def _looks_like_char_class(body: str) -> bool:
    return not re.search(r"[A-Za-z]{3}", body) or ":" in body


def find(text: str, skip: list[tuple[int, int]] | None = None) -> list[Placeholder]:
    """The placeholders in `text`, outside the `skip` spans (comments, literal text),
    left to right and not overlapping."""
    skip = skip or []
    found: list[tuple[int, int, str, str]] = []

    def add(start: int, end: int, raw: str, name: str) -> None:
        if any(a < end and start < b for a, b in skip):
            return
        if any(a < end and start < b for a, b, _, _ in found):
            return
        found.append((start, end, raw, name))

    for match in _PATH_TO.finditer(text):
        add(match.start(), match.end(), match.group(0), _path_name(match.group(1)))
    for match in _HOST.finditer(text):
        add(match.start(), match.end(), match.group(0), snake(match.group(1)))
    for match in _ANGLE.finditer(text):
        add(match.start(), match.end(), match.group(0), snake(match.group(1)))
    for match in _BRACKET.finditer(text):
        if not _looks_like_char_class(match.group(1)):
            add(match.start(), match.end(), match.group(0), snake(match.group(1)))
    for match in _YOUR.finditer(text):
        raw = match.group(0)
        add(match.start(), match.end(), raw, snake(raw.split(".")[0]))
    for match in _CAPS.finditer(text):
        word = match.group(1)
        if word in _VOCABULARY or _assignment(text, match.start(), match.end()):
            continue
        add(match.start(), match.end(), word, snake(word))
    for match in _EMBEDDED.finditer(text):
        if match.group(1) in _EMBEDDED_NOUNS:
            add(match.start(), match.end(), match.group(1), snake(match.group(1)))
    for match in _STANDALONE.finditer(text):
        if match.group(1) in _STANDALONE_NOUNS:
            add(match.start(), match.end(), match.group(1), snake(match.group(1)))
    out: list[Placeholder] = []
    for start, end, raw, name in sorted(found):
        kind, secret = _typed(name)
        out.append(Placeholder(start, end, raw, name, kind, secret))
    return out


def env_name(param: str) -> str:
    """The environment variable the runner sets for a parameter."""
    return f"OPSBOOK_PARAM_{param.upper()}"


def template(param: str) -> str:
    return f"{{{{ params.{param} }}}}"
