"""Notification channels: one module each, registered here by the key used in config.

A receiver names exactly one of these blocks (``webhook:``, ``email:``, ``apprise:``);
the receiver model is built from this dict, so a new channel is one module plus one line.
"""

from __future__ import annotations

from typing import Any

from opsbook.notify.channels import apprise, email, webhook
from opsbook.notify.channels.base import Channel, ChannelConfig

CHANNELS: dict[str, Channel[Any]] = {
    channel.name: channel for channel in (webhook.CHANNEL, email.CHANNEL, apprise.CHANNEL)
}

__all__ = ["CHANNELS", "Channel", "ChannelConfig"]
