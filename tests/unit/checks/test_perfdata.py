"""Nagios plugin output and perfdata parsing: pure, total, and round-tripping."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.checks.perfdata import (
    PerfDatum,
    format_label,
    format_perfdata,
    parse_perfdata,
    parse_plugin_output,
    perf_samples,
    sample_name,
)

# Real outputs of monitoring-plugins-basic 2.3 on Debian.
CHECK_TCP = (
    "TCP OK - 0.000 second response time on 127.0.0.1 port 6379"
    "|time=0.000140s;;;0.000000;10.000000\n"
)
CHECK_DISK = (
    "DISK OK - free space: / 81052MiB (78% inode=97%);"
    "| /=23953670144B;216442024755;243497277849;0;270552530944\n"
)
CHECK_LOAD = (
    "LOAD OK - total load average: 0.49, 0.33, 0.21|load1=0.490;5.000;10.000;0; "
    "load5=0.330;4.000;8.000;0; load15=0.210;3.000;6.000;0; \n"
)


def test_check_tcp_output() -> None:
    out = parse_plugin_output(CHECK_TCP)
    assert out.text == "TCP OK - 0.000 second response time on 127.0.0.1 port 6379"
    assert out.perfdata == (PerfDatum("time", 0.00014, "s", "", "", 0.0, 10.0),)
    assert perf_samples(out.perfdata) == {"time_s": 0.00014}


def test_check_disk_root_label_and_bytes() -> None:
    out = parse_plugin_output(CHECK_DISK)
    assert out.text == "DISK OK - free space: / 81052MiB (78% inode=97%);"
    (datum,) = out.perfdata
    assert datum.label == "/"
    assert datum.warn == "216442024755" and datum.crit == "243497277849"
    assert datum.max == 270552530944
    assert perf_samples(out.perfdata) == {"root_bytes": 23953670144.0}


def test_check_load_three_items_with_trailing_separators() -> None:
    samples = perf_samples(parse_plugin_output(CHECK_LOAD).perfdata)
    assert samples == {"load1": 0.49, "load5": 0.33, "load15": 0.21}


def test_long_output_and_perfdata_on_later_lines() -> None:
    output = (
        "DISK OK - all fine | /=2643MB;5948;5958;0;5968\n"
        "/ 15272 MB (77%);\n"
        "/boot 68 MB (69%);\n"
        "/home 69357 MB (27%);\n"
        "/var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n"
        "/home=69357MB;253404;253409;0;253414\n"
        "/var/log=818MB;970;975;0;980\n"
    )
    out = parse_plugin_output(output)
    assert out.text == "DISK OK - all fine"
    assert out.long_text == (
        "/ 15272 MB (77%);",
        "/boot 68 MB (69%);",
        "/home 69357 MB (27%);",
        "/var/log 819 MB (84%);",
    )
    assert [d.label for d in out.perfdata] == ["/", "/boot", "/home", "/var/log"]
    samples = perf_samples(out.perfdata)
    assert samples["root_bytes"] == 2643 * 1024**2
    assert samples["var_log_bytes"] == 818 * 1024**2
    assert set(samples) == {"root_bytes", "boot_bytes", "home_bytes", "var_log_bytes"}


def test_long_text_without_perfdata_keeps_every_line() -> None:
    out = parse_plugin_output("WARNING - 2 issues\nfirst\nsecond\n\n")
    assert out.text == "WARNING - 2 issues"
    assert out.long_text == ("first", "second")
    assert out.perfdata == ()


def test_crlf_and_empty_output() -> None:
    assert parse_plugin_output("OK | a=1\r\n").perfdata == (PerfDatum("a", 1.0),)
    empty = parse_plugin_output("")
    assert empty.text == "" and empty.perfdata == () and empty.long_text == ()


def test_quoted_labels_with_spaces_and_quotes() -> None:
    items = parse_perfdata("'disk usage'=5% 'it''s'=3 'a=b'=1")
    assert [(d.label, d.value, d.uom) for d in items] == [
        ("disk usage", 5.0, "%"),
        ("it's", 3.0, ""),
        ("a=b", 1.0, ""),
    ]


def test_unknown_value_is_kept_but_not_sampled() -> None:
    items = parse_perfdata("rta=U;100;500 pl=0%")
    assert items[0] == PerfDatum("rta", None, "", "100", "500")
    assert perf_samples(items) == {"pl_pct": 0.0}


def test_ranges_min_max_and_decimal_comma() -> None:
    (item,) = parse_perfdata("temp=21,5C;@10:20;~:30;-40;125")
    assert item == PerfDatum("temp", 21.5, "C", "@10:20", "~:30", -40.0, 125.0)


def test_exponent_and_signs() -> None:
    items = parse_perfdata("a=1e3 b=-2.5E-2s c=+.5 d=7.")
    assert [d.value for d in items] == [1000.0, -0.025, 0.5, 7.0]


@pytest.mark.parametrize(
    "text",
    [
        "novalue",  # no '='
        "=5",  # no label
        "a=",  # no value
        "a=abc",  # value is not a number
        "a=1.2.3",  # a UOM cannot hold digits
        "a=1e999",  # overflows to infinity
        "'unterminated=5",
        "a=nan",
        "a=--1",
    ],
)
def test_malformed_items_are_skipped(text: str) -> None:
    assert parse_perfdata(text) == []


def test_malformed_item_does_not_hide_the_next_one() -> None:
    items = parse_perfdata("garbage a=abc 'x y' b=2ms")
    assert [(d.label, d.value, d.uom) for d in items] == [("b", 2.0, "ms")]


@pytest.mark.parametrize(
    "label,uom,name",
    [
        ("time", "s", "time_s"),
        ("rta", "ms", "rta_s"),
        ("latency_ms", "ms", "latency_s"),
        ("time_s", "s", "time_s"),
        ("jitter", "us", "jitter_s"),
        ("used_pct", "%", "used_pct"),
        ("pl", "%", "pl_pct"),
        ("swap", "B", "swap_bytes"),
        ("size_kb", "KB", "size_bytes"),
        ("Heap Size", "MB", "heap_size_bytes"),
        ("bytes_in", "c", "bytes_in_total"),
        ("users", "", "users"),
        ("fan", "rpm", "fan_rpm"),
        ("Température CPU", "C", "temperature_cpu_c"),
        ("/", "B", "root_bytes"),
        ("/var/log", "MB", "var_log_bytes"),
        ("---", "", "value"),
        ("5xx", "", "perf_5xx"),
        ("Load-1m", "", "load_1m"),
    ],
)
def test_sample_names(label: str, uom: str, name: str) -> None:
    assert sample_name(label, uom) == name


@pytest.mark.parametrize(
    "item,value",
    [
        (PerfDatum("rta", 12.5, "ms"), 0.0125),
        (PerfDatum("t", 250.0, "us"), 0.00025),
        (PerfDatum("heap", 2.0, "MB"), 2 * 1024**2),
        (PerfDatum("disk", 1.5, "GB"), 1.5 * 1024**3),
        (PerfDatum("disk", 1.0, "TiB"), 1024.0**4),
        (PerfDatum("pl", 40.0, "%"), 40.0),
        (PerfDatum("fan", 3000.0, "rpm"), 3000.0),
    ],
)
def test_samples_are_in_base_units(item: PerfDatum, value: float) -> None:
    assert list(perf_samples([item]).values()) == [pytest.approx(value)]


def test_first_of_duplicate_names_wins() -> None:
    items = parse_perfdata("time=1s time=2s 'Time'=3s")
    assert perf_samples(items) == {"time_s": 1.0}


def test_format_label_quotes_when_needed() -> None:
    assert format_label("load1") == "load1"
    assert format_label("disk usage") == "'disk usage'"
    assert format_label("it's") == "'it''s'"
    assert format_label("a=b") == "'a=b'"


# --- properties -----------------------------------------------------------------------------

_finite = st.floats(allow_nan=False, allow_infinity=False)
_labels = st.text(min_size=1, max_size=30)
_UOMS = ["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c"]


def _range_text(start: float | None, end: float | None, inside: bool, infinite: bool) -> str:
    head = "@" if inside else ""
    if infinite:
        return f"{head}~:{'' if end is None else repr(end)}"
    if start is None:
        return "" if end is None else f"{head}{end!r}"
    return f"{head}{start!r}:{'' if end is None else repr(end)}"


_ranges = st.one_of(
    st.just(""),
    st.builds(
        _range_text,
        st.none() | _finite,
        st.none() | _finite,
        st.booleans(),
        st.booleans(),
    ),
)
_data = st.builds(
    PerfDatum,
    label=_labels,
    value=st.none() | _finite,
    uom=st.sampled_from(_UOMS),
    warn=_ranges,
    crit=_ranges,
    min=st.none() | _finite,
    max=st.none() | _finite,
)


@given(st.text())
def test_parse_perfdata_never_raises(text: str) -> None:
    for item in parse_perfdata(text):
        assert item.label
        assert item.value is None or item.value == item.value  # never NaN


@given(st.text())
def test_parse_plugin_output_never_raises(text: str) -> None:
    out = parse_plugin_output(text)
    assert "\n" not in out.text and "|" not in out.text
    samples = perf_samples(out.perfdata)
    assert all(name and name.replace("_", "").isalnum() for name in samples)


@given(st.lists(_data, max_size=8))
def test_well_formed_perfdata_round_trips(items: list[PerfDatum]) -> None:
    assert parse_perfdata(format_perfdata(items)) == items


@given(
    st.text(alphabet=st.characters(blacklist_characters="|\r\n"), max_size=40),
    st.lists(_data.filter(lambda d: "\n" not in d.label and "\r" not in d.label), max_size=5),
    st.lists(_data.filter(lambda d: "\n" not in d.label and "\r" not in d.label), max_size=5),
)
def test_plugin_output_round_trips(
    text: str, first: list[PerfDatum], later: list[PerfDatum]
) -> None:
    output = f"{text} | {format_perfdata(first)}\nlong line\nlast long line | "
    output += "\n".join(format_perfdata([item]) for item in later)
    out = parse_plugin_output(output)
    assert out.text == text.strip()
    assert out.long_text == ("long line", "last long line")
    assert list(out.perfdata) == first + later


@given(_labels, st.sampled_from([*_UOMS, "rpm", "°C", "dBm"]))
def test_sample_names_are_snake_case(label: str, uom: str) -> None:
    name = sample_name(label, uom)
    assert name == name.lower()
    assert all(c.isascii() and (c.isalnum() or c == "_") for c in name)
    assert not name[0].isdigit() and not name.startswith("_") and "__" not in name
