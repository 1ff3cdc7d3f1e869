"""`redis`: PING, then the INFO numbers and queue lengths the runbooks grep for.

Replaces ``redis-cli ping``, ``redis-cli INFO | grep -E "used_memory_human|connected_clients|
ops_per_sec"``, ``redis-cli INFO stats | grep evicted`` (runbook "Redis Memory Full"),
the review-engine's "cache_hit_rate: threshold < 90%" and ``redis-cli LLEN sync_queue``.

Each probe opens one connection and closes it afterwards. The hit rate is taken over the
time since the previous probe of the same server (from counters kept in the probe state),
so a drop shows at once instead of vanishing in a lifetime average.
"""

from __future__ import annotations

import os
import re
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.connection import parse_url
from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    RedisError,
    ResponseError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.context import ProbeContext
from opsbook.status import Status

SAMPLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")
LIST_PREFIX = "llen_"
BUILTIN_SAMPLES = (
    "latency_ms",
    "used_memory_pct",
    "used_memory_bytes",
    "hit_rate_pct",
    "evicted_keys",
    "connected_clients",
    "ops_per_sec",
)
_MEBIBYTE = 1024 * 1024


def list_sample_name(key: str) -> str:
    """``sync_queue`` → ``llen_sync_queue``; ``queue:emails`` → ``llen_queue_emails``."""
    stem = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
    name = LIST_PREFIX + stem
    if not stem or not SAMPLE_NAME.match(name):
        raise ValueError(
            f"list {key!r} cannot be reported as a sample: it needs ASCII letters or digits "
            "and at most 95 characters"
        )
    return name


class RedisCheck(ProbeConfig):
    url: SecretStr = Field(
        description="redis://[[user]:password@]host[:port][/db], rediss:// for TLS, or "
        "unix:///path/to.sock. Secret: never shown in messages."
    )
    password: SecretStr | None = Field(
        default=None,
        description="Password, when it is not in the URL (e.g. ${ENV:REDIS_PASSWORD}); "
        "needs no URL-encoding. Empty means none.",
    )
    lists: list[str] = Field(
        default_factory=list,
        description="Keys whose LLEN is reported as llen_<name>, e.g. sync_queue.",
    )

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: SecretStr) -> SecretStr:
        url_options(value.get_secret_value())
        return value

    @field_validator("password")
    @classmethod
    def _empty_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is not None and not value.get_secret_value() else value

    @field_validator("lists")
    @classmethod
    def _list_names(cls, value: list[str]) -> list[str]:
        seen: dict[str, str] = {}
        for key in value:
            if not key:
                raise ValueError("a list name is empty")
            name = list_sample_name(key)
            if name in seen:
                raise ValueError(
                    f"lists {seen[name]!r} and {key!r} would both be reported as {name!r}"
                )
            seen[name] = key
        return value

    @model_validator(mode="after")
    def _one_password(self) -> RedisCheck:
        if self.password is not None and url_options(self.url.get_secret_value()).get("password"):
            raise ValueError("the password is set both in url and in password: keep one")
        return self


def url_options(url: str) -> dict[str, Any]:
    """redis-py's reading of the URL; ValueError that never echoes the URL (it holds secrets)."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in ("redis", "rediss", "unix"):
        shown = f" {scheme!r}" if sep and len(scheme) < 20 else " none"
        raise ValueError(f"expected a redis://, rediss:// or unix:// URL (got scheme{shown})")
    try:
        options: dict[str, Any] = parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError:
        raise ValueError(
            "not a valid Redis URL: check host, port and database number, and percent-encode "
            "special characters in the password (or use the password key)"
        ) from None
    if scheme != "unix" and urlsplit(url).path.strip("/") not in ("", str(options.get("db"))):
        raise ValueError("the URL's path must be a database number, e.g. redis://host:6379/0")
    return options


@dataclass(frozen=True, slots=True)
class KeyspaceCounters:
    """INFO's keyspace_hits / keyspace_misses of one server run (run_id)."""

    run_id: str
    hits: int
    misses: int

    @classmethod
    def from_info(cls, run_id: str, info: dict[str, Any]) -> KeyspaceCounters:
        return cls(run_id, int(info.get("keyspace_hits", 0)), int(info.get("keyspace_misses", 0)))

    def to_state(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "hits": self.hits, "misses": self.misses}

    @classmethod
    def from_state(cls, value: dict[str, Any] | None) -> KeyspaceCounters | None:
        if not value:
            return None
        run_id, hits, misses = value.get("run_id"), value.get("hits"), value.get("misses")
        if isinstance(run_id, str) and isinstance(hits, int) and isinstance(misses, int):
            return cls(run_id, hits, misses)
        return None


def hit_rate(
    previous: KeyspaceCounters | None, current: KeyspaceCounters
) -> tuple[float | None, str]:
    """Hit rate in percent and the window it covers.

    Since the previous probe when that probe saw the same server run and its counters have
    not gone back (CONFIG RESETSTAT); otherwise since the counters started. None when
    there were no lookups in the window.
    """
    if (
        previous is not None
        and previous.run_id == current.run_id
        and current.hits >= previous.hits
        and current.misses >= previous.misses
    ):
        hits, misses = current.hits - previous.hits, current.misses - previous.misses
        window = "since last probe"
    else:
        hits, misses, window = current.hits, current.misses, "since counters started"
    total = hits + misses
    return (hits / total * 100 if total else None), window


def _mib(value: float) -> str:
    return f"{value / _MEBIBYTE:.1f} MiB"


def _describe(options: dict[str, Any]) -> str:
    if options.get("path"):
        return str(options["path"])
    return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}"


def _os_reason(exc: BaseException | None) -> str | None:
    if isinstance(exc, socket.gaierror):
        return exc.strerror or str(exc)
    if isinstance(exc, OSError) and exc.errno is not None and exc.errno > 0:
        return os.strerror(exc.errno)
    return None


def _failure(exc: RedisError, where: str, timeout: float) -> ProbeFailure:
    if isinstance(exc, AuthenticationError):
        return ProbeFailure(Status.CRITICAL, f"authentication to {where} failed: {exc}")
    if isinstance(exc, BusyLoadingError):
        return ProbeFailure(Status.CRITICAL, f"{where} is loading its dataset into memory")
    if isinstance(exc, RedisTimeoutError):
        return ProbeFailure(Status.CRITICAL, f"no answer from {where} within {timeout:g}s")
    if isinstance(exc, RedisConnectionError):
        reason = _os_reason(exc.__cause__ or exc.__context__) or str(exc)
        return ProbeFailure(Status.CRITICAL, f"cannot connect to {where}: {reason}")
    return ProbeFailure(Status.CRITICAL, f"{where} answered with an error: {exc}")


def _info_samples(info: dict[str, Any], hit_rate_pct: float | None) -> dict[str, float]:
    samples: dict[str, float] = {}
    used, maxmemory = float(info["used_memory"]), float(info.get("maxmemory", 0))
    if maxmemory > 0:
        samples["used_memory_pct"] = used / maxmemory * 100
    samples["used_memory_bytes"] = used
    if hit_rate_pct is not None:
        samples["hit_rate_pct"] = hit_rate_pct
    samples["evicted_keys"] = float(info.get("evicted_keys", 0))
    samples["connected_clients"] = float(info.get("connected_clients", 0))
    samples["ops_per_sec"] = float(info.get("instantaneous_ops_per_sec", 0))
    return samples


def _summary(samples: dict[str, float], info: dict[str, Any], window: str) -> list[str]:
    parts = [f"PONG in {samples['latency_ms']:.0f} ms"]
    used = samples["used_memory_bytes"]
    if "used_memory_pct" in samples:
        parts.append(
            f"used_memory {_mib(used)} ({samples['used_memory_pct']:.0f}% of "
            f"{_mib(float(info['maxmemory']))} maxmemory, {info.get('maxmemory_policy', '?')})"
        )
    else:
        parts.append(f"used_memory {_mib(used)} (no maxmemory)")
    if "hit_rate_pct" in samples:
        parts.append(f"hit rate {samples['hit_rate_pct']:.1f}% {window}")
    else:
        parts.append(f"no key lookups {window}")
    if samples["evicted_keys"]:
        parts.append(f"{samples['evicted_keys']:.0f} keys evicted")
    parts.append(f"{samples['connected_clients']:.0f} clients")
    parts.append(f"{samples['ops_per_sec']:.0f} ops/s")
    return parts


async def _read_lists(
    client: Redis, names: list[tuple[str, str]]
) -> tuple[dict[str, float], list[str]]:
    samples: dict[str, float] = {}
    failures = []
    for key, name in names:
        try:
            samples[name] = float(await client.llen(key))
        except ResponseError as exc:  # WRONGTYPE: the key holds something else
            failures.append(f"LLEN {key} failed: {exc}")
    return samples, failures


async def probe(cfg: RedisCheck, ctx: ProbeContext) -> Observation:
    timeout = cfg.timeout.total_seconds()
    url = cfg.url.get_secret_value()
    client = Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),  # a probe reports what it sees; it does not retry
        single_connection_client=True,
        protocol=2,  # RESP2: works on every server version and managed service
        # A password in the URL wins over this one; the config allows only one of them.
        password=cfg.password.get_secret_value() if cfg.password is not None else None,
    )
    where = _describe(url_options(url))
    list_names = [(key, list_sample_name(key)) for key in cfg.lists]
    started = time.perf_counter()
    try:
        await client.ping()
        latency_ms = (time.perf_counter() - started) * 1000
        info: dict[str, Any] = await client.info()
        list_samples, failures = await _read_lists(client, list_names)
        # LLEN counts as a keyspace hit or miss: read the counters again after it so the
        # probe's own lookups never enter the next probe's hit rate.
        after = await client.info("stats") if cfg.lists else info
    except RedisError as exc:
        raise _failure(exc, where, timeout) from None
    finally:
        await client.aclose()

    run_id = str(info.get("run_id", ""))
    state_key = f"redis:keyspace:{where}"
    previous = KeyspaceCounters.from_state(ctx.state.load(state_key))
    rate, window = hit_rate(previous, KeyspaceCounters.from_info(run_id, info))
    ctx.state.save(state_key, KeyspaceCounters.from_info(run_id, after).to_state())
    samples = {"latency_ms": latency_ms, **_info_samples(info, rate), **list_samples}
    lengths = [f"{key} {samples[name]:.0f}" for key, name in list_names if name in samples]
    message = "; ".join([*failures, *_summary(samples, info, window), *lengths])
    return Observation(Status.CRITICAL if failures else Status.OK, message, samples)


def _samples(cfg: RedisCheck) -> frozenset[str]:
    return frozenset(BUILTIN_SAMPLES) | {list_sample_name(key) for key in cfg.lists}


KIND = CheckKind(
    name="redis",
    config_model=RedisCheck,
    probe=probe,
    summary="PING Redis; report memory use of maxmemory, hit rate, evictions, clients, "
    "ops/s and list lengths.",
    samples=_samples,
    default_thresholds={"used_memory_pct": {"warning": "> 80", "critical": "> 95"}},
)
