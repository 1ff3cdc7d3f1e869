"""The postmortem as people will read it: the runbook's template, facts filled in,
judgement left to humans, and no text that can break the document it sits in.

api-backend-cloud.md, "Postmortem Template":

    # Postmortem: [Incident Title]
    **Date**: YYYY-MM-DD / **Duration**: X hours / **Severity**: P0/P1/P2/P3 / **Impact**: ...
    ## Summary / ## Timeline (UTC) / ## Root Cause / ## Impact / ## Resolution /
    ## Action Items / ## Lessons Learned
"""

from __future__ import annotations

import os
import random
import re
from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.config.redact import Redactor
from opsbook.incidents.model import ActionItem, EventKind, IncidentStatus
from opsbook.incidents.postmortem import BLANK_PREFIX, md_cell, render_postmortem
from tests.unit.incidents.scenario import (
    INCIDENT_ID,
    NOW,
    P1_TARGET,
    actions,
    at,
    entry,
    incident,
    timeline,
)

GOLDEN = Path(__file__).parent / "golden" / "postmortem.md"
RUNBOOK_HEADINGS = [
    "Summary",
    "Timeline (UTC)",
    "Root Cause",
    "Impact",
    "Resolution",
    "Action Items",
    "Lessons Learned",
]
SERVICES = {"review-engine": "spaced-repetition review API (team: learning)"}


def render(fmt: str = "markdown", **overrides: object) -> str:
    args: dict[str, object] = {
        "incident": incident(),
        "timeline": timeline(),
        "actions": actions(),
        "now": NOW,
        "response_target": P1_TARGET,
        "services_info": SERVICES,
        "fmt": fmt,
    }
    args.update(overrides)
    return render_postmortem(**args)  # type: ignore[arg-type]


def section(document: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", document, re.M | re.S)
    assert match, heading
    return match.group(1)


def split_row(line: str) -> list[str]:
    """Cells of a GitHub-flavoured Markdown table row; a backslash escapes the next char."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, current, chars = [], "", iter(line[1:])
    for char in chars:
        if char == "\\":
            current += char + next(chars, "")
        elif char == "|":
            cells.append(current)
            current = ""
        else:
            current += char
    assert current == "", line
    return cells


def table_rows(document: str, heading: str) -> list[list[str]]:
    lines = [ln for ln in section(document, heading).splitlines() if ln.startswith("|")]
    return [split_row(ln) for ln in lines]


def test_golden_markdown() -> None:
    text = render()
    if os.environ.get("OPSBOOK_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_headings_are_the_runbook_template_in_its_order_then_metrics() -> None:
    text = render()
    assert text.startswith("# Postmortem: API Service Down\n\n**Date**: 2026-03-10\n")
    assert re.findall(r"^## (.+)$", text, re.M) == [*RUNBOOK_HEADINGS, "Metrics"]
    header = text.split("## Summary")[0]
    assert [ln.split("**")[1] for ln in header.splitlines() if ln.startswith("**")] == [
        "Date",
        "Duration",
        "Severity",
        "Impact",
    ]


def test_nothing_is_invented_when_nobody_wrote_anything() -> None:
    bare = incident(summary="", impact="")
    facts_only = [e for e in timeline() if e.kind is not EventKind.NOTE]
    text = render(incident=bare, timeline=facts_only, actions=[])
    blanks = re.findall(rf"^_{BLANK_PREFIX}: (.+)_$", text, re.M)
    assert len(blanks) == 6  # summary, root cause, impact, resolution, actions, lessons
    for heading in ("Summary", "Root Cause", "Resolution", "Action Items", "Lessons Learned"):
        assert section(text, heading).lstrip().startswith(f"_{BLANK_PREFIX}: ")
    assert f"**Impact**: _{BLANK_PREFIX}: users affected, revenue impact._" in text


def test_summary_text_and_facts() -> None:
    text = render(incident=incident(summary="The review API was down for 45 minutes."))
    summary = section(text, "Summary")
    assert summary.startswith("The review API was down for 45 minutes.\n")
    assert BLANK_PREFIX not in summary
    for fact in (
        "- **Incident**: #42 (Resolved)",
        "- **Severity**: P1\n  - changed P2 → P1 at 2026-03-10 10:10:00 UTC by carol",
        "- **Services**: review-engine (spaced-repetition review API (team: learning)), api",
        "- **Commander**: bob\n- **Communications**: carol",
        "- **Detected**: 2026-03-10 09:59:50 UTC",
        "- **Acknowledged**: 2026-03-10 10:17:30 UTC by bob",
        "- **Resolved**: 2026-03-10 10:45:00 UTC",
        "- **Duration**: 45m 10s",
    ):
        assert fact in summary


def test_noise_is_filtered_and_counted() -> None:
    text = render()
    events = [row[1].strip() for row in table_rows(text, "Timeline (UTC)")[2:]]
    assert "Reminder" not in " ".join(events)
    assert not any(e.startswith(("Notified", "Action")) for e in events)
    assert events.count("Escalated") == 2
    assert "_Not shown: 9 notifications sent to 3 people; 2 reminders to post an update._" in text


def test_every_story_event_kind_is_kept_with_its_actor() -> None:
    extra = [
        entry("10:16:00", EventKind.ACK_EXPIRED, "Acknowledgement by alice expired"),
        entry("10:50:00", EventKind.REOPENED, "Errors again", actor="alice"),
        entry("10:55:00", EventKind.ESCALATION_EXHAUSTED, "Nobody left to page"),
        entry("10:56:00", EventKind.DECLARED, "Declared by hand", actor="cli:dave"),
    ]
    rows = table_rows(render(timeline=timeline() + extra), "Timeline (UTC)")[2:]
    seen = {(r[1].strip(), r[2].strip()) for r in rows}
    assert {
        ("Acknowledgement expired", "opsbook"),
        ("Reopened", "alice"),
        ("Escalation exhausted", "opsbook"),
        ("Declared", "cli:dave"),
        ("Acknowledged", "bob"),
        ("Status update (public)", "carol"),
        ("Note (Root Cause)", "bob"),
        ("Playbook", "bob"),
        ("Deploy", "bob"),
        ("Resolved", "bob"),
    } <= seen


def test_a_flapping_alert_is_one_row() -> None:
    rows = table_rows(render(), "Timeline (UTC)")[2:]
    latency = [r for r in rows if "api-latency" in r[3]]
    assert [(r[0].strip(), r[1].strip()) for r in latency] == [
        ("10:03:00", "Alert flapping"),
        ("10:44:00", "Alert resolved"),  # 37 minutes later: a separate event
    ]
    assert "(flapped 2 times: 5 transitions until 10:07:00 UTC, last firing)" in latency[0][3]


def test_a_short_alert_is_not_called_flapping() -> None:
    short = [
        entry("10:00:00", EventKind.ALERT_FIRING, "disk firing", alert="disk"),
        entry("10:05:00", EventKind.ALERT_RESOLVED, "disk resolved", alert="disk"),
        entry("10:06:00", EventKind.ALERT_FIRING, "cpu firing", alert="cpu"),
        entry("10:30:00", EventKind.ALERT_FIRING, "disk firing again", alert="disk"),
    ]
    rows = table_rows(render(timeline=short), "Timeline (UTC)")[2:]
    assert [r[1].strip() for r in rows] == ["Alert firing", "Alert resolved"] + ["Alert firing"] * 2


def test_repeated_firing_without_resolving_is_collapsed_as_repeated() -> None:
    repeated = [
        entry(f"10:0{i}:00", EventKind.ALERT_FIRING, "disk firing", alert="disk") for i in range(4)
    ]
    [row] = table_rows(render(timeline=repeated), "Timeline (UTC)")[2:]
    assert row[3].strip() == "disk firing (repeated: 4 transitions until 10:03:00 UTC, last firing)"


def test_local_time_column_when_the_project_is_not_on_utc() -> None:
    text = render(timezone="Europe/Berlin")
    rows = table_rows(text, "Timeline (UTC)")
    assert rows[0][1].strip() == "Local (Europe/Berlin)"
    assert rows[2][:2] == [" 10:00:05 ", " 11:00:05 CET "]
    assert "- **Opened**: 2026-03-10 10:00:05 UTC (2026-03-10 11:00:05 CET)" in text


def test_dates_are_shown_when_the_incident_spans_midnight() -> None:
    late = incident(opened_at=at("10:00:05") - timedelta(hours=11), detected_at=None)
    text = render(incident=late)
    assert "| 2026-03-10 10:00:05 |" in text


def test_notes_fill_their_sections_with_author_and_time() -> None:
    lessons = [
        entry("11:00:00", EventKind.NOTE, "Check the pool first.", actor="bob", section="lessons_learned"),
        entry("11:05:00", EventKind.NOTE, "Canary deploys would\nhave caught it.", actor="carol", section="lessons_learned"),
        entry("11:06:00", EventKind.NOTE, "10k users could not review.", actor="carol", section="impact"),
        entry("11:07:00", EventKind.NOTE, "unknown section stays in the timeline", section="gossip"),
    ]  # fmt: skip
    text = render(timeline=timeline() + lessons)
    assert section(text, "Lessons Learned") == (
        "> Check the pool first.\n>\n> — bob, 2026-03-10 11:00:00 UTC\n\n"
        "> Canary deploys would\n> have caught it.\n>\n> — carol, 2026-03-10 11:05:00 UTC\n\n"
    )
    assert "> 10k users could not review.\n>\n> — carol" in section(text, "Impact")
    assert section(text, "Root Cause").startswith(
        "> Release 2.14.0 opened a new connection per review sync and never closed it;\n"
        "> the pool hit its limit"
    )
    assert "unknown section stays in the timeline" not in text.split("## Root Cause")[1]


def test_impact_facts_and_verdicts() -> None:
    impact = section(render(), "Impact")
    assert impact.startswith("Reviews could not be loaded or saved")
    for fact in (
        "- Duration: 45m 10s",
        "- Time to detect: 15s",
        "- Time to acknowledge: 17m 25s",
        "- Time to resolve: 44m 55s",
        "- Response-time target (15m): missed by 2m 25s",
    ):
        assert fact in impact
    met = section(render(response_target=timedelta(minutes=20)), "Impact")
    assert "- Response-time target (20m): met, 2m 35s to spare" in met
    assert "Response-time target" not in section(render(response_target=None), "Impact")


def test_an_ongoing_incident() -> None:
    ongoing = incident(
        status=IncidentStatus.INVESTIGATING,
        acknowledged_at=None,
        acknowledged_by=None,
        resolved_at=None,
    )
    early = [e for e in timeline() if e.at <= at("10:15:05")]
    text = render(incident=ongoing, timeline=early, actions=[], now=at("10:20:05"))
    assert "**Duration**: ongoing, 20m 15s so far" in text
    impact = section(text, "Impact")
    assert "- Time to acknowledge: not acknowledged" in impact
    assert "- Time to resolve: not resolved" in impact
    assert "- Response-time target (15m): missed, not acknowledged 5m after it expired" in impact
    metrics = {r[0].strip(): r[1].strip() for r in table_rows(text, "Metrics")[2:]}
    assert metrics["Time to resolve (TTR)"] == "not reached"


def test_action_items_are_a_checklist() -> None:
    assert section(render(), "Action Items") == (
        "- [x] Close connections opened by review sync (fix in 2.14.1) "
        "(Owner: @bob, Created: 2026-03-10, Done: 2026-03-12)\n"
        "- [ ] Alert on database connections_used_pct > 80% for 5 minutes "
        "(Owner: @alice, Created: 2026-03-10)\n"
        "- [ ] Update the runbook: API Service Down step 5 should check the pool first "
        "(Owner: unassigned, Created: 2026-03-10)\n\n"
    )


def test_metrics_table() -> None:
    rows = {r[0].strip(): r[1].strip() for r in table_rows(render(), "Metrics")[2:]}
    assert rows == {
        "Time to detect (TTD)": "15s",
        "Time to acknowledge (TTA)": "17m 25s",
        "Time to mitigate (TTM)": "30m 55s",
        "Time to resolve (TTR)": "44m 55s",
        "Total duration": "45m 10s",
        "Escalation levels paged": "2",
        "Notifications": "9 notifications to 3 people",
    }


HOSTILE = (
    "a | b || c \\| d \\\\| e ` code ` `` <script>alert(1)</script> "
    + "x" * 3000
    + "\nnext line\r\nand\u2028another Ünïcödé ✓ 日本語 עברית العربية \u202eevil"
)


def test_hostile_text_cannot_break_the_markdown() -> None:
    hostile_incident = incident(title=HOSTILE, summary=HOSTILE, impact=HOSTILE, services=(HOSTILE,))
    noisy = [
        entry("10:20:00", EventKind.NOTE, HOSTILE, actor=HOSTILE),
        entry("10:21:00", EventKind.NOTE, HOSTILE, actor="bob", section="root_cause"),
        entry("10:22:00", EventKind.ALERT_FIRING, HOSTILE, alert=HOSTILE),
    ]
    items = [ActionItem(INCIDENT_ID, 9, HOSTILE, HOSTILE, at("10:30:00"))]
    text = render(incident=hostile_incident, timeline=timeline() + noisy, actions=items)
    assert "<script" not in text
    assert re.findall(r"^## (.+)$", text, re.M) == [*RUNBOOK_HEADINGS, "Metrics"]
    for heading, width in (("Timeline (UTC)", 4), ("Metrics", 3)):
        rows = table_rows(text, heading)
        assert all(len(row) == width for row in rows), heading
    hostile_rows = [r for r in table_rows(text, "Timeline (UTC)") if "Ünïcödé" in r[3]]
    assert len(hostile_rows) == 3  # the note, the root-cause note, the alert
    for row in hostile_rows:
        assert "עברית العربية" in row[3] and "x" * 3000 in row[3]
    assert text.startswith("# Postmortem: a | b")  # one line: the heading holds
    assert len(text.split("\n", 1)[0]) > 3000
    root = section(text, "Root Cause")
    assert all(line.startswith(">") for line in root.strip().splitlines() if line)


@given(st.text(max_size=200))
def test_any_text_is_exactly_one_cell(text: str) -> None:
    cell = md_cell(text)
    assert len(cell.splitlines()) <= 1
    assert len(split_row(f"| {cell} |")) == 1
    assert "<" not in cell.replace("<br>", "")


def test_html_escapes_everything_and_loads_nothing() -> None:
    script = "<script>alert('x')</script>"
    noted = [
        *timeline(),
        entry("10:20:00", EventKind.NOTE, script, actor="bob", section="root_cause"),
    ]
    items = [ActionItem(INCIDENT_ID, 9, script, "eve", at("10:30:00"))]
    html = render("html", incident=incident(title=script), timeline=noted, actions=items)
    assert "<script" not in html
    assert (
        html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") >= 5
    )  # title x2, note x2, action
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    for external in ("src=", "href=", "@import", "url("):
        assert external not in html
    headings = re.findall(r"<h2>(.+?)</h2>", html)
    assert headings == [*RUNBOOK_HEADINGS, "Metrics"]


def test_html_has_the_same_content() -> None:
    html = render("html")
    for fact in (
        "Postmortem: API Service Down",
        '<td class="time">10:17:30</td><td>Acknowledged</td><td>bob</td>',
        "Response-time target (15m): missed by 2m 25s",
        "Not shown: 9 notifications sent to 3 people; 2 reminders to post an update.",
        f'<p class="blank"><em>{BLANK_PREFIX}: what happened, in two or three sentences.</em></p>',
        '<input type="checkbox" disabled checked> Close connections',
        "— bob, 2026-03-10 10:25:00 UTC",
    ):
        assert fact in html


def test_secrets_are_masked_in_both_formats() -> None:
    secret = "s3cr3t-db-password"
    leaky = [
        *timeline(),
        entry("10:20:00", EventKind.NOTE, f"DSN postgresql://app:{secret}@db/x", actor="bob"),
    ]
    for fmt in ("markdown", "html"):
        text = render(fmt, timeline=leaky, redactor=Redactor([secret]))
        assert secret not in text and "***" in text


def test_timeline_order_and_stray_entries_do_not_matter() -> None:
    shuffled = [*timeline(), entry("10:01:00", EventKind.NOTE, "other incident", incident_id=7)]
    random.Random(4).shuffle(shuffled)
    assert render(timeline=shuffled) == render()


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown postmortem format 'pdf'"):
        render("pdf")


def test_templates_ship_inside_the_package() -> None:
    folder = files("opsbook.incidents") / "templates"
    names = {item.name for item in folder.iterdir()}
    assert {"postmortem.md.j2", "postmortem.html.j2"} <= names


def test_summary_notes_are_quoted_under_the_summary() -> None:
    noted = [
        *timeline(),
        entry("11:00:00", EventKind.NOTE, "Bad release.", actor="bob", section="summary"),
    ]
    summary = section(render(timeline=noted), "Summary")
    assert summary.startswith(
        "> Bad release.\n>\n> — bob, 2026-03-10 11:00:00 UTC\n\n- **Incident**"
    )
    both = section(render(incident=incident(summary="Down 45 min."), timeline=noted), "Summary")
    assert both.startswith("Down 45 min.\n\n> Bad release.\n")


def test_changes_recorded_as_from_and_to_read_the_same() -> None:
    severity: dict[str, Any] = {"from": "P2", "to": "P1"}
    status: dict[str, Any] = {"from": "identified", "to": "monitoring"}
    imported = [
        entry("10:10:00", EventKind.SEVERITY_CHANGED, "", actor="carol", **severity),
        entry(
            "10:31:00",
            EventKind.STATUS_CHANGED,
            "",
            actor="bob",
            **status,
        ),
    ]
    text = render(timeline=imported)
    assert "| 10:31:00 | Status changed | bob | identified → monitoring |" in text
    assert "  - changed P2 → P1 at 2026-03-10 10:10:00 UTC by carol" in text
    assert "- Time to mitigate: 30m 55s" in text


def test_prose_cannot_fake_or_swallow_sections() -> None:
    prose = "Fine so far.\n## Root Cause\nIt was DNS.\n---\n```\nunclosed fence\n~~~"
    text = render(incident=incident(summary=prose, impact=prose))
    assert re.findall(r"^## (.+)$", text, re.M) == [*RUNBOOK_HEADINGS, "Metrics"]
    assert not re.search(r"^ {0,3}(```|~~~|---\s*$)", text.split("## Metrics")[0], re.M)
    assert "\\## Root Cause\nIt was DNS.\n\\---\n\\```\nunclosed fence\n\\~~~" in text
