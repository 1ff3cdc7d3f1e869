"""Runbook bytes to text: UTF-8 with fallbacks, control characters, mojibake."""

from __future__ import annotations

import codecs

import pytest

from opsbook.playbooks.importer.decode import decode_runbook, repair_mojibake


def _twice_broken(text: str) -> str:
    return text.encode("utf-8").decode("cp1252").encode("utf-8").decode("cp1252")


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ("# ðŸš€ Production Deployment Runbook", "# 🚀 Production Deployment Runbook"),
        ("### ðŸš¨ Emergency Rollback", "### 🚨 Emergency Rollback"),
        ("Itâ€™s â€œquotedâ€\x9d â€” dash", "It’s “quoted” — dash"),
        ("Â© 2025, 20Â°C", "© 2025, 20°C"),
        (_twice_broken("🚀 twice"), "🚀 twice"),
        ("café ðŸš€ naïve", "café 🚀 naïve"),  # genuine accents next to the damage
    ],
)
def test_mojibake_is_repaired(broken: str, fixed: str) -> None:
    assert repair_mojibake(broken) == fixed


@pytest.mark.parametrize(
    "text",
    ["café crème brûlée", "naïve façade", "Ångström", "日本語のテキスト", "plain ascii", "Ã alone"],
)
def test_correct_text_is_left_alone(text: str) -> None:
    assert repair_mojibake(text) == text


def test_the_content_service_title_is_repaired_and_reported() -> None:
    data = "# ðŸš€ Production Deployment Runbook\n\ntext\n".encode()
    decoded = decode_runbook(data)
    assert decoded.text.startswith("# 🚀 Production Deployment Runbook\n")
    assert decoded.repaired_lines == [
        (1, "# ðŸš€ Production Deployment Runbook", "# 🚀 Production Deployment Runbook")
    ]


def test_invalid_utf8_bytes_become_replacement_characters() -> None:
    decoded = decode_runbook(b"# T\xc3\xa9st \xff\xfe end")
    assert decoded.encoding == "utf-8"
    assert decoded.text == "# Tést \ufffd\ufffd end"
    assert "2 bytes are not valid UTF-8" in decoded.warnings[0]


def test_an_8_bit_file_is_read_as_windows_1252() -> None:
    decoded = decode_runbook("# Café – “menu”".encode("cp1252"))
    assert decoded.encoding == "cp1252"
    assert decoded.text == "# Café – “menu”"


def test_nul_and_control_characters_are_removed_and_counted() -> None:
    decoded = decode_runbook(b"# Ti\x00tle\x07\n\tindented\r\nnext\rlast")
    assert decoded.text == "# Title\n\tindented\nnext\nlast"
    assert decoded.warnings == ["removed 2 control characters (NUL and the like)"]


@pytest.mark.parametrize(
    "data",
    [codecs.BOM_UTF8 + "# Ünïcode".encode(), codecs.BOM_UTF16_LE + "# Ünïcode".encode("utf-16-le")],
)
def test_byte_order_marks(data: bytes) -> None:
    assert decode_runbook(data).text == "# Ünïcode"
