"""Just enough of Bash's quoting rules to edit commands without changing what they mean.

The importer decides whether a command can run as an argv list, which variables it reads
from the environment, and how a placeholder becomes a parameter; all three depend on
whether a character is quoted. This is a scanner, not a parser: it knows quotes, escapes,
comments, `$(…)`, backticks and heredocs, which is what commands in runbooks use.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from functools import lru_cache

UNQUOTED = "u"
SINGLE = "s"
DOUBLE = "d"
COMMENT = "c"
HEREDOC = "h"  # expands $VAR like double quotes
HEREDOC_LITERAL = "H"  # <<'EOF': nothing expands
ESCAPED = "e"  # the character after an unquoted backslash: literal, like a quoted one

_WORD_BREAK = set(" \t\n;|&()<>")
_SPECIAL = re.compile(r"[\\'\"#$`<]")
_HEREDOC = re.compile(r"<<(-?)[ \t]*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class Scanner:
    """Quoting state carried from one line to the next, so a long command is read once
    even as it grows line by line (a heredoc or an unclosed quote can be long)."""

    def __init__(self) -> None:
        self.stack: list[str] = [UNQUOTED]  # UNQUOTED, SINGLE, DOUBLE, "(" for $(…), "`"
        self.depth: list[int] = []  # open parentheses inside each $(…)
        self.pending: list[tuple[str, bool, bool]] = []  # heredocs starting next line
        self.bodies: list[tuple[str, bool, bool]] = []  # heredocs being read

    @property
    def open(self) -> bool:
        """A quote, `$(…)`, backquote or heredoc is still open."""
        return len(self.stack) > 1 or bool(self.pending) or bool(self.bodies)

    def line(self, text: str) -> str:
        """Contexts for `text` (one line, no newline) and for the newline after it."""
        if self.bodies:
            delimiter, literal, strip_tabs = self.bodies[0]
            if (text.lstrip("\t") if strip_tabs else text) == delimiter:
                self.bodies.pop(0)
                return UNQUOTED * (len(text) + 1)
            return (HEREDOC_LITERAL if literal else HEREDOC) * (len(text) + 1)
        if len(self.stack) == 1 and not _SPECIAL.search(text):
            return UNQUOTED * (len(text) + 1)
        out: list[str] = []
        stack, depth = self.stack, self.depth
        i = 0
        n = len(text)
        while i < n:
            char = text[i]
            top = stack[-1]
            if top == SINGLE:
                out.append(SINGLE)
                if char == "'":
                    stack.pop()
                i += 1
                continue
            if top == DOUBLE:
                out.append(DOUBLE)
                if char == "\\" and i + 1 < n:
                    out.append(DOUBLE)
                    i += 2
                    continue
                if char == '"':
                    stack.pop()
                elif text.startswith("$(", i):
                    out.append(UNQUOTED)
                    stack.append("(")
                    depth.append(0)
                    i += 2
                    continue
                elif char == "`":
                    stack.append("`")
                i += 1
                continue
            # unquoted, inside $(…) or inside backticks
            if char == "\\":
                out.append(UNQUOTED)
                if i + 1 < n:
                    out.append(ESCAPED)
                i += 2
                continue
            if char in "'\"":
                stack.append(SINGLE if char == "'" else DOUBLE)
                out.append(stack[-1])
                i += 1
                continue
            if char == "#" and (i == 0 or text[i - 1] in _WORD_BREAK):
                out += [COMMENT] * (n - i)
                break
            if text.startswith("$(", i):
                out += [UNQUOTED, UNQUOTED]
                stack.append("(")
                depth.append(0)
                i += 2
                continue
            if top == "(" and char == "(":
                depth[-1] += 1
            elif top == "(" and char == ")":
                if depth[-1] == 0:
                    stack.pop()
                    depth.pop()
                else:
                    depth[-1] -= 1
            elif char == "`":
                if top == "`":
                    stack.pop()
                else:
                    stack.append("`")
            elif char == "<" and text.startswith("<<", i) and not text.startswith("<<<", i):
                match = _HEREDOC.match(text, i)
                if match:
                    heredoc = (match.group(3), bool(match.group(2)), bool(match.group(1)))
                    self.pending.append(heredoc)
                    out += [UNQUOTED] * (match.end() - i)
                    i = match.end()
                    continue
            out.append(UNQUOTED)
            i += 1
        top = stack[-1]
        newline = DOUBLE if top == DOUBLE else SINGLE if top == SINGLE else UNQUOTED
        trailing = len(text) - len(text.rstrip("\\"))
        if newline == UNQUOTED and trailing % 2 == 1 and out[-1:] == [UNQUOTED]:
            newline = ESCAPED  # a line continuation
        out.append(newline)
        if self.pending and newline == UNQUOTED:
            self.bodies, self.pending = self.pending, []
        return "".join(out)


@lru_cache(maxsize=1024)
def contexts(text: str) -> str:
    """One context letter per character of `text` (see the constants above). Cached:
    the same command is looked at for its syntax, comment, words and variables."""
    if not _SPECIAL.search(text):
        return UNQUOTED * len(text)
    scanner = Scanner()
    return "".join(scanner.line(line) for line in text.split("\n"))[: len(text)]


def strip_comment(text: str) -> tuple[str, str]:
    """The command without its trailing `# comment`, and the comment's text."""
    ctx = contexts(text)
    start = ctx.find(COMMENT)
    if start < 0:
        return text, ""
    end = start
    while end < len(ctx) and ctx[end] == COMMENT:
        end += 1
    comment = text[start:end].lstrip("#").strip()
    if "\n" in text[end:]:  # a comment inside a multi-line command: keep the text
        return text, ""
    return text[:start].rstrip(), comment


@dataclass(frozen=True)
class Syntax:
    """The shell features a command uses, found outside quotes."""

    features: tuple[str, ...]

    @property
    def simple(self) -> bool:
        return not self.features


_FEATURES: list[tuple[str, re.Pattern[str]]] = [
    ("pipe", re.compile(r"\|")),
    ("redirect", re.compile(r"[<>]")),
    ("and-or list", re.compile(r"&&|\|\|")),
    ("background", re.compile(r"&")),
    ("command list", re.compile(r";")),
    ("subshell", re.compile(r"[()]")),
    ("glob", re.compile(r"[*?\[]")),
    ("brace expansion", re.compile(r"\{[^}\s]*,[^}\s]*\}")),
    ("home directory", re.compile(r"(?:^|\s)~")),
    ("backquote", re.compile(r"`")),
    ("several lines", re.compile(r"\n")),
]


def syntax(text: str) -> Syntax:
    """What makes `text` need a shell (empty: it can run as an argv list)."""
    ctx = contexts(text)
    found: list[str] = []
    bare = "".join(c if ctx[i] == UNQUOTED else " " for i, c in enumerate(text))
    expanding = "".join(
        c if ctx[i] in (UNQUOTED, DOUBLE, HEREDOC) else " " for i, c in enumerate(text)
    )
    # A line continuation is layout, not syntax: shlex joins it like the shell does.
    bare = bare.replace("\\\n", "  ")
    if "$" in expanding:
        found.append("expansion")
    if COMMENT in ctx:
        found.append("comment")
    if HEREDOC in ctx or HEREDOC_LITERAL in ctx:
        found.append("heredoc")
    for name, pattern in _FEATURES:
        if pattern.search(bare) and name not in found:
            if name == "background" and not re.search(r"(?<![&>|])&(?![&>])", bare):
                continue
            found.append(name)
    words = bare.split()
    if words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        found.append("variable assignment")
    return Syntax(tuple(found))


def join_lines(text: str) -> str:
    """The text with its line continuations (an unquoted backslash-newline) removed,
    as the shell removes them before it splits words."""
    ctx = contexts(text)
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("\\\n", i) and ctx[i] in (UNQUOTED, DOUBLE):
            out.append(" " if ctx[i] == UNQUOTED else "")
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def argv(text: str) -> list[str]:
    """The argv of a simple command (see `syntax`)."""
    return shlex.split(join_lines(text), comments=False, posix=True)


_SPECIAL_VARIABLES = frozenset(
    [
        "HOME",
        "PATH",
        "USER",
        "PWD",
        "OLDPWD",
        "SHELL",
        "HOSTNAME",
        "RANDOM",
        "LINENO",
        "SECONDS",
        "IFS",
        "TERM",
        "LANG",
        "UID",
        "EUID",
        "PPID",
        "BASH",
        "BASH_SOURCE",
        "BASH_VERSION",
        "FUNCNAME",
        "PIPESTATUS",
        "REPLY",
        "OPTARG",
        "OPTIND",
        "TMPDIR",
        "LOGNAME",
        "EDITOR",
    ]
)
_USE = re.compile(r"\$(?:\{(#?)([A-Za-z_][A-Za-z0-9_]*)([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_ASSIGN = re.compile(
    r"(?:^|[;&|({]|\b(?:export|local|declare|readonly|typeset)(?:\s+-\w+)*)\s*"
    r"([A-Za-z_][A-Za-z0-9_]*)(?:\[[^\]]*\])?\+?="
)
_READ = re.compile(r"\bread\b((?:\s+-\w+(?:\s+(?!-)\S+)?)*)((?:\s+[A-Za-z_][A-Za-z0-9_]*)+)")
_FOR = re.compile(r"\b(?:for|select)\s+([A-Za-z_][A-Za-z0-9_]*)\s+in\b")


def assigned_variables(text: str) -> set[str]:
    ctx = contexts(text)
    # Quoted text stays a word (Q), so `read -p "Continue?" answer` still reads `answer`.
    bare = "".join(
        c if ctx[i] == UNQUOTED else "\n" if c == "\n" else "Q" for i, c in enumerate(text)
    )
    names: set[str] = set()
    for line in bare.split("\n"):
        names.update(m.group(1) for m in _ASSIGN.finditer(line.strip()))
        names.update(m.group(1) for m in _FOR.finditer(line))
        for match in _READ.finditer(line):
            names.update(match.group(2).split())
    return names


def used_variables(text: str) -> dict[str, bool]:
    """Variables the text expands, each with whether it has a default (`${X:-y}`)."""
    ctx = contexts(text)
    used: dict[str, bool] = {}
    for match in _USE.finditer(text):
        if ctx[match.start()] not in (UNQUOTED, DOUBLE, HEREDOC):
            continue
        name = match.group(2) or match.group(4)
        has_default = bool(match.group(3) and re.match(r":?[-=+?]", match.group(3)))
        used[name] = used.get(name, False) or has_default
    return used


def environment_needs(text: str, assigned: set[str] | None = None) -> list[str]:
    """Variables the command reads that nothing in it sets: they must come from the
    environment the playbook runs in."""
    set_here = assigned_variables(text) | (assigned or set())
    return sorted(
        name
        for name, has_default in used_variables(text).items()
        if not has_default
        and name not in set_here
        and name not in _SPECIAL_VARIABLES
        and not name.startswith("OPSBOOK_")
    )


def env_reference(variable: str, context: str) -> str:
    """`$VARIABLE` written so that it expands to exactly one word in `context`."""
    if context == SINGLE:
        return f"'\"${{{variable}}}\"'"
    if context in (DOUBLE, HEREDOC):
        return f"${{{variable}}}"
    return f'"${{{variable}}}"'


def substitute(text: str, spans: list[tuple[int, int, str]]) -> str:
    """`text` with each (start, end) span replaced by a reference to its environment
    variable, quoted to suit where the span sits."""
    ctx = contexts(text)
    out: list[str] = []
    last = 0
    for start, end, variable in sorted(spans):
        if start < last:
            continue
        out.append(text[last:start])
        context = ctx[start] if start < len(ctx) else UNQUOTED
        if context in (HEREDOC_LITERAL, COMMENT):
            out.append(text[start:end])
        else:
            out.append(env_reference(variable, context))
        last = end
    out.append(text[last:])
    return "".join(out)


def segments(text: str) -> list[list[str]]:
    """The simple commands of a pipeline or list, each as its words (best effort: used
    to recognise programs, never to run anything)."""
    return [words for _, words in linked_segments(text)]


def linked_segments(text: str) -> list[tuple[str, list[str]]]:
    """Each simple command with the operator before it: "" first, "|" when it reads
    the previous command's output, else ";", "&&", "||", "&", "(" or a newline."""
    return [(op, list(words)) for op, words in _linked_segments(text)]


@lru_cache(maxsize=1024)
def _linked_segments(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    ctx = contexts(text)
    pieces: list[tuple[str, str]] = []
    current: list[str] = []
    operator = ""
    i = 0
    while i < len(text):
        char = text[i]
        if ctx[i] in (COMMENT, HEREDOC, HEREDOC_LITERAL):
            i += 1
            continue
        if ctx[i] == UNQUOTED and text.startswith("\\\n", i):
            current.append(" ")
            i += 2
            continue
        if ctx[i] == UNQUOTED and (char in "|;&\n()`" or text.startswith("$(", i)):
            pieces.append((operator, "".join(current)))
            current = []
            token = text[i : i + 2]
            if token in ("||", "&&", "$(", ";;"):
                operator, i = token, i + 2
            else:
                operator, i = char, i + 1
            continue
        current.append(char)
        i += 1
    pieces.append((operator, "".join(current)))
    out: list[tuple[str, tuple[str, ...]]] = []
    for op, piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        try:
            words = shlex.split(piece, posix=True)
        except ValueError:
            words = piece.split()
        if words:
            out.append((op, tuple(words)))
    return tuple(out)


def split_assignments(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """Leading `NAME=value` words (the command's environment) and the rest."""
    env: dict[str, str] = {}
    index = 0
    while index < len(words) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[index]):
        name, _, value = words[index].partition("=")
        env[name] = value
        index += 1
    return env, words[index:]


def is_name(text: str) -> bool:
    return bool(_NAME.fullmatch(text))
