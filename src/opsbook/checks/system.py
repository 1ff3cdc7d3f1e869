"""`system`: CPU, memory, swap and load of the machine the engine runs on.

The runbooks' system metrics (practice-app): "CPU Usage: Warning > 70%, Critical > 85%",
"Memory Usage: Warning > 80%, Critical > 90%", and the ``top`` / ``free -h`` /
``uptime`` glance of the morning health check.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

import psutil
from pydantic import Field, field_validator, model_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig
from opsbook.checks.context import ProbeContext
from opsbook.config.types import Duration
from opsbook.status import Status

SAMPLES = frozenset(
    {
        "cpu_pct",
        "memory_used_pct",
        "swap_used_pct",
        "load1",
        "load5",
        "load15",
        "load1_per_cpu",
    }
)


class SystemCheck(ProbeConfig):
    cpu_sample: Duration = Field(
        default=timedelta(milliseconds=500),
        description="How long CPU use is measured over; must be shorter than timeout.",
    )

    @field_validator("cpu_sample")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("cpu_sample must be longer than 0s")
        return value

    @model_validator(mode="after")
    def _sample_fits_timeout(self) -> SystemCheck:
        if self.cpu_sample >= self.timeout:
            raise ValueError(
                f"cpu_sample ({self.cpu_sample.total_seconds():g}s) must be shorter than "
                f"timeout ({self.timeout.total_seconds():g}s)"
            )
        return self


def measure(cpu_sample_s: float) -> dict[str, float]:
    """All samples; blocks for `cpu_sample_s` while CPU use is measured."""
    cpu = psutil.cpu_percent(interval=cpu_sample_s)
    memory = psutil.virtual_memory()
    swap = psutil.swap_memory()
    load1, load5, load15 = os.getloadavg()
    cpus = psutil.cpu_count(logical=True) or 1
    samples = {
        "cpu_pct": float(cpu),
        # percent is (total - available) / total: page cache the kernel can drop is free.
        "memory_used_pct": float(memory.percent),
        "load1": load1,
        "load5": load5,
        "load15": load15,
        "load1_per_cpu": load1 / cpus,
    }
    if swap.total:  # without swap there is no percentage to speak of
        samples["swap_used_pct"] = float(swap.percent)
    return samples


async def probe(cfg: SystemCheck, ctx: ProbeContext) -> Observation:
    samples = await asyncio.to_thread(measure, cfg.cpu_sample.total_seconds())
    swap = f"{samples['swap_used_pct']:.0f}%" if "swap_used_pct" in samples else "none"
    message = (
        f"cpu {samples['cpu_pct']:.0f}%, memory {samples['memory_used_pct']:.0f}%, "
        f"swap {swap}, load {samples['load1']:.2f} {samples['load5']:.2f} "
        f"{samples['load15']:.2f} ({samples['load1_per_cpu']:.2f} per CPU)"
    )
    return Observation(Status.OK, message, samples)


KIND = CheckKind(
    name="system",
    config_model=SystemCheck,
    probe=probe,
    summary="CPU, memory, swap and load average of the machine the engine runs on.",
    samples=lambda _cfg: SAMPLES,
    default_thresholds={
        "cpu_pct": {"warning": "> 70", "critical": "> 85"},
        "memory_used_pct": {"warning": "> 80", "critical": "> 90"},
    },
)
