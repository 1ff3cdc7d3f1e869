"""What every channel module provides: a config model and one async `send`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Generic, TypeVar

from pydantic import Field

from opsbook.config.base import Section
from opsbook.config.types import Duration
from opsbook.notify.model import Notification, Rendered


class ChannelConfig(Section):
    """Base of every channel block; `timeout` bounds one delivery attempt."""

    timeout: Duration = Field(
        default=timedelta(seconds=10),
        description="Give up on one delivery attempt after this long (it is retried).",
    )

    def secrets(self) -> Iterable[str]:
        """Secret values in this block (to be masked wherever text is shown)."""
        return ()


C = TypeVar("C", bound=ChannelConfig)
Send = Callable[[C, Notification, Rendered], Awaitable[None]]


@dataclass(frozen=True)
class Channel(Generic[C]):
    name: str
    config_model: type[C]
    send: Send[C]
    summary: str
