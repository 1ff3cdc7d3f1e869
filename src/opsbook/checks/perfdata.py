"""Nagios plugin output: status text, long output and performance data, as samples.

The plugin API (Nagios "Plugin Output Spec", monitoring-plugins guidelines) looks like::

    TEXT OUTPUT | OPTIONAL PERFDATA
    LONG TEXT LINE 1
    LONG TEXT LINE N | PERFDATA LINE 2
    PERFDATA LINE 3

and each perfdata item is ``'label'=value[UOM];[warn];[crit];[min];[max]``. Everything here
is pure and total: arbitrary text never raises, malformed items are skipped.

Samples get one base unit per kind of quantity so thresholds do not depend on how a plugin
chose to print a value: times become seconds (``time_s``), sizes bytes (``size_bytes``).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Separators between perfdata items; quoted labels may contain them.
_WHITESPACE = frozenset(" \t\r\n\f\v")
_VALUE = re.compile(r"([-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?)(.*)", re.ASCII | re.S)
_NUMBER = re.compile(r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?", re.ASCII)
_NOT_NAME = re.compile(r"[^a-z0-9]+")

# UOM -> (factor to the base unit, sample-name suffix).
_UNITS: Mapping[str, tuple[float, str]] = {
    "s": (1.0, "_s"),
    "ms": (1e-3, "_s"),
    "us": (1e-6, "_s"),
    "µs": (1e-6, "_s"),
    "%": (1.0, "_pct"),
    "B": (1.0, "_bytes"),
    # Plugins (check_disk, check_swap) mean binary multiples when they print KB/MB.
    "KB": (1024.0, "_bytes"),
    "MB": (1024.0**2, "_bytes"),
    "GB": (1024.0**3, "_bytes"),
    "TB": (1024.0**4, "_bytes"),
    "KiB": (1024.0, "_bytes"),
    "MiB": (1024.0**2, "_bytes"),
    "GiB": (1024.0**3, "_bytes"),
    "TiB": (1024.0**4, "_bytes"),
    "c": (1.0, "_total"),
}


@dataclass(frozen=True, slots=True)
class PerfDatum:
    """One performance data item as the plugin printed it (value None for ``U``)."""

    label: str
    value: float | None
    uom: str = ""
    warn: str = ""
    crit: str = ""
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True, slots=True)
class PluginOutput:
    """A plugin's stdout split into its parts."""

    text: str
    long_text: tuple[str, ...]
    perfdata: tuple[PerfDatum, ...]


def parse_plugin_output(output: str) -> PluginOutput:
    """Split plugin output into the status text, the long text lines and all perfdata.

    Perfdata is what follows the first ``|`` on the first line, plus what follows the first
    ``|`` in the long text, plus every line after that one.
    """
    lines = [line.removesuffix("\r") for line in output.split("\n")]
    text, _, perf = lines[0].partition("|")
    perf_parts = [perf]
    long_text: list[str] = []
    for index, line in enumerate(lines[1:], start=1):
        if "|" in line:
            head, _, tail = line.partition("|")
            long_text.append(head.rstrip())
            perf_parts.append(tail)
            perf_parts.extend(lines[index + 1 :])
            break
        long_text.append(line)
    while long_text and not long_text[-1].strip():
        long_text.pop()
    perfdata = parse_perfdata("\n".join(perf_parts))
    return PluginOutput(text.strip(), tuple(long_text), tuple(perfdata))


def parse_perfdata(text: str) -> list[PerfDatum]:
    """Every well-formed item of a perfdata string; malformed ones are skipped."""
    items: list[PerfDatum] = []
    pos, end = 0, len(text)
    while pos < end:
        while pos < end and text[pos] in _WHITESPACE:
            pos += 1
        if pos >= end:
            break
        label, pos = _read_label(text, pos)
        if label is None or pos >= end or text[pos] != "=":
            pos = _skip_token(text, pos)
            continue
        data_end = _skip_token(text, pos + 1)
        datum = _parse_datum(label, text[pos + 1 : data_end])
        if datum is not None:
            items.append(datum)
        pos = data_end
    return items


def _skip_token(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] not in _WHITESPACE:
        pos += 1
    return pos


def _read_label(text: str, pos: int) -> tuple[str | None, int]:
    """A label at `pos` and the position after it; None when there is none."""
    if text[pos] != "'":
        start = pos
        while pos < len(text) and text[pos] not in _WHITESPACE and text[pos] != "=":
            pos += 1
        return (text[start:pos] or None), pos
    chars: list[str] = []
    pos += 1
    while pos < len(text):
        char = text[pos]
        if char == "'":
            if text.startswith("''", pos):
                chars.append("'")
                pos += 2
                continue
            return ("".join(chars) or None), pos + 1
        chars.append(char)
        pos += 1
    return None, pos  # unterminated quote: the rest is not perfdata


def _number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    value = float(text.replace(",", "."))
    return value if math.isfinite(value) else None


def _valid_uom(uom: str) -> bool:
    return not any(c.isdigit() or c in "+-.,=;'" for c in uom)


def _parse_datum(label: str, data: str) -> PerfDatum | None:
    fields = data.split(";")
    head = fields[0]
    value: float | None
    if head.startswith("U") and _valid_uom(head[1:]):
        value, uom = None, head[1:]
    else:
        match = _VALUE.fullmatch(head)
        if match is None or not _valid_uom(match.group(2)):
            return None
        value = _number(match.group(1))
        if value is None:
            return None
        uom = match.group(2)
    rest = [*fields[1:5], "", "", "", ""]
    return PerfDatum(
        label=label,
        value=value,
        uom=uom,
        warn=rest[0],
        crit=rest[1],
        min=_number(rest[2]),
        max=_number(rest[3]),
    )


def format_label(label: str) -> str:
    """A label as perfdata text, quoted when it needs to be."""
    if label and not any(c in _WHITESPACE or c in "='" for c in label):
        return label
    return "'" + label.replace("'", "''") + "'"


def _format_number(value: float | None) -> str:
    return "" if value is None else repr(value)


def format_perfdata(items: Iterable[PerfDatum]) -> str:
    """The perfdata string for `items` (what a plugin would print after ``|``)."""
    parts = []
    for item in items:
        value = "U" if item.value is None else repr(item.value)
        fields = [
            f"{format_label(item.label)}={value}{item.uom}",
            item.warn,
            item.crit,
            _format_number(item.min),
            _format_number(item.max),
        ]
        parts.append(";".join(fields).rstrip(";"))
    return " ".join(parts)


def _snake(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NOT_NAME.sub("_", plain.lower()).strip("_")


def sample_name(label: str, uom: str) -> str:
    """The sample name for a perfdata label printed with unit `uom`.

    The label in snake_case (``[a-z0-9_]``), then a suffix naming the base unit: ``_s``,
    ``_bytes``, ``_pct``, ``_total`` (counters ``c``), or the unit itself in snake_case for
    units outside the plugin spec (``fan=3000rpm`` -> ``fan_rpm``). A label already ending
    in its unit drops that ending first (``latency_ms`` in ms -> ``latency_s``).
    """
    name = _snake(label)
    unit_word = _snake(uom)
    suffix = _UNITS[uom][1] if uom in _UNITS else (f"_{unit_word}" if unit_word else "")
    if unit_word and name.endswith(f"_{unit_word}"):
        name = name[: -len(unit_word) - 1]
    if not name:
        name = "root" if label.strip() == "/" else "value"
    if name[0].isdigit():
        name = f"perf_{name}"
    return name if name.endswith(suffix) else name + suffix


def perf_samples(items: Iterable[PerfDatum]) -> dict[str, float]:
    """Samples from perfdata: base units, ``U`` values skipped, first of a name wins."""
    samples: dict[str, float] = {}
    for item in items:
        if item.value is None:
            continue
        name = sample_name(item.label, item.uom)
        factor = _UNITS[item.uom][0] if item.uom in _UNITS else 1.0
        value = item.value * factor
        if math.isfinite(value):
            samples.setdefault(name, value)
    return samples
