"""Apply warning/critical bounds to a probe's samples: pure, no I/O."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from opsbook.checks.base import Observation
from opsbook.config.types import Bound, BoundType
from opsbook.status import Status, worst


class Threshold(BaseModel):
    """Bounds a sample must not cross: ``{warning: "> 200", critical: "> 500"}``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    warning: BoundType | None = None
    critical: BoundType | None = None


def _format_value(value: float) -> str:
    if value.is_integer():
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def breach(threshold: Threshold, value: float) -> tuple[Status, Bound] | None:
    """The worst level `value` breaches, with the bound it crossed; None if within."""
    if threshold.critical is not None and threshold.critical.breached_by(value):
        return Status.CRITICAL, threshold.critical
    if threshold.warning is not None and threshold.warning.breached_by(value):
        return Status.WARNING, threshold.warning
    return None


def apply_thresholds(observation: Observation, thresholds: Mapping[str, Threshold]) -> Observation:
    """Combine the probe's own status with every breached threshold.

    Breaches lead the message ("latency_ms 612 > 500") because that is what an operator
    needs first; the probe's own message follows.
    """
    statuses = [observation.status]
    notes = []
    for name, threshold in thresholds.items():
        value = observation.samples.get(name)
        if value is None:
            continue
        hit = breach(threshold, value)
        if hit is not None:
            status, bound = hit
            statuses.append(status)
            notes.append(f"{name} {_format_value(value)} {bound}")
    if not notes:
        return observation
    message = "; ".join([*notes, observation.message]) if observation.message else "; ".join(notes)
    return Observation(worst(statuses), message, observation.samples)
