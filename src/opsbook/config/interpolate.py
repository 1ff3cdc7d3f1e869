"""`${ENV:NAME}`, `${ENV:NAME:-default}`, `${VAR:NAME:-default}` and `${FILE:/path}`
references in string values.

Every value read with ENV or FILE is treated as a secret: it is collected so the
`Redactor` can mask it wherever opsbook prints, logs or stores text. VAR reads the
environment for values that are not secret (a public URL, a host name), which must stay
readable in messages and links. A `:-default` written in the file is not secret (it is in
the file). `$${` escapes a literal `${`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsbook.config.yaml_source import Path_, SourceMap
from opsbook.errors import ConfigIssue

_REFERENCE = re.compile(r"\$(\$?)\{([A-Z]+):([^}]*)\}")
MAX_SECRET_FILE_BYTES = 64 * 1024


class Interpolator:
    def __init__(self, source: SourceMap, base_dir: Path, environ: Mapping[str, str]) -> None:
        self.source = source
        self.base_dir = base_dir
        self.environ = environ
        self.secrets: set[str] = set()
        self.issues: list[ConfigIssue] = []

    def walk(self, data: Any, path: Path_ = ()) -> Any:
        if isinstance(data, dict):
            return {k: self.walk(v, (*path, k)) for k, v in data.items()}
        if isinstance(data, list):
            return [self.walk(v, (*path, i)) for i, v in enumerate(data)]
        if isinstance(data, str) and "${" in data:
            return self._substitute(data, path)
        return data

    def _substitute(self, text: str, path: Path_) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(1):  # "$${...}" is an escaped literal
                return match.group(0)[1:]
            kind, arg = match.group(2), match.group(3)
            value, secret = self._resolve(kind, arg, path)
            if value is None:
                return ""
            if secret and value:
                self.secrets.add(value)
            return value

        return _REFERENCE.sub(replace, text)

    def _resolve(self, kind: str, arg: str, path: Path_) -> tuple[str | None, bool]:
        """The value and whether it is secret (a default written in the file is not)."""
        if kind in ("ENV", "VAR"):
            name, sep, default = arg.partition(":-")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                self.issues.append(self.source.issue(path, f"invalid variable name {name!r}"))
                return None, False
            if name in self.environ:
                return self.environ[name], kind == "ENV"
            if sep:
                return default, False
            self.issues.append(
                self.source.issue(
                    path,
                    f"environment variable {name} is not set (use ${{{kind}:{name}:-default}})",
                )
            )
            return None, False
        if kind == "FILE":
            file = Path(arg).expanduser()
            if not file.is_absolute():
                file = self.base_dir / file
            try:
                if file.stat().st_size > MAX_SECRET_FILE_BYTES:
                    self.issues.append(self.source.issue(path, f"{file} is larger than 64 KiB"))
                    return None, False
                return file.read_text(encoding="utf-8").rstrip("\r\n"), True
            except OSError as exc:
                reason = exc.strerror or type(exc).__name__
                self.issues.append(self.source.issue(path, f"cannot read {file}: {reason}"))
                return None, False
            except UnicodeDecodeError:
                self.issues.append(self.source.issue(path, f"{file} is not UTF-8 text"))
                return None, False
        self.issues.append(
            self.source.issue(path, f"unknown reference ${{{kind}:...}}; use ENV, VAR or FILE")
        )
        return None, False


def interpolate(
    data: Any, source: SourceMap, base_dir: Path, environ: Mapping[str, str] | None = None
) -> tuple[Any, set[str], list[ConfigIssue]]:
    interpolator = Interpolator(source, base_dir, os.environ if environ is None else environ)
    result = interpolator.walk(data)
    return result, interpolator.secrets, interpolator.issues
