"""Every check kind, by the key that selects it in a check (``http:``, ``redis:``...).

Registration is explicit: a kind exists when it is listed here.
"""

from __future__ import annotations

from typing import Any

from opsbook.checks import http
from opsbook.checks.base import CheckKind

KINDS: dict[str, CheckKind[Any]] = {kind.name: kind for kind in (http.KIND,)}
