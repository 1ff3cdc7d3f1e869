"""On-call: people and how to reach them, rotation schedules with overrides, and
escalation policies. The models are sections of opsbook.yaml; the rotation and
escalation math is pure (every instant is an argument), so the engine, the CLI and the
tests share one implementation and no clock."""

from __future__ import annotations

from opsbook.oncall.escalation import (
    Delivery,
    EscalationLevel,
    EscalationPolicy,
    EscalationPosition,
    ResolvedTarget,
    ack_expires_at,
    advance,
    begin,
    due_steps,
    level_delay,
    plan_delivery,
    resolve_targets,
    restart_after_ack,
)
from opsbook.oncall.people import Person, contact_name, contact_receivers
from opsbook.oncall.rotation import (
    Shift,
    current_shift,
    next_handoff,
    on_call,
    on_call_all,
    shifts,
)
from opsbook.oncall.schedules import Layer, Override, Schedule
from opsbook.oncall.targets import (
    PersonTarget,
    ReceiverTarget,
    ScheduleTarget,
    Target,
    parse_target,
)
from opsbook.oncall.validation import oncall_issues

__all__ = [
    "Delivery",
    "EscalationLevel",
    "EscalationPolicy",
    "EscalationPosition",
    "Layer",
    "Override",
    "Person",
    "PersonTarget",
    "ReceiverTarget",
    "ResolvedTarget",
    "Schedule",
    "ScheduleTarget",
    "Shift",
    "Target",
    "ack_expires_at",
    "advance",
    "begin",
    "contact_name",
    "contact_receivers",
    "current_shift",
    "due_steps",
    "level_delay",
    "next_handoff",
    "on_call",
    "on_call_all",
    "oncall_issues",
    "parse_target",
    "plan_delivery",
    "resolve_targets",
    "restart_after_ack",
    "shifts",
]
