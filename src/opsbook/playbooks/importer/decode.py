"""Runbook bytes to clean text: whatever encoding accident the file went through.

Runbooks are copied between wikis, editors and repositories; somewhere along the way a
UTF-8 file is often read as Windows-1252 and saved again, so `🚀` arrives as `ðŸš€` (or,
after two such trips, `Ã°Å¸Å¡â‚¬`). The repair here is the inverse of that accident and
nothing more: a run of Windows-1252 characters is replaced only when encoding it back to
bytes gives valid UTF-8 that is different text. Ordinary accented text (`café`) never
forms valid UTF-8 that way, so it is left alone.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field

# Characters a UTF-8 byte in 0x80-0xFF turns into when read as Windows-1252. The five
# bytes 1252 leaves undefined (0x81 0x8D 0x8F 0x90 0x9D) arrive as the C1 controls of the
# same number, which is what Latin-1 and most editors make of them.
_CP1252_HIGH = bytes(range(0x80, 0x100)).decode("cp1252", errors="ignore")
_UNDEFINED = "\x81\x8d\x8f\x90\x9d"
_MOJIBAKE_RUN = re.compile(f"[{re.escape(_CP1252_HIGH + _UNDEFINED)}]{{2,}}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
MAX_REPAIR_ROUNDS = 3
_LATIN1_TO_CP1252 = {
    b: bytes([b]).decode("cp1252") for b in range(0x80, 0xA0) if chr(b) not in _UNDEFINED
}


@dataclass
class DecodedText:
    text: str
    encoding: str
    warnings: list[str] = field(default_factory=list)
    repaired_lines: list[tuple[int, str, str]] = field(default_factory=list)


def _byte_of(char: str) -> int | None:
    if char in _UNDEFINED:
        return ord(char)
    try:
        return char.encode("cp1252")[0]
    except UnicodeEncodeError:
        return None


def _sequence_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _fix_run(match: re.Match[str]) -> str:
    """Each complete UTF-8 sequence in the run becomes its character again; a character
    that starts no valid sequence (a genuine `é` next to the damage) stays as it is."""
    run = match.group(0)
    raw = [_byte_of(c) for c in run]
    out: list[str] = []
    i = 0
    while i < len(run):
        lead = raw[i]
        size = _sequence_length(lead) if lead is not None else 0
        chunk = raw[i : i + size]
        if size and len(chunk) == size and None not in chunk:
            try:
                out.append(bytes(b for b in chunk if b is not None).decode("utf-8"))
                i += size
                continue
            except UnicodeDecodeError:
                pass
        out.append(run[i])
        i += 1
    return "".join(out)


def repair_mojibake(text: str) -> str:
    """The text with UTF-8-read-as-Windows-1252 runs turned back (repeatedly, for files
    that went through the accident more than once)."""
    for _ in range(MAX_REPAIR_ROUNDS):
        fixed = _MOJIBAKE_RUN.sub(_fix_run, text)
        if fixed == text:
            break
        text = fixed
    return text


def _decode(data: bytes) -> tuple[str, str, list[str]]:
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(name, errors="replace"), name, []
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    lenient = data.decode("utf-8", errors="replace")
    bad = lenient.count("\ufffd")
    has_multibyte = any(ord(c) > 0x7F and c != "\ufffd" for c in lenient)
    if has_multibyte:
        return lenient, "utf-8", [f"{bad} bytes are not valid UTF-8; each became U+FFFD"]
    # No valid UTF-8 sequence at all: an 8-bit file, most often Windows-1252.
    return (
        data.decode("latin-1").translate(_LATIN1_TO_CP1252),
        "cp1252",
        ["the file is not UTF-8; read as Windows-1252"],
    )


def decode_runbook(data: bytes) -> DecodedText:
    text, encoding, warnings = _decode(data)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    controls = len(_CONTROL.findall(text))
    if controls:
        text = _CONTROL.sub("", text)
        warnings.append(f"removed {controls} control characters (NUL and the like)")
    result = DecodedText(text="", encoding=encoding, warnings=warnings)
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        fixed = repair_mojibake(line) if _MOJIBAKE_RUN.search(line) else line
        if fixed != line:
            result.repaired_lines.append((number, line, fixed))
            lines[number - 1] = fixed
    result.text = "\n".join(lines)
    return result
