"""`email`: send the notification as a mail through an SMTP smarthost.

The runbooks' most common channel ("Notification: Email" for SSL expiry, low disk,
failed backups). SMTP goes through aiosmtplib: a native asyncio client, so a hanging
mail server is cancelled by the delivery deadline like any other channel instead of
holding a worker thread. The ``Message-ID`` is derived from the idempotency key, so a
mail system that deduplicates by Message-ID drops the repeats of a retried delivery.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import ssl
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Annotated, Literal

import aiosmtplib
from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from opsbook.config.types import format_duration
from opsbook.errors import DeliveryError
from opsbook.notify.channels.base import Channel, ChannelConfig
from opsbook.notify.model import Notification, Rendered

_HOST_PORT = re.compile(
    r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9_.-]+)):(?P<port>\d+)$"
)
IDEMPOTENCY_HEADER = "X-Opsbook-Idempotency-Key"


def _address(value: str) -> str:
    _, address = parseaddr(value)
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise ValueError(f"expected a mail address like oncall@example.com, got {value!r}")
    if "\r" in value or "\n" in value:
        raise ValueError("a mail address cannot contain a line break")
    return value


Address = Annotated[str, AfterValidator(_address)]


class EmailConfig(ChannelConfig):
    to: list[Address] = Field(min_length=1, description="Recipient addresses.")
    from_: Address = Field(alias="from", description="Sender address (the From header).")
    smarthost: str = Field(description="SMTP server as host:port, e.g. smtp.example.com:587.")
    username: str | None = Field(default=None, description="SMTP AUTH user name.")
    password: SecretStr | None = Field(
        default=None, description="SMTP AUTH password; use ${ENV:SMTP_PASSWORD}."
    )
    starttls: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="auto: upgrade when the server offers STARTTLS; always: refuse to send "
        "without it; never: plain SMTP.",
    )
    tls: bool = Field(
        default=False, description="Implicit TLS from the first byte (SMTPS, usually port 465)."
    )
    verify_tls: bool = Field(default=True, description="Verify the server's certificate.")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("smarthost")
    @classmethod
    def _host_port(cls, value: str) -> str:
        match = _HOST_PORT.match(value.strip())
        if not match or not 0 < int(match.group("port")) < 65536:
            raise ValueError(
                f"expected host:port like smtp.example.com:587 or 127.0.0.1:25, got {value!r}"
            )
        return value.strip()

    @model_validator(mode="after")
    def _consistent(self) -> EmailConfig:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: set both or neither")
        if self.tls and self.starttls == "always":
            raise ValueError(
                "tls: true already encrypts from the first byte; STARTTLS cannot be used on "
                "top of it (set starttls: auto or never)"
            )
        return self

    @property
    def host(self) -> str:
        match = _HOST_PORT.match(self.smarthost)
        assert match is not None
        return match.group("ipv6") or match.group("host")

    @property
    def port(self) -> int:
        return int(self.smarthost.rsplit(":", 1)[1])

    def secrets(self) -> Iterable[str]:
        if self.password is not None:
            yield self.password.get_secret_value()


def message_id(idempotency_key: str, sender: str) -> str:
    """A Message-ID that is the same for every attempt of one notification."""
    domain = parseaddr(sender)[1].rpartition("@")[2].strip() or "opsbook.invalid"
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<opsbook.{digest}@{domain}>"


def _html(rendered: Rendered) -> str:
    return (
        "<!DOCTYPE html>\n<html><body>\n"
        f'<h2 style="font-family:sans-serif">{html.escape(rendered.title)}</h2>\n'
        '<pre style="font-family:monospace;white-space:pre-wrap">'
        f"{html.escape(rendered.body)}</pre>\n"
        "</body></html>\n"
    )


def build_message(
    config: EmailConfig, notification: Notification, rendered: Rendered
) -> EmailMessage:
    """The mail for a notification: text body plus a simple HTML alternative. Pure."""
    message = EmailMessage()
    message["Subject"] = " ".join(rendered.title.split())
    message["From"] = config.from_
    message["To"] = ", ".join(config.to)
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = message_id(notification.idempotency_key, config.from_)
    message[IDEMPOTENCY_HEADER] = notification.idempotency_key
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    body = rendered.body if rendered.body.endswith("\n") else rendered.body + "\n"
    message.set_content(body)
    message.add_alternative(_html(rendered), subtype="html")
    return message


def _response_error(what: str, code: int, text: str) -> DeliveryError:
    detail = " ".join(text.split())
    return DeliveryError(f"{what}: {code} {detail}".rstrip(), retryable=400 <= code < 500)


async def send(config: EmailConfig, notification: Notification, rendered: Rendered) -> None:
    message = build_message(config, notification, rendered)
    where = config.smarthost
    password = config.password.get_secret_value() if config.password is not None else None
    start_tls = {"auto": None, "always": True, "never": False}[config.starttls]
    try:
        refused, _ = await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=password,
            use_tls=config.tls,
            start_tls=start_tls,
            validate_certs=config.verify_tls,
            timeout=config.timeout.total_seconds(),
        )
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise _response_error(f"{where} refused the login", exc.code, exc.message) from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.recipient}: {r.code} {r.message}" for r in exc.recipients)
        retry = any(400 <= c < 500 for c in codes)
        raise DeliveryError(f"{where} refused every recipient ({detail})", retry) from None
    except aiosmtplib.SMTPSenderRefused as exc:
        raise _response_error(
            f"{where} refused sender {exc.sender}", exc.code, exc.message
        ) from None
    except aiosmtplib.SMTPResponseException as exc:
        raise _response_error(f"{where} answered", exc.code, exc.message) from None
    except aiosmtplib.SMTPNotSupported as exc:
        raise DeliveryError(f"{where}: {exc}", retryable=False) from None
    except TimeoutError:
        raise DeliveryError(
            f"{where} did not answer within {format_duration(config.timeout)}", True
        ) from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"TLS with {where} failed: {exc.reason or exc}", True) from None
    except aiosmtplib.SMTPConnectError as exc:
        cause = exc.__cause__
        if isinstance(cause, OSError) and cause.errno:
            reason = os.strerror(cause.errno)  # "Connection refused", not asyncio's wording
        else:
            reason = str(cause or exc) or type(exc).__name__
        raise DeliveryError(f"cannot connect to {where}: {reason}", True) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        # "STARTTLS / AUTH extension not supported": the server lacks what the config
        # demands; waiting will not add it.
        lacking = isinstance(exc, aiosmtplib.SMTPException) and "not supported" in reason
        raise DeliveryError(f"cannot send through {where}: {reason}", not lacking) from None
    if refused:
        detail = "; ".join(f"{rcpt}: {r.code} {r.message}" for rcpt, r in refused.items())
        # Some recipients have the mail: a retry would send it to them again.
        raise DeliveryError(f"{where} refused some recipients ({detail})", retryable=False)


CHANNEL = Channel(
    name="email",
    config_model=EmailConfig,
    send=send,
    summary="Send a mail (text and HTML) through an SMTP smarthost.",
)
