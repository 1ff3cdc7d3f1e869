"""`apprise`: send title and body to any service Apprise knows (Slack, Telegram, SMS
gateways, PagerDuty, Teams, ntfy, Discord, ...) by URL.

The runbooks name PagerDuty, SMS, Slack and Discord next to email; one Apprise URL per
service covers them without a module per vendor. The URLs carry tokens, so they are
secrets: they never appear in messages (Apprise's privacy form is shown instead).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import AfterValidator, Field, SecretStr

from opsbook.errors import DeliveryError
from opsbook.notify.channels.base import Channel, ChannelConfig
from opsbook.notify.model import Notification, Rendered

if TYPE_CHECKING:
    import apprise

MIN_SECRET_PART = 8  # shorter URL parts (ports, "hooks", channel names) stay readable


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def _known_schemes() -> list[str]:
    try:
        from apprise.manager_plugins import NotificationManager

        manager = NotificationManager()  # type: ignore[no-untyped-call]
        return sorted(str(s) for s in manager.schemas())  # type: ignore[no-untyped-call]
    except Exception:  # only used for a hint; older Apprise versions lack the manager
        return []


def _check_url(value: SecretStr) -> SecretStr:
    url = value.get_secret_value().strip()
    scheme = _scheme(url)
    if not scheme:
        raise ValueError("expected an Apprise URL like slack://... or mailto://...")
    import apprise  # imported when needed: it is heavy and most configs never use it

    if apprise.Apprise.instantiate(url) is None:
        hint = difflib.get_close_matches(scheme, _known_schemes(), n=1, cutoff=0.6)
        more = f"; did you mean {hint[0]!r}?" if hint and hint[0] != scheme else ""
        raise ValueError(
            f"Apprise cannot use this {scheme}:// URL (unknown service or malformed URL; "
            f"see the Apprise wiki for its form){more}"
        )
    return SecretStr(url)


AppriseUrl = Annotated[SecretStr, AfterValidator(_check_url)]


class AppriseConfig(ChannelConfig):
    urls: list[AppriseUrl] = Field(
        min_length=1,
        description="Apprise URLs (slack://..., tgram://..., pagerduty://..., json://...). "
        "Secret: never shown in messages.",
    )

    def secrets(self) -> Iterable[str]:
        for item in self.urls:
            yield from url_secrets(item.get_secret_value())


def url_secrets(url: str) -> Iterable[str]:
    """The parts of an Apprise URL that may be tokens (everything but DNS names, IPs and
    short words), and the whole URL when it has any."""
    parts = urlsplit(url)
    candidates = [parts.username or "", parts.password or ""]
    host = parts.hostname or ""
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host):  # tokens, not host names
        candidates.append(host)
        candidates.append(parts.netloc.rpartition("@")[2])
    candidates += parts.path.split("/")
    candidates += [value for _, value in parse_qsl(parts.query)]
    candidates.append(parts.fragment)
    found = [c for c in candidates if len(c) >= MIN_SECRET_PART]
    if found or parts.password:
        yield url
    yield from found


def _notify_type(notification: Notification) -> apprise.NotifyType:
    """Sets the colour/icon services show: info for tests, red firing, green resolved."""
    import apprise

    if notification.kind == "test":
        return apprise.NotifyType.INFO
    if notification.status == "resolved":
        return apprise.NotifyType.SUCCESS
    return apprise.NotifyType.FAILURE


def _failure_detail(result: Any, count: int) -> str:
    """Which services failed and why, from Apprise ≥ 2 results; a count otherwise."""
    details = []
    for service in getattr(result, "results", ()) or ():
        if service:
            continue
        reasons = [
            entry.message
            for entry in service.logs()
            if str(entry.level).upper() in ("WARNING", "ERROR", "CRITICAL")
        ]
        reason = f": {reasons[-1]}" if reasons else ""
        where = str(service.url).split("?", 1)[0]  # privacy form; options are noise
        details.append(f"{service.name} ({where}){reason}")
    if details:
        return "Apprise could not notify " + "; ".join(details)
    return f"Apprise reported a failure notifying {count} URL{'s' if count != 1 else ''}"


async def send(config: AppriseConfig, notification: Notification, rendered: Rendered) -> None:
    import apprise

    client = apprise.Apprise()
    for index, item in enumerate(config.urls):
        if not client.add(item.get_secret_value()):
            scheme = _scheme(item.get_secret_value())
            raise DeliveryError(f"urls[{index}] ({scheme}://...) cannot be loaded", False)
    result = await client.async_notify(
        body=rendered.body,
        title=rendered.title,
        notify_type=_notify_type(notification),
        body_format=apprise.NotifyFormat.TEXT,
    )
    if not result:
        # Apprise does not say whether a failure is lasting; trying again is the safe bet.
        raise DeliveryError(_failure_detail(result, len(config.urls)), retryable=True)


CHANNEL = Channel(
    name="apprise",
    config_model=AppriseConfig,
    send=send,
    summary="Send title and body to Slack, Telegram, PagerDuty, SMS gateways and 100+ "
    "other services by Apprise URL.",
)
