"""`disk`: space and inodes used on the filesystem holding a path.

The runbooks' "Disk Usage: Warning > 80%, Critical > 90%" (practice-app system metrics)
and its "Low Disk Space: < 20% free" alert, instead of reading ``df -h`` by eye.
"""

from __future__ import annotations

import asyncio
import os

from pydantic import Field, field_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.context import ProbeContext
from opsbook.checks.file_age import human_size
from opsbook.status import Status

SAMPLES = frozenset({"used_pct", "free_bytes", "total_bytes", "inodes_used_pct"})


class DiskCheck(ProbeConfig):
    path: str = Field(
        default="/",
        min_length=1,
        description="Any path on the filesystem to measure (relative to the config file).",
    )

    @field_validator("path")
    @classmethod
    def _no_nul(cls, value: str) -> str:
        if "\0" in value:
            raise ValueError("contains a NUL byte")
        return value


def usage(st: os.statvfs_result) -> dict[str, float]:
    """Samples from statvfs, computed as df computes its Use%.

    Blocks reserved for root count neither as used nor as free: used_pct is
    used / (used + available to users), so 100% means a normal user cannot write.
    """
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    available = st.f_bavail * st.f_frsize
    usable = used + available
    samples = {
        "used_pct": used / usable * 100 if usable else 0.0,
        "free_bytes": float(available),
        "total_bytes": float(st.f_blocks * st.f_frsize),
    }
    if st.f_files:  # some filesystems (btrfs, NFS, FUSE) have no inode limit to report
        inodes_used = st.f_files - st.f_ffree
        inodes_usable = inodes_used + st.f_favail
        if inodes_usable:
            samples["inodes_used_pct"] = inodes_used / inodes_usable * 100
    return samples


async def probe(cfg: DiskCheck, ctx: ProbeContext) -> Observation:
    path = ctx.resolve_path(cfg.path)
    try:
        st = await asyncio.to_thread(os.statvfs, path)
    except FileNotFoundError:
        raise ProbeFailure(Status.CRITICAL, f"{path} does not exist") from None
    except OSError as exc:
        raise ProbeFailure(Status.CRITICAL, f"cannot stat {path}: {exc.strerror or exc}") from None
    samples = usage(st)
    message = (
        f"{path} {samples['used_pct']:.0f}% used, {human_size(samples['free_bytes'])} free "
        f"of {human_size(samples['total_bytes'])}"
    )
    if "inodes_used_pct" in samples:
        message += f"; inodes {samples['inodes_used_pct']:.0f}% used"
    return Observation(Status.OK, message, samples)


KIND = CheckKind(
    name="disk",
    config_model=DiskCheck,
    probe=probe,
    summary="Space and inodes used on the filesystem holding a path, as df reports them.",
    samples=lambda _cfg: SAMPLES,
    default_thresholds={"used_pct": {"warning": "> 80", "critical": "> 90"}},
)
