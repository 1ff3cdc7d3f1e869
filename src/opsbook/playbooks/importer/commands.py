"""A fenced shell block as the list of things a person would do, in order.

Runbook authors write one command per line, continue long ones with `\\`, open heredocs
and loops that must stay whole, and put the name of the next step in a comment
(`# 2. Check logs`). A comment that is followed by no command is itself an instruction
("# Monitor for 10 minutes"). Lines a shell would not run are recognised too: a crontab
entry, SQL typed into a `psql` prompt, a configuration file pasted into a shell block.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from typing import Literal

from opsbook.playbooks.importer import shellsyntax as sh

ItemKind = Literal["command", "sql", "instruction", "cron", "script"]

_NUMBERED = re.compile(r"^(?:step\s+)?(\d{1,3})[.):]\s*(.*)$", re.IGNORECASE)
_SQL_START = re.compile(
    r"^(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|TRUNCATE|GRANT|REVOKE|VACUUM|"
    r"ANALYZE|EXPLAIN|SHOW|REINDEX|CLUSTER|COPY|CALL|BEGIN|COMMIT|ROLLBACK|REFRESH|SET)\b"
)
_CRON = re.compile(
    r"^(?:@(?:reboot|yearly|annually|monthly|weekly|daily|hourly)|"
    r"(?:[\d*][\d*/,-]*\s+){4}[\d*A-Za-z][\d*/,A-Za-z-]*)\s+\S"
)
_FILE_COMMENT = re.compile(r"^#\s*((?:/|~/)[\w.@+-]+(?:/[\w.@+-]+)+)\s*$")
_CONTEXT = re.compile(r"^(for|if|when|or|option|alternatively|otherwise)\b", re.IGNORECASE)
_OPENERS = {"if": 1, "case": 1, "do": 1, "{": 1, "fi": -1, "esac": -1, "done": -1, "}": -1}


@dataclass
class ShellItem:
    kind: ItemKind
    text: str
    line: int
    title: str = ""
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    prelude: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class ShellBlock:
    items: list[ShellItem]
    file_path: str | None = None  # the block is the content of this file, not commands
    assignments_only: bool = False  # the block only sets variables (an .env listing)


def _comment_text(line: str) -> str:
    return line.strip().lstrip("#").strip()


def _numbered(text: str) -> tuple[bool, str]:
    match = _NUMBERED.match(text)
    if match and match.group(2):
        return True, match.group(2).strip()
    return False, text


def _depth(text: str) -> int:
    depth = 0
    for words in sh.segments(text):
        depth += _OPENERS.get(words[0], 0)
        if words[0] in ("then", "else", "do") and words[-1] in ("fi", "done"):
            depth += _OPENERS[words[-1]]
    return depth


def _continues(line: str, ctx: str, scanner: sh.Scanner, depth: int) -> bool:
    """Whether the command goes on after `line` (its contexts `ctx`, newline included)."""
    if scanner.open or depth > 0 or ctx[-1:] == sh.ESCAPED:
        return True
    code = "".join(c for c, k in zip(line, ctx, strict=False) if k == sh.UNQUOTED).rstrip()
    return code.endswith(("|", "&&", "||"))


def _title_of(lines: list[str]) -> tuple[str, bool]:
    numbered, first = _numbered(lines[0])
    rest = " ".join(lines[1:])
    return (f"{first} — {rest}" if rest else first), numbered


@dataclass
class _Group:
    lines: list[str]
    line: int
    after_command: bool  # directly below a command, no blank line between
    closed: bool = False  # a blank line followed it


class _Splitter:
    def __init__(self, lines: list[str], first_line: int) -> None:
        self.lines = lines
        self.first_line = first_line
        self.items: list[ShellItem] = []
        self.group: _Group | None = None
        self.title = ""
        self.numbered_title = False
        self.context = ""

    def resolve_group(self, followed_by_command: bool) -> None:
        """Decide what a run of comment lines was, now that the next line is known."""
        group, self.group = self.group, None
        if group is None:
            return
        text, numbered = _title_of(group.lines)
        if followed_by_command:
            if group.after_command and self.numbered_title and not numbered:
                self.instruction(group, text)  # "# Monitor for 10 minutes" between commands
            else:
                self.title, self.numbered_title = self.with_context(text), numbered
            return
        if text.endswith(":"):
            return  # a label for what follows ("# daily.sh contents:")
        if _CONTEXT.match(text):
            self.context = text.rstrip(":")  # "# For custom certificates" heads the next
            return
        self.instruction(group, text)

    def instruction(self, group: _Group, text: str) -> None:
        body = "\n".join(_numbered(line)[1] for line in group.lines)
        self.items.append(ShellItem("instruction", body, group.line, self.with_context(text)))

    def with_context(self, text: str) -> str:
        return f"{self.context}: {text}" if self.context else text

    def run(self) -> list[ShellItem]:
        index = 0
        after_command = False
        while index < len(self.lines):
            stripped = self.lines[index].strip()
            number = self.first_line + index
            index += 1
            if not stripped:
                if self.group is not None:
                    self.group.closed = True
                else:
                    self.context = ""
                after_command = False
                continue
            if stripped.startswith("#"):
                text = _comment_text(stripped)
                if stripped.startswith("#!") or not text:
                    continue
                numbered, _ = _numbered(text)
                group = self.group
                if group is not None and not group.closed and not numbered and not after_command:
                    group.lines.append(text)
                    continue
                self.resolve_group(followed_by_command=False)
                self.group = _Group([text], number, after_command)
                after_command = False
                continue
            index = self.take_command(index - 1)
            after_command = True
        self.resolve_group(followed_by_command=False)
        return self.items

    def take_command(self, index: int) -> int:
        self.resolve_group(followed_by_command=True)
        start = index
        first = self.lines[index].strip()
        if _SQL_START.match(first):
            while index < len(self.lines):
                body = self.lines[index].split("--", 1)[0].rstrip()
                index += 1
                if body.endswith(";") or not body:
                    break
            text = "\n".join(line.rstrip() for line in self.lines[start:index]).strip()
            self.items.append(ShellItem("sql", text, self.first_line + start, self.title))
            return index
        if _CRON.match(first):
            self.items.append(ShellItem("cron", first, self.first_line + start, self.title))
            return index + 1
        scanner = sh.Scanner()
        depth = 0
        lines: list[str] = []
        while index < len(self.lines):
            line = self.lines[index]
            index += 1
            lines.append(line)
            at_command = len(scanner.stack) == 1 and not scanner.bodies
            ctx = scanner.line(line)
            if at_command:
                depth += _depth(line)
            if not _continues(line, ctx, scanner, depth):
                break
        text = _dedent("\n".join(lines))
        command, inline = sh.strip_comment(text)
        title = self.title
        if inline:
            title = f"{title} ({inline})" if title else inline
        self.items.append(ShellItem("command", command, self.first_line + start, title))
        return index


def _dedent(text: str) -> str:
    lines = [line.rstrip() for line in text.split("\n")]
    indents = [len(line) - len(line.lstrip()) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines).strip("\n")


def _script_title(lines: list[str]) -> str:
    for line in lines[1:]:
        stripped = line.strip()
        if not stripped.startswith("#"):
            break
        if stripped.startswith("#!") or _FILE_COMMENT.match(stripped):
            continue
        text = _comment_text(stripped)
        if text:
            return _numbered(text)[1]
    return ""


def split_block(content: str, first_line: int, state: TerminalState | None = None) -> ShellBlock:
    """The items of a shell block whose first content line is `first_line`; `state`
    carries `cd` and the like from earlier blocks of the same procedure."""
    lines = [line.rstrip() for line in content.rstrip("\n").split("\n")]
    first = next((line.strip() for line in lines if line.strip()), "")
    if first.startswith("#!"):
        # A script (it says so): its commands share variables and `set -e`, so it runs
        # as one step.
        offset = next(i for i, line in enumerate(lines) if line.strip())
        script = "\n".join(lines[offset:]).strip("\n")
        item = ShellItem("script", script, first_line + offset, _script_title(lines[offset:]))
        return ShellBlock([item])
    file_match = _FILE_COMMENT.match(first)
    if file_match:
        return ShellBlock([], file_path=file_match.group(1))
    items = _Splitter(lines, first_line).run()
    commands = [i for i in items if i.kind == "command"]
    if commands and all(_only_assignments(i.text) for i in commands) and len(commands) > 1:
        return ShellBlock(items, assignments_only=True)
    return ShellBlock(_carry_state(items, state if state is not None else TerminalState()))


def _only_assignments(text: str) -> bool:
    words = sh.segments(text)
    return bool(words) and all(not sh.split_assignments(w)[1] for w in words)


_PRELUDE = {"source", ".", "set", "shopt", "ulimit", "umask", "alias", "trap", "unset"}


@dataclass
class TerminalState:
    """What earlier commands of a procedure left in the reader's terminal: the runbook
    assumes one terminal, a step gets a fresh shell each time."""

    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    prelude: list[str] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)


def _carry_state(items: list[ShellItem], state: TerminalState) -> list[ShellItem]:
    """Hand what `cd`, `export` and `source venv/bin/activate` leave behind to every
    later step: as its working directory, its environment, or lines run first."""
    out: list[ShellItem] = []
    for item in items:
        if item.kind != "command":
            out.append(item)
            continue
        words = sh.segments(item.text)
        single = len(words) == 1 and "\n" not in item.text.strip()
        head = words[0] if words and single else []
        if head[:1] == ["cd"] and len(head) == 2 and sh.syntax(item.text).simple:
            target = head[1]
            if not target.startswith(("-", "~")):
                state.cwd = posixpath.normpath(posixpath.join(state.cwd or "", target))
                state.notes.append((item.line, f"`{item.text}`: later steps run in {state.cwd}"))
                continue
        if head[:1] == ["export"] and len(head) > 1:
            pairs = [w.partition("=") for w in head[1:]]
            if all(sep and "$" not in value and "`" not in value and sh.is_name(name)
                   for name, sep, value in pairs):  # fmt: skip
                state.env.update({name: value for name, _, value in pairs})
                state.notes.append((item.line, f"`{item.text}`: later steps get it in env"))
                continue
        if head and (head[0] in _PRELUDE or _only_assignments(item.text)):
            state.prelude.append(item.text)
            state.notes.append((item.line, f"`{item.text}` runs first in every later step"))
            continue
        item.cwd, item.env, item.prelude = state.cwd, dict(state.env), list(state.prelude)
        out.append(item)
    return out
