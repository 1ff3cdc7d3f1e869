"""Pure parts of the tls check: config, the verdict on a certificate, the message."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID
from hypothesis import given
from hypothesis import strategies as st

from opsbook.checks.certs import CertificateInfo, parse_certificate
from opsbook.checks.tls import (
    KIND,
    TlsCheck,
    certificate_problems,
    describe_certificate,
    judge,
)
from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError
from opsbook.status import Status

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
HEAD = "project:\n  name: shop\nchecks:\n  - name: api-cert\n"


def check(**fields: object) -> TlsCheck:
    return TlsCheck.model_validate({"host": "api.example.com", **fields})


def cert(
    days: float,
    names: tuple[str, ...] = ("api.example.com",),
    issuer_dn: str = "CN=R11,O=Let's Encrypt,C=US",
) -> CertificateInfo:
    return CertificateInfo(
        subject=names[0] if names else "",
        issuer="R11",
        not_after=NOW + timedelta(days=days),
        names=names,
        issuer_dn=issuer_dn,
    )


def issues(yaml_tail: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(HEAD + yaml_tail)
    return [f"{issue.path}: {issue.message}" for issue in caught.value.issues]


def test_defaults_follow_openssl_s_client() -> None:
    # `openssl s_client -servername api.guesslyfe.com -connect api.guesslyfe.com:443`
    config = load_config_text(HEAD + "    tls:\n      host: api.guesslyfe.com\n")
    spec = config.checks[0].spec
    assert isinstance(spec, TlsCheck)
    assert (spec.port, spec.verify, spec.sni) == (443, True, "api.guesslyfe.com")
    assert spec.names_to_cover == ("api.guesslyfe.com",)
    assert check(host="10.0.0.5", server_name="api.example.com").sni == "api.example.com"
    assert check(expected_names=[]).names_to_cover == ()


def test_samples_and_runbook_thresholds() -> None:
    assert KIND.samples(check()) == frozenset({"cert_days_left", "latency_ms", "handshake_ms"})
    # practice-app: "< 7 days until expiry"; api-backend: "SSL Certificate Expiring (14 days)"
    assert KIND.default_thresholds == {"cert_days_left": {"warning": "< 14", "critical": "< 7"}}


@pytest.mark.parametrize(
    "yaml_tail,expected",
    [
        ("    tls: {}\n", "checks[0].tls.host: missing required key 'host'"),
        (
            "    tls: {host: 'https://api.example.com'}\n",
            "checks[0].tls.host: expected a host name, not a URL: 'https://api.example.com'",
        ),
        (
            "    tls: {host: api.example.com, port: 99999}\n",
            "checks[0].tls.port: expected a port number from 1 to 65535, got 99999",
        ),
        (
            "    tls: {host: api.example.com, verify_tls: false}\n",
            "checks[0].tls.verify_tls: unknown key 'verify_tls'; did you mean 'verify'?",
        ),
        (
            "    tls: {host: api.example.com, verify: maybe}\n",
            "checks[0].tls.verify: expected true or false, got a string 'maybe'",
        ),
        (
            "    tls: {host: api.example.com, expected_names: api.example.com}\n",
            "checks[0].tls.expected_names: expected a list, got a string 'api.example.com'",
        ),
        (
            "    tls: {host: api.example.com, expected_names: ['api example']}\n",
            "checks[0].tls.expected_names: expected host names like 'api.example.com', "
            "got 'api example'",
        ),
        (
            "    tls: {host: api.example.com, verify: false, ca_file: ca.pem}\n",
            "checks[0].tls: ca_file has no effect with `verify: false`",
        ),
        (
            "    tls: {host: api.example.com, issuer_contains: ''}\n",
            "checks[0].tls.issuer_contains: must not be empty; leave the key out instead",
        ),
        (
            "    tls: {host: api.example.com}\n    thresholds: {days_left: {critical: '< 7'}}\n",
            "checks[0].thresholds.days_left: unknown sample of a tls check 'days_left'; "
            "did you mean 'cert_days_left'?",
        ),
    ],
)
def test_config_errors_are_clear(yaml_tail: str, expected: str) -> None:
    assert issues(yaml_tail) == [expected]


def test_message_shows_expiry_days_and_issuer() -> None:
    assert (
        describe_certificate(cert(7.9), "api.example.com", NOW)
        == "certificate for api.example.com expires 2026-12-01 (7.9 days), issuer R11"
    )
    assert (
        describe_certificate(cert(-2.5), "api.example.com", NOW)
        == "certificate for api.example.com expired 2026-11-21 (2.5 days ago), issuer R11"
    )


def test_expired_is_critical_whatever_the_thresholds() -> None:
    observation = judge(check(), cert(-0.01), NOW)
    assert observation.status is Status.CRITICAL
    assert observation.samples["cert_days_left"] == pytest.approx(-0.01)
    healthy = judge(check(), cert(60), NOW)
    assert healthy.status is Status.OK
    assert healthy.message.startswith("certificate for api.example.com expires 2027-01-22")


def test_names_are_checked_with_wildcard_rules() -> None:
    wildcard = cert(60, names=("*.example.com",))
    assert certificate_problems(check(), wildcard) == []
    assert certificate_problems(check(expected_names=["www.example.com"]), wildcard) == []
    assert certificate_problems(
        check(expected_names=["a.b.example.com", "example.com"]), wildcard
    ) == ["certificate does not cover a.b.example.com, example.com (it names *.example.com)"]
    assert certificate_problems(check(expected_names=[]), cert(60, names=())) == []
    missing = judge(check(), cert(60, names=()), NOW)
    assert missing.status is Status.CRITICAL
    assert missing.message.startswith(
        "certificate does not cover api.example.com (it names nothing)"
    )


def test_issuer_contains_matches_the_whole_name_case_insensitively() -> None:
    assert certificate_problems(check(issuer_contains="let's encrypt"), cert(60)) == []
    assert certificate_problems(check(issuer_contains="DigiCert"), cert(60)) == [
        "issuer \"CN=R11,O=Let's Encrypt,C=US\" does not contain 'DigiCert'"
    ]


@given(st.floats(min_value=-3650, max_value=3650, allow_nan=False))
def test_days_left_sample_matches_not_after(days: float) -> None:
    observation = judge(check(expected_names=[]), cert(days), NOW)
    days_left = observation.samples["cert_days_left"]
    assert days_left == pytest.approx(days, abs=1e-6)
    # valid through notAfter itself (RFC 5280), expired the moment after
    assert (observation.status is Status.CRITICAL) == (days_left < 0)


def test_parse_certificate_keeps_issuer_dn(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Let's Encrypt"),
            x509.NameAttribute(NameOID.COMMON_NAME, "R11"),
        ]
    )
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "api.example.com")])
    der = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("api.example.com")]), critical=False
        )
        .sign(key, hashes.SHA256())
        .public_bytes(Encoding.DER)
    )
    info = parse_certificate(der)
    assert info.issuer == "R11"
    assert info.issuer_dn == "CN=R11,O=Let's Encrypt,C=US"
    assert info.names == ("api.example.com",)
    assert info.days_left(NOW) == pytest.approx(30)


def test_documented_example_validates() -> None:
    doc = Path(__file__).parents[3] / "docs" / "checks" / "tls.md"
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.DOTALL)
    assert len(blocks) == 1
    config = load_config_text(blocks[0])
    assert [c.kind for c in config.checks] == ["tls"] * 4
