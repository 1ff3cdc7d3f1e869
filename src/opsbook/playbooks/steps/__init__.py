"""Step kinds: one module each, registered here by the key used in config.

A step names exactly one of these blocks; the step model is built from this dict, so a
new kind is one module plus one line.
"""

from __future__ import annotations

from typing import Any

from opsbook.playbooks.steps import (
    approval,
    check,
    http,
    manual,
    notify,
    playbook,
    redis,
    shell,
    sql,
    wait,
)
from opsbook.playbooks.steps.base import StepKind

STEP_KINDS: dict[str, StepKind[Any]] = {
    kind.name: kind
    for kind in (
        manual.KIND,
        approval.KIND,
        notify.KIND,
        playbook.KIND,
        shell.KIND,
        http.KIND,
        sql.KIND,
        redis.KIND,
        check.KIND,
        wait.KIND,
    )
}

__all__ = ["STEP_KINDS", "StepKind"]
