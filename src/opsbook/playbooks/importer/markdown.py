"""A runbook's Markdown as sections of blocks, with the line each block starts on.

Only the shapes the importer maps are kept apart (fenced code, lists with their nesting,
task items, paragraphs, tables); everything else is an `Other` block that the report
points a person to. Line numbers are 1-based, as an editor shows them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt
from markdown_it.token import Token

_TASK = re.compile(r"^\[([ xX])\]\s+")
_PARSER = MarkdownIt("commonmark").enable("table")


@dataclass
class Paragraph:
    line: int
    text: str
    strong: str | None = None  # the text, when the whole paragraph is one bold span
    links_only: bool = False


@dataclass
class Fence:
    line: int
    language: str
    content: str
    end_line: int  # the closing fence


@dataclass
class ListItem:
    line: int
    text: str
    label: str | None  # a leading bold span: "**Check Recent Errors**" → "Check Recent Errors"
    task: bool | None  # None: not a task item; False: "- [ ]"; True: "- [x]"
    links_only: bool
    blocks: list[Block] = field(default_factory=list)

    def nested_text(self) -> str:
        """The item with its nested lists and paragraphs, as one instruction."""
        parts = [self.text]
        for block in self.blocks:
            if isinstance(block, Paragraph):
                parts.append(block.text)
            elif isinstance(block, MdList):
                parts.extend(f"- {item.nested_text()}" for item in block.items)
        return "\n".join(p for p in parts if p)


@dataclass
class MdList:
    line: int
    ordered: bool
    items: list[ListItem]


@dataclass
class Table:
    line: int
    rows: int


@dataclass
class Other:
    line: int
    kind: str  # blockquote, html, indented-code, rule


Block = Paragraph | Fence | MdList | Table | Other


@dataclass
class Section:
    title: str
    level: int  # 1-6 for headings; a bold-only paragraph heads a section one level deeper
    line: int
    parent: Section | None = None
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)
    pseudo: bool = False

    @property
    def path(self) -> list[str]:
        titles: list[str] = []
        node: Section | None = self
        while node is not None and node.level > 0:
            titles.append(node.title)
            node = node.parent
        return titles[::-1]

    def walk(self) -> list[Section]:
        """This section and every section below it, in document order (no recursion:
        a hostile file may nest deeper than Python's stack)."""
        out: list[Section] = []
        stack: list[Section] = [self]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(reversed(node.children))
        return out


def inline_text(token: Token) -> tuple[str, str | None, bool]:
    """Plain text of an inline token (code spans keep their backticks), its leading bold
    span if any, and whether it holds nothing but links."""
    parts: list[str] = []
    label: str | None = None
    strong_depth = 0
    strong_parts: list[str] = []
    seen_text_before_strong = False
    in_link = 0
    outside_link_text = False
    for child in token.children or []:
        kind = child.type
        piece = ""
        if kind == "text":
            piece = child.content
        elif kind == "code_inline":
            piece = f"`{child.content}`"
        elif kind in ("softbreak", "hardbreak"):
            piece = "\n"
        elif kind == "html_inline" or kind == "image":
            piece = child.content
        elif kind == "strong_open":
            strong_depth += 1
            continue
        elif kind == "strong_close":
            strong_depth -= 1
            if strong_depth == 0 and label is None and not seen_text_before_strong:
                label = "".join(strong_parts).strip()
            continue
        elif kind == "link_open":
            in_link += 1
            continue
        elif kind == "link_close":
            in_link -= 1
            continue
        parts.append(piece)
        if strong_depth and label is None:
            strong_parts.append(piece)
        elif piece.strip():
            seen_text_before_strong = True
        if not in_link and piece.strip():
            outside_link_text = True
    text = "".join(parts).strip()
    has_link = any(c.type == "link_open" for c in token.children or [])
    return text, label or None, has_link and not outside_link_text


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 0


def _close_index(tokens: list[Token], start: int) -> int:
    """Index of the token that closes the one opened at `start`."""
    depth = 0
    for index in range(start, len(tokens)):
        depth += tokens[index].nesting
        if depth == 0:
            return index
    return len(tokens) - 1


def _blocks(tokens: list[Token], start: int, end: int) -> list[Block]:
    blocks: list[Block] = []
    i = start
    while i < end:
        token = tokens[i]
        kind = token.type
        if kind == "paragraph_open":
            close = _close_index(tokens, i)
            text, label, links_only = inline_text(tokens[i + 1])
            strong = label if label is not None and label == text.strip("* ") else None
            blocks.append(Paragraph(_line(token), text, strong, links_only))
            i = close + 1
        elif kind in ("fence", "code_block"):
            language = (token.info or "").strip().split(" ")[0].lower()
            start_line = _line(token)
            end_line = token.map[1] if token.map else start_line
            if kind == "code_block":
                blocks.append(Other(start_line, "indented-code"))
            else:
                blocks.append(Fence(start_line, language, token.content, end_line))
            i += 1
        elif kind in ("bullet_list_open", "ordered_list_open"):
            close = _close_index(tokens, i)
            blocks.append(_list(tokens, i, close))
            i = close + 1
        elif kind == "table_open":
            close = _close_index(tokens, i)
            rows = sum(1 for t in tokens[i:close] if t.type == "tr_open")
            blocks.append(Table(_line(token), rows))
            i = close + 1
        elif kind == "heading_open":  # a heading nested in a list item: plain text here
            close = _close_index(tokens, i)
            text, _, _ = inline_text(tokens[i + 1])
            blocks.append(Paragraph(_line(token), text))
            i = close + 1
        elif token.nesting == 1:
            close = _close_index(tokens, i)
            blocks.append(Other(_line(token), kind.removesuffix("_open")))
            i = close + 1
        else:
            if kind == "html_block":
                blocks.append(Other(_line(token), "html"))
            elif kind == "hr":
                pass
            i += 1
    return blocks


def _list(tokens: list[Token], start: int, close: int) -> MdList:
    ordered = tokens[start].type == "ordered_list_open"
    items: list[ListItem] = []
    i = start + 1
    while i < close:
        if tokens[i].type != "list_item_open":
            i += 1
            continue
        item_close = _close_index(tokens, i)
        inner = _blocks(tokens, i + 1, item_close)
        text, label, links_only = "", None, False
        if inner and isinstance(inner[0], Paragraph):
            first = inner.pop(0)
            assert isinstance(first, Paragraph)
            text, label, links_only = first.text, first.strong or None, first.links_only
            if label is None:
                label = _leading_label(tokens, i + 1, item_close)
        task: bool | None = None
        match = _TASK.match(text)
        if match:
            task = match.group(1) != " "
            text = text[match.end() :]
        items.append(ListItem(_line(tokens[i]), text, label, task, links_only, inner))
        i = item_close + 1
    return MdList(_line(tokens[start]), ordered, items)


def _leading_label(tokens: list[Token], start: int, end: int) -> str | None:
    for index in range(start, end):
        if tokens[index].type == "inline":
            return inline_text(tokens[index])[1]
    return None


def _is_pseudo_heading(block: Block, following: Block | None) -> bool:
    """`**Service Down**` on its own line, followed by steps, heads a procedure; a label
    ending in a colon (`**Investigation:**`) is a phase inside one and stays put."""
    return (
        isinstance(block, Paragraph)
        and block.strong is not None
        and ":" not in block.strong
        and 0 < len(block.strong) <= 200
        and isinstance(following, MdList | Fence)
    )


def _split_pseudo(section: Section) -> None:
    blocks = section.blocks
    kept: list[Block] = []
    current: Section | None = None
    for index, block in enumerate(blocks):
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if isinstance(block, Paragraph) and _is_pseudo_heading(block, following):
            assert block.strong is not None
            current = Section(block.strong, section.level + 1, block.line, section, pseudo=True)
            section.children.insert(
                sum(1 for c in section.children if c.line < block.line), current
            )
            continue
        if (
            current is not None
            and isinstance(block, Paragraph)
            and block.strong is not None
            and ":" not in block.strong
            and not isinstance(following, MdList | Fence)
        ):
            current = None  # a bold line that heads nothing ends the procedure
        (current.blocks if current is not None else kept).append(block)
    section.blocks = kept


def parse_sections(text: str) -> Section:
    """The document as a root section (level 0) whose children follow the headings."""
    tokens = _PARSER.parse(text)
    root = Section("", 0, 1)
    stack: list[Section] = [root]
    i = 0
    pending_start = 0
    spans: list[tuple[Section, int, int]] = []
    current = root
    while i < len(tokens):
        token = tokens[i]
        if token.type == "heading_open" and token.level == 0:
            spans.append((current, pending_start, i))
            level = int(token.tag[1])
            title, _, _ = inline_text(tokens[i + 1])
            while stack[-1].level >= level:
                stack.pop()
            section = Section(title, level, _line(token), stack[-1])
            stack[-1].children.append(section)
            stack.append(section)
            current = section
            i = _close_index(tokens, i) + 1
            pending_start = i
            continue
        i += 1
    spans.append((current, pending_start, len(tokens)))
    for section, start, end in spans:
        section.blocks = _blocks(tokens, start, end)
    for section in root.walk():
        if not section.pseudo:
            _split_pseudo(section)
    return root
