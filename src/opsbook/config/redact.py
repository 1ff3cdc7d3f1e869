"""Mask secrets in any text opsbook prints, logs or stores."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"
# Shorter values (ports, small numbers, short words) would be masked everywhere they
# appear and garble output; a password inside a URL is still masked by the rule below.
MIN_SECRET_LENGTH = 6
_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s/]+)@")


class Redactor:
    """Replaces known secret values, and passwords in URLs, with ``***``."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        usable = {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}
        # Longest first so a secret containing another is masked whole.
        self._secrets = sorted(usable, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(re.escape(s) for s in self._secrets)) if self._secrets else None
        )

    def __call__(self, text: str) -> str:
        return self.redact(text)

    def redact(self, text: str) -> str:
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text)

    def with_secrets(self, more: Iterable[str]) -> Redactor:
        return Redactor([*self._secrets, *more])
