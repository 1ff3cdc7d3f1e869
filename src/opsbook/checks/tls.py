"""`tls`: how long a server's certificate has left, and whether it is the right one.

The runbooks alert on "SSL Certificate Expiring: < 7 days" (practice-app) and "SSL
Certificate Expiring (14 days)" (api-backend), and look by hand with
``openssl s_client -servername X -connect X:443 | openssl x509 -noout -dates``. This kind
does that handshake, reports the days left as ``cert_days_left`` (warning < 14, critical
< 7 by default) and fails outright on an expired, untrusted or wrong-name certificate.
"""

from __future__ import annotations

import ssl
from datetime import datetime

from pydantic import Field, field_validator, model_validator

from opsbook.checks.base import CheckKind, Observation, ProbeConfig, ProbeFailure
from opsbook.checks.certs import CertificateInfo, parse_certificate
from opsbook.checks.context import ProbeContext
from opsbook.checks.tcp import (
    CertificateRejected,
    Host,
    Port,
    client_context,
    close,
    connect,
    endpoint,
    peer_certificate,
    phase_deadline,
    start_tls,
)
from opsbook.status import Status


class TlsCheck(ProbeConfig):
    host: Host = Field(description="Host name or IP address to connect to.")
    port: Port = Field(default=443, description="TCP port of the TLS service.")
    server_name: Host | None = Field(
        default=None, description="Name sent as SNI and verified; defaults to host."
    )
    verify: bool = Field(
        default=True,
        description="Verify the chain (system CAs or ca_file) and that it is valid for "
        "server_name; a failure is CRITICAL.",
    )
    ca_file: str | None = Field(
        default=None, description="PEM file of CA certificates to trust instead of the system's."
    )
    expected_names: list[str] | None = Field(
        default=None,
        description="Names the certificate must cover (wildcards honoured); defaults to "
        "[server_name]; an empty list checks no names.",
    )
    issuer_contains: str | None = Field(
        default=None,
        description="Text the issuer's distinguished name must contain (case-insensitive), "
        'e.g. "Let\'s Encrypt".',
    )

    @field_validator("expected_names")
    @classmethod
    def _plain_names(cls, value: list[str] | None) -> list[str] | None:
        for name in value or []:
            if not name.strip() or any(c.isspace() for c in name) or "/" in name:
                raise ValueError(f"expected host names like 'api.example.com', got {name!r}")
        return value

    @field_validator("issuer_contains", "ca_file")
    @classmethod
    def _not_empty(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty; leave the key out instead")
        return value

    @model_validator(mode="after")
    def _ca_file_needs_verify(self) -> TlsCheck:
        if self.ca_file is not None and not self.verify:
            raise ValueError("ca_file has no effect with `verify: false`")
        return self

    @property
    def sni(self) -> str:
        return self.server_name or self.host

    @property
    def names_to_cover(self) -> tuple[str, ...]:
        return (self.sni,) if self.expected_names is None else tuple(self.expected_names)


def describe_certificate(info: CertificateInfo, server_name: str, now: datetime) -> str:
    """'certificate for api.example.com expires 2026-12-01 (7.9 days), issuer R11'."""
    days = info.days_left(now)
    date = info.not_after.strftime("%Y-%m-%d")
    if days < 0:
        when = f"expired {date} ({-days:.1f} days ago)"
    else:
        when = f"expires {date} ({days:.1f} days)"
    return f"certificate for {server_name} {when}, issuer {info.issuer}"


def certificate_problems(cfg: TlsCheck, info: CertificateInfo) -> list[str]:
    """What is wrong with the certificate besides its dates: names and issuer."""
    problems = []
    missing = [name for name in cfg.names_to_cover if not info.matches(name)]
    if missing:
        names = ", ".join(info.names) or "nothing"
        problems.append(f"certificate does not cover {', '.join(missing)} (it names {names})")
    wanted = cfg.issuer_contains
    if wanted is not None and wanted.casefold() not in info.issuer_dn.casefold():
        problems.append(f"issuer {info.issuer_dn!r} does not contain {wanted!r}")
    return problems


def judge(cfg: TlsCheck, info: CertificateInfo, now: datetime) -> Observation:
    """The kind's own verdict on a certificate it could read (thresholds come after)."""
    days = info.days_left(now)
    summary = describe_certificate(info, cfg.sni, now)
    problems = certificate_problems(cfg, info)
    status = Status.CRITICAL if problems or days < 0 else Status.OK
    return Observation(status, "; ".join([*problems, summary]), {"cert_days_left": days})


async def _fetch_certificate(
    cfg: TlsCheck, context: ssl.SSLContext, deadline: float
) -> tuple[bytes, dict[str, float]]:
    """Handshake and return the server certificate (DER) with connect/handshake times."""
    where = endpoint(cfg.host, cfg.port)
    _reader, writer, connect_ms = await connect(cfg.host, cfg.port, deadline)
    samples = {"latency_ms": connect_ms}
    try:
        samples["handshake_ms"] = await start_tls(writer, context, cfg.sni, where, deadline)
        der = peer_certificate(writer)
    except ProbeFailure as failure:
        failure.samples = {**samples, **failure.samples}
        raise
    finally:
        await close(writer, deadline)
    if not der:
        raise ProbeFailure(Status.CRITICAL, f"{where} sent no certificate", samples)
    return der, samples


def _parse(der: bytes, where: str, samples: dict[str, float]) -> CertificateInfo:
    try:
        return parse_certificate(der)
    except ValueError as exc:
        message = f"cannot read the certificate of {where}: {exc}"
        raise ProbeFailure(Status.CRITICAL, message, samples) from None


async def _explain_rejection(
    cfg: TlsCheck, rejected: CertificateRejected, deadline: float, ctx: ProbeContext
) -> ProbeFailure:
    """A CRITICAL result for a failed verification, with the certificate's details.

    Verification stops the handshake before the certificate can be read, so a second,
    unverified handshake fetches it: an operator wants "expired 3 days ago, issuer X",
    not only "certificate verify failed".
    """
    message = f"certificate verification failed: {rejected.reason}"
    try:
        der, _ = await _fetch_certificate(cfg, client_context(verify=False), deadline)
        info = parse_certificate(der)
    except (ProbeFailure, ValueError):
        return ProbeFailure(Status.CRITICAL, message, rejected.samples)
    now = ctx.now()
    samples = {**rejected.samples, "cert_days_left": info.days_left(now)}
    details = describe_certificate(info, cfg.sni, now)
    return ProbeFailure(Status.CRITICAL, f"{message}; {details}", samples)


async def probe(cfg: TlsCheck, ctx: ProbeContext) -> Observation:
    deadline = phase_deadline(cfg.timeout)
    ca_file = ctx.resolve_path(cfg.ca_file) if cfg.ca_file is not None else None
    context = client_context(cfg.verify, ca_file)
    try:
        der, samples = await _fetch_certificate(cfg, context, deadline)
    except CertificateRejected as rejected:
        raise await _explain_rejection(cfg, rejected, deadline, ctx) from None
    info = _parse(der, endpoint(cfg.host, cfg.port), samples)
    observation = judge(cfg, info, ctx.now())
    observation.samples.update(samples)
    return observation


KIND = CheckKind(
    name="tls",
    config_model=TlsCheck,
    probe=probe,
    summary="Handshake with a TLS server; report certificate days left, names and issuer.",
    samples=lambda _cfg: frozenset({"cert_days_left", "latency_ms", "handshake_ms"}),
    default_thresholds={"cert_days_left": {"warning": "< 14", "critical": "< 7"}},
)
