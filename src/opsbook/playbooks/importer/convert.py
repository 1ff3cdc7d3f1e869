"""Runbook sections as draft playbooks, and a list of what could not be mapped.

A heading whose own content holds commands, SQL, a checklist or numbered instructions
is a procedure; prose, tables, diagrams and code in other languages are left for a
person and listed with their line numbers. Contacts and escalation chains are people,
not steps, so their numbered lists are listed too.
"""

from __future__ import annotations

import re

from opsbook.playbooks.importer import classify, placeholders, steps
from opsbook.playbooks.importer.commands import ShellItem, TerminalState, split_block
from opsbook.playbooks.importer.drafts import DraftParam, DraftPlaybook, DraftStep, Unmapped
from opsbook.playbooks.importer.markdown import (
    Block,
    Fence,
    ListItem,
    MdList,
    Other,
    Paragraph,
    Section,
    Table,
)
from opsbook.playbooks.importer.sqltext import split_statements

SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "zsh", "ksh"})
CONSOLE_LANGUAGES = frozenset({"console", "shell-session", "shellsession"})
SQL_LANGUAGES = frozenset({"sql", "postgresql", "postgres", "psql", "pgsql", "plpgsql"})
MAPPED_LANGUAGES = SHELL_LANGUAGES | CONSOLE_LANGUAGES | SQL_LANGUAGES

_NAVIGATION = re.compile(r"^\W*(table of contents|contents|toc)\W*$", re.IGNORECASE)
_REFERENCE = re.compile(r"contact|escalation|glossary|references?\b|resources", re.IGNORECASE)
_INLINE_COMMAND = re.compile(r"^(?P<label>[^`]{2,}?):\s*`(?P<command>[^`]+)`\s*\.?$")
_COMMAND_LIKE = re.compile(r"^(?:\.{0,2}/)?[A-Za-z_][\w.-]*(?:/[\w.-]+)*(?:\s|$)")
_OPTIONAL = re.compile(
    r"^(if|or|optionally|alternatively|otherwise)\b|\bif (needed|necessary|required|"
    r"applicable|configured|persists|it persists|too large|desired)\b|last resort|"
    r"\(optional\)",
    re.IGNORECASE,
)


def _mappable(blocks: list[Block]) -> bool:
    """Whether nested blocks hold steps (code, a checklist, numbered items)."""
    for block in blocks:
        if isinstance(block, Fence):
            return True
        if isinstance(block, MdList) and (
            block.ordered or any(i.task is not None or _mappable(i.blocks) for i in block.items)
        ):
            return True
    return False


class _Walker:
    """Turns one section's blocks into steps on `playbook`, noting what it leaves."""

    def __init__(self, playbook: DraftPlaybook, section: Section, reference: bool) -> None:
        self.playbook = playbook
        self.section = section
        self.reference = reference
        self.unmapped: list[Unmapped] = []
        self.lists_left: list[MdList] = []
        self.terminal = TerminalState()

    def leave(self, line: int, kind: str, detail: str) -> None:
        self.unmapped.append(Unmapped(line, kind, self.section.title, detail))

    def add(self, step: DraftStep) -> None:
        self.playbook.steps.append(step)

    def blocks(self, blocks: list[Block], title: str) -> None:
        label = ""
        pending = ""
        for index, block in enumerate(blocks):
            following = blocks[index + 1] if index + 1 < len(blocks) else None
            if isinstance(block, Paragraph):
                if block.strong is not None:
                    label = block.strong.rstrip(":").strip()
                elif not self.playbook.intro and not block.links_only and not title:
                    self.playbook.intro = block.text
            elif isinstance(block, Fence):
                self.fence(block, pending or title or label)
                pending = ""
            elif isinstance(block, MdList):
                pending = self.md_list(block, title or label, following)
            elif isinstance(block, Table):
                self.leave(block.line, "table", f"a table of {block.rows} rows")
            elif isinstance(block, Other):
                self.leave(block.line, block.kind, f"a {block.kind.replace('_', ' ')}")

    def fence(self, fence: Fence, title: str) -> None:
        language = fence.language
        if language in SQL_LANGUAGES:
            for statement in split_statements(fence.content, fence.line + 1):
                label = statement.title or title
                if statement.text:
                    self.add(steps.sql_step(statement.text, label, statement.line, self.playbook))
                else:
                    self.add(steps.manual(statement.title, statement.title, statement.line,
                                          self.playbook))  # fmt: skip
            return
        if language in CONSOLE_LANGUAGES:
            prompts = [line[2:] for line in fence.content.split("\n") if line.startswith("$ ")]
            self.shell("\n".join(prompts), fence, title)
            return
        if language in SHELL_LANGUAGES:
            self.shell(fence.content, fence, title)
            return
        lines = fence.end_line - fence.line - 1
        what = f"a ```{language} block" if language else "a code block without a language"
        self.leave(fence.line, "code", f"{what} ({lines} lines)")

    def shell(self, content: str, fence: Fence, title: str) -> None:
        block = split_block(content, fence.line + 1, self.terminal)
        for line, message in self.terminal.notes:
            self.playbook.note(line, message)
        self.terminal.notes.clear()
        if block.file_path is not None:
            self.playbook.note(fence.line, f"the block is the content of {block.file_path}")
            self.add(
                steps.manual(
                    f"Write this to {block.file_path}:\n{content.rstrip()}",
                    title or f"Write {block.file_path}",
                    fence.line + 1,
                    self.playbook,
                )
            )
            return
        if block.assignments_only:
            self.leave(fence.line, "code", "environment settings, not commands")
            return
        items = block.items
        for index, item in enumerate(items):
            following = items[index + 1] if index + 1 < len(items) else None
            self.shell_item(item, item.title or title, following)

    def shell_item(self, item: ShellItem, title: str, following: ShellItem | None) -> None:
        playbook = self.playbook
        if item.kind == "instruction":
            self.add(steps.manual(item.text, item.title, item.line, playbook))
        elif item.kind == "cron":
            self.add(steps.cron_step(item, title, playbook))
        elif item.kind == "sql":
            self.add(steps.sql_step(item.text, title, item.line, playbook))
        elif item.kind == "script":
            self.add(steps.script_step(item, title, playbook))
        else:
            reason = classify.interactive(item.text)
            if reason and "database session" in reason and following and following.kind == "sql":
                playbook.note(
                    item.line,
                    f"`{item.text}` opens a database session; the SQL below runs through "
                    f"connection {steps.CONNECTION} instead",
                    title,
                )
            elif reason:
                self.add(steps.interactive_step(item, title, reason, playbook))
            else:
                self.add(steps.command_step(item, title, playbook))

    def md_list(self, block: MdList, context: str, following: Block | None) -> str:
        """Steps from a list; returns a title for the code block right after it, when
        the list's last numbered item introduces that block."""
        if self.reference and not any(_mappable(i.blocks) for i in block.items):
            self.leave(block.line, "reference", f"a list of {len(block.items)} entries")
            return ""
        items = list(block.items)
        pending = ""
        if (
            block.ordered
            and items
            and isinstance(following, Fence)
            and following.language in MAPPED_LANGUAGES
            and not items[-1].blocks
            and not _INLINE_COMMAND.match(items[-1].text)
        ):
            pending = _item_title(items.pop())
        before = len(self.playbook.steps)
        plain = 0
        for item in items:
            if item.links_only or not (item.text.strip() or item.blocks):
                continue
            title = _item_title(item)
            if _mappable(item.blocks):
                self.blocks(item.blocks, title)
            elif item.task is not None:
                text = item.nested_text()
                title = f"{context}: {text}" if context else text
                step = steps.manual(text, title, item.line, self.playbook)
                step.label = text.split("\n", 1)[0]  # named after the item, not the phase
                self.add(step)
            elif block.ordered:
                self.numbered(item, title)
            else:
                plain += 1
        if plain and len(self.playbook.steps) == before:
            self.lists_left.append(block)
        return pending

    def numbered(self, item: ListItem, title: str) -> None:
        match = _INLINE_COMMAND.match(item.text)
        if match and _COMMAND_LIKE.match(match.group("command")) and not item.blocks:
            command = ShellItem("command", match.group("command"), item.line,
                                match.group("label").strip("* "))  # fmt: skip
            self.shell_item(command, command.title, None)
            return
        step = steps.manual(item.nested_text(), title, item.line, self.playbook)
        step.label = (item.label or "").rstrip(":")
        self.add(step)


def _item_title(item: ListItem) -> str:
    """`**Immediate:** Kill long-running queries` → "Immediate: Kill long-running queries";
    `**Check Recent Errors**` → "Check Recent Errors"."""
    first = item.text.split("\n", 1)[0].strip().rstrip(":").strip()
    return first or (item.label or "").rstrip(":").strip()


def _switches(playbook: DraftPlaybook) -> None:
    """Steps the runbook says to run only sometimes ("if needed", "Or …", "last resort")
    run when a yes/no parameter says so; it defaults to no."""
    for step in playbook.steps:
        if step.kind == "manual" or not _OPTIONAL.search(step.title):
            continue
        name = "run_" + placeholders.snake(step.title)[:40].rstrip("_")
        playbook.param(
            DraftParam(
                name, "bool", f"Run the optional step: {step.title}", step.line, optional_step=True
            )
        )
        step.switch = name


def _summary(section: Section) -> str:
    counts: dict[str, int] = {}
    for block in section.blocks:
        kind = type(block).__name__.lower().replace("mdlist", "list")
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in counts.items())


def convert(root: Section) -> tuple[list[DraftPlaybook], list[Unmapped]]:
    playbooks: list[DraftPlaybook] = []
    unmapped: list[Unmapped] = []
    for section in root.walk():
        if _NAVIGATION.match(section.title) or not section.blocks:
            continue
        reference = any(_REFERENCE.search(title) for title in section.path)
        playbook = DraftPlaybook(section.path, section.line)
        walker = _Walker(playbook, section, reference)
        walker.blocks(section.blocks, "")
        if playbook.steps:
            _switches(playbook)
            playbooks.append(playbook)
            unmapped += walker.unmapped
            unmapped += [
                Unmapped(b.line, "list", section.title, f"a list of {len(b.items)} points")
                for b in walker.lists_left
            ]
        else:
            if any(isinstance(b, Paragraph | MdList) for b in section.blocks):
                unmapped.append(
                    Unmapped(section.line, "section", section.title or "(before the first "
                             "heading)", f"prose without commands or steps ({_summary(section)})")
                )  # fmt: skip
            unmapped += [u for u in walker.unmapped if u.kind not in ("reference", "list")]
    unmapped.sort(key=lambda u: u.line)
    return playbooks, unmapped
