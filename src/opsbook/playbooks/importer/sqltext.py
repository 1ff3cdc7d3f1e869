"""SQL from a runbook as single statements, each knowing whether it changes data.

A `sql` step runs one statement, read only unless it says `write: true`, with values as
`%(name)s` bind parameters and a literal `%` written `%%`. Runbooks paste several
statements per block, each under a `-- comment` that names it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBERED = re.compile(r"^(?:step\s+)?\d{1,3}[.):]\s*", re.IGNORECASE)
_WRITE_START = frozenset(
    [
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "DROP",
        "ALTER",
        "TRUNCATE",
        "CREATE",
        "GRANT",
        "REVOKE",
        "VACUUM",
        "ANALYZE",
        "REINDEX",
        "CLUSTER",
        "COMMENT",
        "REFRESH",
        "SECURITY",
        "LOCK",
        "CALL",
        "DO",
        "IMPORT",
        "REASSIGN",
    ]
)
_WRITE_FUNCTIONS = re.compile(
    r"\b(pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile|setval|"
    r"nextval|lo_unlink|pg_drop_replication_slot|pg_create_restore_point|pg_switch_wal|"
    r"pg_stat_reset\w*|set_config|dblink_exec|pg_promote|pg_advisory_lock)\s*\(",
    re.IGNORECASE,
)
_NO_TRANSACTION = re.compile(
    r"^\s*(VACUUM|CREATE\s+DATABASE|DROP\s+DATABASE|REINDEX\s+(DATABASE|SYSTEM)|"
    r"ALTER\s+SYSTEM)\b|\bCONCURRENTLY\b",
    re.IGNORECASE,
)

# Why a statement needs a person's confirmation before it runs.
_DANGEROUS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\s*DROP\b", re.IGNORECASE), "drops a database object (DROP)"),
    (re.compile(r"^\s*TRUNCATE\b", re.IGNORECASE), "empties a table (TRUNCATE)"),
    (re.compile(r"\bDELETE\s+FROM\b", re.IGNORECASE), "deletes rows (DELETE)"),
    (re.compile(r"\bALTER\s+TABLE\b.*\bDROP\b", re.IGNORECASE | re.DOTALL),
     "drops a column or constraint (ALTER TABLE … DROP)"),
    (re.compile(r"\bpg_terminate_backend\s*\(", re.IGNORECASE),
     "ends other sessions (pg_terminate_backend)"),
    (re.compile(r"\bpg_cancel_backend\s*\(", re.IGNORECASE),
     "cancels other sessions' queries (pg_cancel_backend)"),
]  # fmt: skip


@dataclass
class SqlStatement:
    text: str
    line: int
    title: str = ""


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of each string literal ("literal"), quoted identifier
    ("identifier") and comment ("comment") in `text`."""
    spans: list[tuple[int, int, str]] = []
    i = 0
    n = len(text)
    while i < n:
        char = text[i]
        end, kind = i, ""
        if text.startswith("--", i):
            end = text.find("\n", i)
            end, kind = (n if end < 0 else end), "comment"
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end, kind = (n if end < 0 else end + 2), "comment"
        elif char in "'\"":
            end = i + 1
            while end < n:
                if text[end] == char:
                    if end + 1 < n and text[end + 1] == char:
                        end += 2
                        continue
                    end += 1
                    break
                end += 1
            kind = "literal" if char == "'" else "identifier"
        elif char == "$":
            match = re.match(r"\$([A-Za-z_]\w*)?\$", text[i:])
            if match:
                tag = match.group(0)
                close = text.find(tag, i + len(tag))
                end, kind = (n if close < 0 else close + len(tag)), "literal"
        if end > i:
            spans.append((i, end, kind))
            i = end
        else:
            i += 1
    return spans


def _scan(text: str) -> str:
    """A copy of `text` with string literals, quoted identifiers and comments blanked
    (same length), so keywords and `;` are found only where SQL sees them."""
    out = list(text)
    for start, end, _ in _spans(text):
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "
    return "".join(out)


def comments(text: str) -> list[tuple[int, int]]:
    return [(a, b) for a, b, kind in _spans(text) if kind == "comment"]


def literals(text: str) -> list[tuple[int, int]]:
    """Spans of the '…' string literals, quotes included."""
    return [(a, b) for a, b, kind in _spans(text) if kind == "literal" and text[a] == "'"]


def code_only(text: str) -> str:
    return _scan(text)


def split_statements(content: str, first_line: int) -> list[SqlStatement]:
    """The statements of a SQL block, each titled by the `--` comment above it. Comments
    after the last statement come back as a statement with no text: an instruction."""
    blanked = _scan(content)
    ends = [i + 1 for i, char in enumerate(blanked) if char == ";"]
    if not ends or content[ends[-1] :].strip():
        ends.append(len(content))
    statements: list[SqlStatement] = []
    start = 0
    for end in ends:
        statement = _statement(content, start, end, first_line)
        start = end
        if statement is not None:
            statements.append(statement)
    return statements


def _statement(content: str, start: int, end: int, first_line: int) -> SqlStatement | None:
    titles: list[str] = []
    offset = start
    body_start = None
    title_start = start
    for line in content[start:end].split("\n"):
        stripped = line.strip()
        if stripped.startswith("--"):
            text = stripped.lstrip("-").strip()
            if not titles:
                title_start = offset
            if _NUMBERED.match(text):
                titles = [_NUMBERED.sub("", text)]
            elif text:
                titles.append(text)
        elif stripped and stripped != ";":
            body_start = offset + len(line) - len(line.lstrip())
            break
        offset += len(line) + 1
    title = titles[0] if titles else ""
    if len(titles) > 1:
        title = f"{titles[0]} — {' '.join(titles[1:])}"
    if body_start is None:
        title_line = first_line + content[:title_start].count("\n")
        return SqlStatement("", title_line, title) if title else None
    line_number = first_line + content[:body_start].count("\n")
    return SqlStatement(content[body_start:end].strip(), line_number, title)


def first_keyword(text: str) -> str:
    match = re.match(r"\s*\(?\s*([A-Za-z]+)", code_only(text))
    return match.group(1).upper() if match else ""


def writes(text: str) -> bool:
    """Whether the statement changes data or the server's state."""
    code = code_only(text)
    keyword = first_keyword(text)
    if keyword in _WRITE_START:
        return True
    if keyword == "WITH" and re.search(r"\b(INSERT|UPDATE|DELETE|MERGE)\b", code, re.I):
        return True
    if keyword == "SELECT" and re.search(r"\bINTO\b", code, re.IGNORECASE):
        return True
    if keyword == "COPY" and re.search(r"\bFROM\b", code, re.IGNORECASE):
        return True
    return bool(_WRITE_FUNCTIONS.search(code))


def danger(text: str) -> list[str]:
    """Why this statement is destructive (empty: it is not)."""
    code = code_only(text)
    reasons = [reason for pattern, reason in _DANGEROUS if pattern.search(code)]
    if first_keyword(text) == "UPDATE" and not re.search(r"\bWHERE\b", code, re.IGNORECASE):
        reasons.append("changes every row of a table (UPDATE without WHERE)")
    return reasons


def needs_own_transaction(text: str) -> bool:
    """Statements PostgreSQL refuses inside a transaction block (a sql step runs in one)."""
    return bool(_NO_TRANSACTION.search(code_only(text)))


def escape_percent(text: str) -> str:
    """A literal `%` is `%%` in a statement with bind parameters (LIKE 'a%')."""
    return text.replace("%", "%%")


def tidy(text: str) -> str:
    """The statement without spaces at line ends (outside string literals), so it reads
    as a block in YAML."""
    inside = literals(text)
    out: list[str] = []
    start = 0
    for index, char in enumerate(text):
        if char == "\n" and not any(a < index < b for a, b in inside):
            out.append(text[start:index].rstrip(" \t"))
            start = index
    out.append(text[start:])
    return "".join(out)


def strip_terminator(text: str) -> str:
    """The statement without its final `;` (a step runs exactly one statement)."""
    code = code_only(text)
    stripped = code.rstrip()
    if stripped.endswith(";"):
        cut = len(stripped) - 1
        return (text[:cut] + text[cut + 1 :]).rstrip()
    return text.rstrip()
