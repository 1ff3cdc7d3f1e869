"""`opsbook demo` argument parsing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import typer

from opsbook.cli.demo_cmd import parse_interval


def test_interval_accepts_durations() -> None:
    assert parse_interval("5s") == timedelta(seconds=5)
    assert parse_interval("1m30s") == timedelta(seconds=90)
    assert parse_interval("1s") == timedelta(seconds=1)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("5", "like '5s'"), ("soon", "like '5s'"), ("500ms", "at least 1s"), ("", "like '5s'")],
)
def test_interval_refuses_bad_values(text: str, reason: str) -> None:
    with pytest.raises(typer.BadParameter) as caught:
        parse_interval(text)
    assert reason in str(caught.value)
