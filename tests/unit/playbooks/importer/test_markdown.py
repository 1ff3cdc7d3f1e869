"""Markdown to sections and blocks, with the line numbers an editor shows."""

from __future__ import annotations

from opsbook.playbooks.importer.markdown import (
    Fence,
    MdList,
    Other,
    Paragraph,
    Section,
    Table,
    parse_sections,
)

DOC = """\
# Runbook

Intro paragraph.

## Incident Response

### Response Playbooks

#### Playbook: API Service Down
```bash
curl -I https://api.example.com/health
```

## Alerts

**Service Down**
1. Check service status: `docker-compose ps`
2. Escalate if issue persists > 5 minutes

**Database Connection Failed**
1. Check database container

**Investigation:**
- [ ] Review logs
- [x] Done already

| a | b |
|---|---|
| 1 | 2 |

> quoted
"""


def _by_title(root: Section) -> dict[str, Section]:
    return {s.title: s for s in root.walk()}


def test_heading_paths_and_lines() -> None:
    sections = _by_title(parse_sections(DOC))
    playbook = sections["Playbook: API Service Down"]
    assert playbook.path == [
        "Runbook",
        "Incident Response",
        "Response Playbooks",
        "Playbook: API Service Down",
    ]
    assert playbook.line == 9
    fence = playbook.blocks[0]
    assert isinstance(fence, Fence)
    assert (fence.language, fence.line, fence.end_line) == ("bash", 10, 12)
    assert fence.content == "curl -I https://api.example.com/health\n"


def test_a_bold_line_above_steps_heads_a_procedure_but_a_label_does_not() -> None:
    sections = _by_title(parse_sections(DOC))
    down = sections["Service Down"]
    assert down.pseudo and down.line == 16
    assert down.path[-2:] == ["Alerts", "Service Down"]
    items = down.blocks[0]
    assert isinstance(items, MdList) and items.ordered
    assert [i.text for i in items.items] == [
        "Check service status: `docker-compose ps`",
        "Escalate if issue persists > 5 minutes",
    ]
    database = sections["Database Connection Failed"]
    # "**Investigation:**" is a phase label inside the procedure, not a new one
    assert "Investigation:" not in sections
    kinds = [type(b) for b in database.blocks]
    assert kinds == [MdList, Paragraph, MdList, Table, Other]
    label = database.blocks[1]
    assert isinstance(label, Paragraph) and label.strong == "Investigation:"


def test_task_items_tables_and_quotes() -> None:
    database = _by_title(parse_sections(DOC))["Database Connection Failed"]
    tasks = database.blocks[2]
    assert isinstance(tasks, MdList)
    assert [(i.text, i.task) for i in tasks.items] == [
        ("Review logs", False),
        ("Done already", True),
    ]
    table = database.blocks[3]
    assert isinstance(table, Table) and (table.line, table.rows) == (27, 2)
    quote = database.blocks[4]
    assert isinstance(quote, Other) and quote.kind == "blockquote" and quote.line == 31


def test_list_items_keep_labels_nested_blocks_and_links() -> None:
    text = """\
# T

1. **Check Recent Errors**
   ```bash
   gcloud logging read "severity>=ERROR"
   ```
2. **Identify** (1-2 min)
   - Check error logs
   - Check metrics

- [Quick Reference](#quick-reference)
"""
    root = parse_sections(text)
    steps, links = root.children[0].blocks
    assert isinstance(steps, MdList) and isinstance(links, MdList)
    first, second = steps.items
    assert first.label == "Check Recent Errors"
    assert isinstance(first.blocks[0], Fence) and first.blocks[0].line == 4
    assert second.label == "Identify"
    assert second.nested_text() == "Identify (1-2 min)\n- Check error logs\n- Check metrics"
    assert links.items[0].links_only


def test_content_before_any_heading_belongs_to_the_root() -> None:
    root = parse_sections("```bash\nls\n```\n# Later\n")
    assert isinstance(root.blocks[0], Fence)
    assert root.children[0].title == "Later"
