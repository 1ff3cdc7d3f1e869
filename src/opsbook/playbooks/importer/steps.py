"""Runbook commands, statements and instructions as playbook steps.

The step kinds decide the shape: a command with no shell syntax is an argv list (a
parameter fills one argument through `{{ params.x }}`); anything a shell must read is a
`shell: true` script, which takes no templates, so a parameter arrives as
`"${OPSBOOK_PARAM_X}"`; SQL takes `%(x)s` bind parameters. Whatever needs a person at a
terminal becomes a `manual` step that shows the command.
"""

from __future__ import annotations

import re

from opsbook.playbooks.importer import classify, placeholders, sqltext
from opsbook.playbooks.importer import shellsyntax as sh
from opsbook.playbooks.importer.commands import ShellItem
from opsbook.playbooks.importer.drafts import DraftParam, DraftPlaybook, DraftStep
from opsbook.playbooks.importer.placeholders import Placeholder
from opsbook.playbooks.templating import has_template

CONNECTION = "database"
CONNECTION_ENV = "DATABASE_URL"
MAX_INSTRUCTION = 5000
MAX_TITLE = 300
BASH_DELIMITER = "OPSBOOK_BASH"
_SENTINEL = "OPSBOOKPLACEHOLDER{}X"
_POSITIONAL = re.compile(r"\$(?:\{([1-9])\}|([1-9]))")
_POSITIONAL_ASSIGN = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)=\"?\$\{?([1-9])\}?\"?\s*$", re.M)


def escape_template(text: str) -> str:
    """Literal text for a field that renders templates (`{{` in a runbook is not one)."""
    if not has_template(text):
        return text
    if "endraw" in text:
        return re.sub(r"\{([{%#])", r"{ \1", text)
    return f"{{% raw %}}{text}{{% endraw %}}"


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def manual(instruction: str, title: str, line: int, playbook: DraftPlaybook) -> DraftStep:
    text = instruction.strip() or title
    if len(text) > MAX_INSTRUCTION:
        playbook.note(line, f"instruction shortened to {MAX_INSTRUCTION} characters", title)
        text = clip(text, MAX_INSTRUCTION)
    return DraftStep(
        "manual",
        {"instruction": escape_template(text)},
        clip(title, MAX_TITLE),
        line,
        name_hint=text.split("\n", 1)[0],
    )


def _declare(found: list[Placeholder], line: int, playbook: DraftPlaybook) -> None:
    for placeholder in found:
        playbook.param(
            DraftParam(
                placeholder.name,
                placeholder.type,
                f"Fills {placeholder.raw} (runbook line {line}).",
                line,
                secret=placeholder.secret,
            )
        )


def _quoted_or_comment_spans(text: str, kinds: tuple[str, ...]) -> list[tuple[int, int]]:
    ctx = sh.contexts(text)
    spans: list[tuple[int, int]] = []
    start = None
    for index, kind in enumerate(ctx + sh.UNQUOTED):
        inside = kind in kinds
        if inside and start is None:
            start = index
        elif not inside and start is not None:
            spans.append((start, index))
            start = None
    return spans


def _argv_item(word: str, names: dict[str, str]) -> str:
    """One argv item: literal text escaped for the template engine, each placeholder
    sentinel turned into its `{{ params.x }}`."""
    pattern = re.compile("|".join(re.escape(s) for s in names) or r"(?!)")
    out: list[str] = []
    last = 0
    for match in pattern.finditer(word):
        out.append(escape_template(word[last : match.start()]))
        out.append(placeholders.template(names[match.group(0)]))
        last = match.end()
    out.append(escape_template(word[last:]))
    return "".join(out)


def bash_script(script: str) -> str:
    """A script for /bin/sh that hands `script` to bash unchanged (a quoted heredoc
    expands nothing), for runbook scripts written for bash."""
    return f"exec bash -c \"$(cat <<'{BASH_DELIMITER}'\n{script}\n{BASH_DELIMITER}\n)\""


def _posix(prelude_line: str) -> str:
    return re.sub(r"^\s*source\s+", ". ", prelude_line)


def _script_spec(script: str, title: str, line: int, playbook: DraftPlaybook) -> dict[str, object]:
    if classify.is_bash(script) and BASH_DELIMITER not in script:
        playbook.note(line, "uses bash syntax: the script is handed to bash", title)
        script = bash_script(script)
    return {"shell": True, "script": script}


def command_step(item: ShellItem, title: str, playbook: DraftPlaybook) -> DraftStep:
    text = item.text
    skip = _quoted_or_comment_spans(text, (sh.COMMENT, sh.HEREDOC_LITERAL))
    found = placeholders.find(text, skip)
    _declare(found, item.line, playbook)
    sentinels = {_SENTINEL.format(i): p.name for i, p in enumerate(found)}
    neutral = text
    for (sentinel, _), placeholder in sorted(
        zip(sentinels.items(), found, strict=True), key=lambda pair: -pair[1].start
    ):
        neutral = neutral[: placeholder.start] + sentinel + neutral[placeholder.end :]
    words: list[str] = []
    if not item.prelude and sh.syntax(neutral).simple:
        try:
            words = sh.argv(neutral)
        except ValueError:
            words = []
    spec: dict[str, object]
    if words and not any(s in words[0] for s in sentinels):
        spec = {"argv": [_argv_item(word, sentinels) for word in words]}
    else:
        spans = [(p.start, p.end, placeholders.env_name(p.name)) for p in found]
        body = sh.substitute(text, spans)
        script = "\n".join([*(_posix(p) for p in item.prelude), body])
        if has_template(script):
            playbook.note(
                item.line,
                "contains {{, {% or {# , which a step script may not: kept as a manual step",
                title,
            )
            return manual(f"Run in a terminal:\n{text}", title, item.line, playbook)
        spec = _script_spec(script, title, item.line, playbook)
    if item.cwd:
        spec["cwd"] = item.cwd
    if item.env:
        spec["env"] = dict(item.env)
    if classify.grep_last(text):
        spec["expect_exit"] = [0, 1]
    assigned = sh.assigned_variables("\n".join(item.prelude))
    playbook.env.update(sh.environment_needs(text, assigned))
    step = DraftStep("shell", spec, clip(title, MAX_TITLE), item.line, classify.danger(text))
    step.name_hint = _command_name(text)
    return step


def script_step(item: ShellItem, title: str, playbook: DraftPlaybook) -> DraftStep:
    """A whole `#!` script: its arguments become parameters, its prompts are reported."""
    script = item.text
    names: dict[str, str] = {}
    for match in _POSITIONAL_ASSIGN.finditer(script):
        names.setdefault(match.group(2), placeholders.snake(match.group(1)))
    spans: list[tuple[int, int, str]] = []
    ctx = sh.contexts(script)
    for match in _POSITIONAL.finditer(script):
        if ctx[match.start()] not in (sh.UNQUOTED, sh.DOUBLE, sh.HEREDOC):
            continue
        number = match.group(1) or match.group(2)
        name = names.setdefault(number, f"arg{number}")
        spans.append((match.start(), match.end(), placeholders.env_name(name)))
    for number, name in sorted(names.items()):
        if any(s[2] == placeholders.env_name(name) for s in spans):
            playbook.param(
                DraftParam(name, "string", f"The script's argument ${number}.", item.line)
            )
            playbook.note(item.line, f"the script's argument ${number} is parameter {name}", title)
    script = sh.substitute(script, spans)
    reason = classify.interactive(script)
    if reason:
        playbook.note(
            item.line,
            f"the script {reason}; a step has no terminal, so edit that part out (a "
            "dangerous step asks for confirmation before it runs)",
            title,
        )
    if has_template(script):
        playbook.note(item.line, "contains {{, {% or {# : kept as a manual step", title)
        return manual(f"Run this script:\n{item.text}", title, item.line, playbook)
    playbook.env.update(sh.environment_needs(script))
    spec = _script_spec(script, title, item.line, playbook)
    step = DraftStep("shell", spec, clip(title, MAX_TITLE), item.line, classify.danger(script))
    step.name_hint = "script"
    return step


def interactive_step(
    item: ShellItem, title: str, reason: str, playbook: DraftPlaybook
) -> DraftStep:
    playbook.note(item.line, f"{reason}: kept as a manual step", title)
    step = manual(f"Run in a terminal ({reason}):\n{item.text}", title, item.line, playbook)
    step.name_hint = _command_name(item.text)
    return step


def cron_step(item: ShellItem, title: str, playbook: DraftPlaybook) -> DraftStep:
    playbook.note(item.line, "a crontab entry, not a command: kept as a manual step", title)
    step = manual(f"Make sure this crontab entry is installed:\n{item.text}", title or
                  "Crontab entry", item.line, playbook)  # fmt: skip
    step.name_hint = "crontab-entry"
    return step


def sql_step(text: str, title: str, line: int, playbook: DraftPlaybook) -> DraftStep:
    query = sqltext.tidy(sqltext.strip_terminator(text))
    found = placeholders.find(query, sqltext.comments(query))
    literals = sqltext.literals(query)
    _declare(found, line, playbook)
    out: list[str] = []
    last = 0
    binds: dict[str, str] = {}
    for placeholder in found:
        bind = f"%({placeholder.name})s"
        binds[placeholder.name] = placeholders.template(placeholder.name)
        literal = next((s for s in literals if s[0] < placeholder.start < s[1]), None)
        if literal and query[literal[0] + 1 : literal[1] - 1] == placeholder.raw:
            out.append(sqltext.escape_percent(query[last : literal[0]]))
            out.append(bind)
            last = literal[1]
            continue
        out.append(sqltext.escape_percent(query[last : placeholder.start]))
        out.append(f"' || {bind} || '" if literal else bind)
        last = placeholder.end
    out.append(sqltext.escape_percent(query[last:]))
    query = "".join(out)
    if has_template(query):
        playbook.note(line, "contains {{, {% or {# : kept as a manual step", title)
        return manual(f"Run this SQL:\n{text}", title, line, playbook)
    if sqltext.needs_own_transaction(text):
        playbook.note(
            line,
            "PostgreSQL refuses this statement inside a transaction, and a sql step runs in "
            "one: run it with psql in a shell step instead",
            title,
        )
    spec: dict[str, object] = {"connection": CONNECTION, "query": query}
    if binds:
        spec["params"] = binds
    if sqltext.writes(text):
        spec["write"] = True
    step = DraftStep("sql", spec, clip(title, MAX_TITLE), line, sqltext.danger(text))
    step.name_hint = _query_name(text)
    return step


def _command_name(text: str) -> str:
    found = classify.commands(text)
    if not found:
        return "command"
    first = found[0]
    words = [first.program.removesuffix(".sh"), *first.subcommands[:2]]
    return " ".join(w for w in words if not w.startswith(("/", ".")))


def _query_name(text: str) -> str:
    code = sqltext.code_only(text)
    table = re.search(r"\b(?:FROM|INTO|UPDATE|TABLE)\s+([\w.]+)", code, re.IGNORECASE)
    keyword = sqltext.first_keyword(text).lower() or "query"
    return f"{keyword} {table.group(1)}" if table else keyword
