"""Read what matters from an X.509 certificate (expiry, issuer, names) for probes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    subject: str
    issuer: str  # common name, for messages ("R11", "opsbook test")
    not_after: datetime
    names: tuple[str, ...]
    issuer_dn: str  # the whole RFC 4514 name, for matching ("CN=R11,O=Let's Encrypt,C=US")

    def days_left(self, now: datetime) -> float:
        return (self.not_after - now).total_seconds() / 86400

    def matches(self, hostname: str) -> bool:
        """RFC 6125 style: exact match, or one left-most wildcard label."""
        host = hostname.lower().rstrip(".")
        for name in self.names:
            name = name.lower().rstrip(".")
            if name == host:
                return True
            wildcard = name.startswith("*.") and "." in host
            if wildcard and host.split(".", 1)[1] == name[2:]:
                return True
        return False


def _common_name(name: x509.Name) -> str:
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if attrs:
        value = attrs[0].value
        return value if isinstance(value, str) else value.decode(errors="replace")
    return name.rfc4514_string()


def parse_certificate(der: bytes) -> CertificateInfo:
    cert = x509.load_der_x509_certificate(der)
    names: list[str] = []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names.extend(san.value.get_values_for_type(x509.DNSName))
        names.extend(str(ip) for ip in san.value.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        names.append(_common_name(cert.subject))
    return CertificateInfo(
        subject=_common_name(cert.subject),
        issuer=_common_name(cert.issuer),
        not_after=cert.not_valid_after_utc,
        names=tuple(names),
        issuer_dn=cert.issuer.rfc4514_string(),
    )
