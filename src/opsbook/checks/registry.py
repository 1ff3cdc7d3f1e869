"""Every check kind, by the key that selects it in a check (``http:``, ``redis:``...).

Registration is explicit: a kind exists when it is listed here.
"""

from __future__ import annotations

from typing import Any

from opsbook.checks import (
    command,
    disk,
    file_age,
    http,
    log,
    postgres,
    prometheus,
    redis,
    system,
    tcp,
    tls,
)
from opsbook.checks.base import CheckKind

KINDS: dict[str, CheckKind[Any]] = {
    kind.name: kind
    for kind in (
        http.KIND,
        tcp.KIND,
        tls.KIND,
        postgres.KIND,
        redis.KIND,
        disk.KIND,
        system.KIND,
        command.KIND,
        file_age.KIND,
        log.KIND,
        prometheus.KIND,
    )
}
