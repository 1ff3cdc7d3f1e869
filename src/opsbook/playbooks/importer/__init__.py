"""Markdown runbooks as playbooks: `opsbook import RUNBOOK.md`.

The result is a fragment of opsbook.yaml (`playbooks:` and, when SQL needs one,
`connections:`) and a report of what was mapped and what a person still has to read.
Nothing here runs a command or reads anything but the bytes it is given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from opsbook.playbooks.importer.convert import convert
from opsbook.playbooks.importer.decode import decode_runbook
from opsbook.playbooks.importer.emit import document, name_playbooks, split_long, to_yaml
from opsbook.playbooks.importer.markdown import parse_sections
from opsbook.playbooks.importer.report import Report, summary_table

MAX_INPUT_BYTES = 20 * 1024 * 1024


class RunbookTooLargeError(ValueError):
    """Refused before parsing: a runbook is text a person reads, not megabytes of data."""


@dataclass
class ImportResult:
    document: dict[str, Any]
    report: Report
    source: str

    @property
    def yaml(self) -> str:
        return to_yaml(self.document, self.source)


def import_runbook(data: bytes, source: str) -> ImportResult:
    """The playbooks in a Markdown runbook (`source` names it in descriptions)."""
    if len(data) > MAX_INPUT_BYTES:
        raise RunbookTooLargeError(
            f"{source} is {len(data)} bytes; runbooks up to {MAX_INPUT_BYTES} bytes are read"
        )
    name = PurePath(source).name or "runbook.md"
    decoded = decode_runbook(data)
    root = parse_sections(decoded.text)
    playbooks, unmapped = convert(root)
    playbooks = split_long(playbooks)
    titles = [s.title for s in root.children if s.level == 1]
    title = titles[0] if len(titles) == 1 else None
    name_playbooks(playbooks, PurePath(name).stem, title)
    doc = document(playbooks, name)
    report = Report.build(name, title or "", decoded.encoding, playbooks, unmapped)
    report.warnings = decoded.warnings
    report.repaired = [
        {"line": line, "before": before, "after": after}
        for line, before, after in decoded.repaired_lines
    ]
    report.connections = [c["name"] for c in doc.get("connections", [])]
    return ImportResult(doc, report, name)


__all__ = ["ImportResult", "Report", "RunbookTooLargeError", "import_runbook", "summary_table"]
