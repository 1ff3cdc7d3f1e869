"""The `receivers:` entries of opsbook.yaml: a name, exactly one channel block, optional
template overrides, and how failed deliveries are retried.

Built from the channel registry like checks are from the kind registry, so the JSON
Schema lists every channel and a typo in a channel key gets a "did you mean".
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from pydantic import Field, create_model, model_validator

from opsbook.config.base import Name, Section
from opsbook.config.types import Duration, format_duration
from opsbook.notify.channels import CHANNELS, Channel, ChannelConfig
from opsbook.notify.templates import Templates


class RetryPolicy(Section):
    """Exponential backoff with jitter between attempts of one notification."""

    max_attempts: int = Field(
        default=8, ge=1, le=1000, description="Give up (status failed) after this many."
    )
    backoff: Duration = Field(
        default=timedelta(seconds=5), description="Wait before the 2nd attempt; doubles after."
    )
    max_backoff: Duration = Field(
        default=timedelta(minutes=10), description="The longest wait between two attempts."
    )

    @model_validator(mode="after")
    def _ordered(self) -> RetryPolicy:
        if self.backoff <= timedelta(0):
            raise ValueError("backoff must be longer than 0s")
        if self.max_backoff < self.backoff:
            raise ValueError(
                f"max_backoff ({format_duration(self.max_backoff)}) is shorter than backoff "
                f"({format_duration(self.backoff)})"
            )
        return self

    def base_delay(self, failures: int) -> timedelta:
        """The wait after the `failures`-th failed attempt, before jitter."""
        delay = self.backoff
        for _ in range(failures - 1):  # stops doubling at the cap: no overflow, few steps
            if delay >= self.max_backoff:
                break
            delay *= 2
        return min(delay, self.max_backoff)

    def delay(self, failures: int, rng: random.Random | None = None) -> timedelta:
        """The base delay with "equal jitter": uniformly between half of it and all of it,
        so workers retrying the same receiver spread out instead of stampeding."""
        base = self.base_delay(failures)
        fraction = rng.random() if rng is not None else random.random()  # noqa: S311
        return base / 2 + base / 2 * fraction


class ReceiverBase(Section):
    name: Name = Field(description="Referenced by routes; unique.")
    templates: Templates = Field(
        default_factory=Templates, description="Jinja2 overrides of the default title/body."
    )
    send_resolved: bool = Field(
        default=True, description="Also notify when alerts resolve (Alertmanager's default)."
    )
    retry: RetryPolicy = Field(default_factory=RetryPolicy)
    concurrency: int = Field(
        default=4, ge=1, le=100, description="At most this many deliveries in flight at once."
    )

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_channel(cls, data: Any) -> Any:
        if isinstance(data, dict):
            present = [k for k in CHANNELS if data.get(k) is not None]
            if len(present) > 1:
                raise ValueError(
                    f"a receiver has exactly one channel, found {', '.join(present)}; "
                    "define one receiver per channel"
                )
            unknown = [k for k in data if k not in cls.model_fields]
            if not present and not unknown:  # unknown keys get their own, better message
                raise ValueError(f"a receiver needs one channel block: {', '.join(CHANNELS)}")
        return data

    @cached_property
    def channel_name(self) -> str:
        for name in CHANNELS:
            if getattr(self, name, None) is not None:
                return name
        raise AssertionError("validated receivers always have a channel")

    @property
    def channel(self) -> Channel[Any]:
        return CHANNELS[self.channel_name]

    @property
    def config(self) -> ChannelConfig:
        return cast(ChannelConfig, getattr(self, self.channel_name))

    @property
    def timeout(self) -> timedelta:
        return self.config.timeout

    def secrets(self) -> Iterable[str]:
        return self.config.secrets()


def _build_receiver_model() -> type[ReceiverBase]:
    fields: dict[str, Any] = {
        name: (channel.config_model | None, Field(default=None, description=channel.summary))
        for name, channel in CHANNELS.items()
    }
    return create_model("Receiver", __base__=ReceiverBase, **fields)


if TYPE_CHECKING:
    Receiver = ReceiverBase
else:
    Receiver = _build_receiver_model()


def receiver_secrets(receivers: Sequence[ReceiverBase]) -> list[str]:
    """Every secret in the receivers' channel blocks (passwords, tokens, Apprise URLs)."""
    return [secret for receiver in receivers for secret in receiver.secrets() if secret]
