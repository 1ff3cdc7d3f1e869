"""Check status in Nagios plugin convention, shared by every check kind and the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class Status(IntEnum):
    """Values are the Nagios plugin exit codes: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @property
    def rank(self) -> int:
        """Badness order used to combine statuses: ok < warning < unknown < critical.

        UNKNOWN ranks above WARNING because "we cannot tell" must not hide behind a
        warning, and below CRITICAL because a confirmed failure is the stronger signal.
        """
        return _RANK[self]

    @classmethod
    def parse(cls, text: str) -> Status:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(
                f"unknown status {text!r}; expected one of ok, warning, critical, unknown"
            ) from None


_RANK = {Status.OK: 0, Status.WARNING: 1, Status.UNKNOWN: 2, Status.CRITICAL: 3}


def worst(statuses: Iterable[Status]) -> Status:
    """The worst of several statuses by `Status.rank`; OK for none."""
    result = Status.OK
    for status in statuses:
        if status.rank > result.rank:
            result = status
    return result
