"""What an import mapped and what it left for a person, as text for a terminal and as
JSON for tools (and for the table in docs/import.md, built from the same numbers)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from opsbook.playbooks.importer.drafts import DraftPlaybook, Note, Unmapped

FORMS = ("shell-argv", "shell-script", "sql", "manual")


@dataclass
class PlaybookSummary:
    name: str
    line: int
    heading: str
    steps: int
    forms: dict[str, int]
    dangerous: int
    params: list[str]
    switches: list[str]
    env: list[str]


@dataclass
class Report:
    source: str
    title: str
    encoding: str
    warnings: list[str] = field(default_factory=list)
    repaired: list[dict[str, Any]] = field(default_factory=list)
    playbooks: list[PlaybookSummary] = field(default_factory=list)
    connections: list[str] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        source: str,
        title: str,
        encoding: str,
        playbooks: list[DraftPlaybook],
        unmapped: list[Unmapped],
    ) -> Report:
        report = cls(source, title, encoding, unmapped=unmapped)
        for playbook in playbooks:
            forms = Counter(step.form for step in playbook.steps)
            params = [p for p in playbook.params.values() if not p.optional_step]
            report.playbooks.append(
                PlaybookSummary(
                    playbook.name,
                    playbook.line,
                    playbook.heading,
                    len(playbook.steps),
                    {form: forms[form] for form in FORMS if forms[form]},
                    sum(1 for s in playbook.steps if s.dangerous),
                    [p.name for p in params],
                    [p.name for p in playbook.params.values() if p.optional_step],
                    sorted(playbook.env),
                )
            )
            for note in playbook.notes:
                report.notes.append(Note(note.line, note.message, playbook.name, note.step))
        report.notes.sort(key=lambda n: n.line)
        return report

    def totals(self) -> dict[str, Any]:
        forms: Counter[str] = Counter()
        for summary in self.playbooks:
            forms.update(summary.forms)
        left = Counter(u.kind for u in self.unmapped)
        return {
            "playbooks": len(self.playbooks),
            "steps": sum(s.steps for s in self.playbooks),
            "forms": {form: forms[form] for form in FORMS},
            "dangerous": sum(s.dangerous for s in self.playbooks),
            "params": sum(len(s.params) for s in self.playbooks),
            "switches": sum(len(s.switches) for s in self.playbooks),
            "env": sorted({e for s in self.playbooks for e in s.env}),
            "unmapped": dict(sorted(left.items())),
            "notes": len(self.notes),
        }

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["totals"] = self.totals()
        return data

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False) + "\n"

    def render(self) -> str:
        """The report for a terminal: totals, each playbook, then what needs a person."""
        t = self.totals()
        forms = t["forms"]
        lines = [
            f"{self.source}: {t['playbooks']} playbooks, {t['steps']} steps "
            f"({forms['shell-argv']} shell argv, {forms['shell-script']} shell script, "
            f"{forms['sql']} sql, {forms['manual']} manual), {t['dangerous']} dangerous, "
            f"{t['params']} parameters, {t['switches']} optional-step switches",
        ]
        lines += [f"  warning: {w}" for w in self.warnings]
        lines += [f"  line {r['line']}: repaired text: {r['after']}" for r in self.repaired]
        if t["env"]:
            lines.append(f"  environment the commands need: {', '.join(t['env'])}")
        lines.append("")
        lines.append("Mapped:")
        for p in self.playbooks:
            extra = f", {p.dangerous} dangerous" if p.dangerous else ""
            params = f", params: {', '.join(p.params)}" if p.params else ""
            lines.append(f"  line {p.line:>4}  {p.name}: {p.steps} steps{extra}{params}")
        if self.notes:
            lines.append("")
            lines.append("Check these steps:")
            for n in self.notes:
                where = f"{n.playbook}/{n.step}" if n.step else n.playbook
                lines.append(f"  line {n.line:>4}  {where}: {n.message}")
        if self.unmapped:
            lines.append("")
            lines.append("Left for a person (not mapped):")
            for u in self.unmapped:
                lines.append(f"  line {u.line:>4}  {u.kind}: {u.section}: {u.detail}")
        return "\n".join(lines) + "\n"


TABLE_HEADER = (
    "| runbook | playbooks | steps | shell argv | shell script | sql | manual | dangerous "
    "| params | optional-step switches | left for a person |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|"
)


_LEFT_NAMES = {
    "section": ("prose section", "prose sections"),
    "table": ("table", "tables"),
    "code": ("code block", "code blocks"),
    "list": ("bullet list", "bullet lists"),
    "reference": ("contact list", "contact lists"),
    "blockquote": ("quote", "quotes"),
    "html": ("HTML block", "HTML blocks"),
    "indented-code": ("indented code block", "indented code blocks"),
}


def left_text(unmapped: dict[str, int]) -> str:
    """`{"table": 2, "code": 1}` → "1 code block, 2 tables"."""
    parts = []
    for kind, count in sorted(unmapped.items()):
        one, many = _LEFT_NAMES.get(kind, (kind, kind))
        parts.append(f"{count} {one if count == 1 else many}")
    return ", ".join(parts) or "nothing"


def summary_table(reports: list[dict[str, Any]]) -> str:
    """The per-runbook table of docs/import.md, from JSON reports."""
    rows = [TABLE_HEADER]
    for data in sorted(reports, key=lambda r: str(r["source"])):
        t = data["totals"]
        f = t["forms"]
        left = left_text(t["unmapped"])
        rows.append(
            f"| `{data['source']}` | {t['playbooks']} | {t['steps']} | {f['shell-argv']} "
            f"| {f['shell-script']} | {f['sql']} | {f['manual']} | {t['dangerous']} "
            f"| {t['params']} | {t['switches']} | {left} |"
        )
    return "\n".join(rows)
