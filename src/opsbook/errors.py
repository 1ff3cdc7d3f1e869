"""One exception tree for the whole project.

Third-party errors are translated at the boundary into these, so callers (the CLI, the
engine, the API) handle one family and can tell a retryable failure from a permanent one.
"""

from __future__ import annotations

from dataclasses import dataclass


class OpsbookError(Exception):
    """Base of every error opsbook raises on purpose."""

    retryable: bool = False


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One problem in a config file, located as precisely as the YAML allows."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        key = f" {self.path}:" if self.path else ""
        return f"{where}{key} {self.message}"


class ConfigError(OpsbookError):
    """The config cannot be used; carries every issue found, not just the first."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


class StoreError(OpsbookError):
    """The store could not be opened, migrated or written."""

    retryable = True


class UsageError(OpsbookError):
    """A command was called with arguments that cannot work (unknown check name, ...)."""


class DeliveryError(OpsbookError):
    """A notification could not be delivered through a channel.

    `retryable` says whether trying again later can help (a timeout, a 503, a refused
    connection) or not (a 400, a rejected recipient, a bad credential).
    """

    def __init__(self, message: str, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
