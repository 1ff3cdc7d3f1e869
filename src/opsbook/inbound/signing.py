"""Signed one-click links: "Acknowledge" in a page or a mail works without a login,
because the link itself proves opsbook sent it, to whom, for what, and until when.

A token is ``<payload>.<signature>``, both unpadded base64url: the payload is compact
JSON (purpose, subject, actor, expiry, nonce), the signature HMAC-SHA256 over a
version prefix and the payload text. Only the exact encoding opsbook produced is
accepted, so no two strings verify as the same token (base64 decoders otherwise ignore
trailing bits and stray characters). Single use is the store's job: it records the
nonce when the link is used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from opsbook.inbound.limits import InboundError

MIN_SECRET = 32
"""Bytes of signing key; HMAC-SHA256 gains nothing beyond its 64-byte block."""
MAX_TOKEN = 2048
_PREFIX = b"opsbook-link-v1."
_PURPOSE = re.compile(r"[a-z][a-z0-9_.:-]{0,63}")
_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_MAX_FIELD = 256


class LinkFailure(StrEnum):
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    WRONG_PURPOSE = "wrong_purpose"


_STATUS = {
    LinkFailure.MALFORMED: 400,
    LinkFailure.BAD_SIGNATURE: 403,
    LinkFailure.EXPIRED: 410,
    LinkFailure.WRONG_PURPOSE: 400,
}


class LinkError(InboundError):
    """A link that cannot be honoured; `reason` says which check failed, `status` is
    the HTTP answer (400 malformed or wrong purpose, 403 tampered, 410 expired)."""

    def __init__(self, reason: LinkFailure, message: str) -> None:
        super().__init__(_STATUS[reason], message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class LinkClaims:
    purpose: str
    subject: str
    actor: str
    expires_at: datetime
    nonce: str


def sign(
    secret: bytes,
    purpose: str,
    subject: str,
    expires_at: datetime,
    nonce: str,
    *,
    actor: str,
) -> str:
    """A token for `purpose` (e.g. "ack") on `subject` (e.g. "incident:12") sent to
    `actor`, valid until `expires_at` (whole seconds). `nonce` must be unique per link."""
    _check_secret(secret)
    if not _PURPOSE.fullmatch(purpose):
        raise ValueError(f"purpose must match {_PURPOSE.pattern}, got {purpose!r}")
    for label, value in (("subject", subject), ("actor", actor), ("nonce", nonce)):
        if not value or len(value) > _MAX_FIELD:
            raise ValueError(f"{label} must be 1 to {_MAX_FIELD} characters")
    if len(nonce) < 8:
        raise ValueError("nonce must be at least 8 characters (use secrets.token_urlsafe())")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    claims = {
        "p": purpose,
        "s": subject,
        "a": actor,
        "e": int(expires_at.timestamp()),
        "n": nonce,
    }
    payload = _encode(json.dumps(claims, separators=(",", ":"), ensure_ascii=True).encode())
    return f"{payload}.{_encode(_mac(secret, payload))}"


def verify(secret: bytes, token: str, purpose: str, now: datetime) -> LinkClaims:
    """The claims of a genuine, unexpired token for `purpose`; otherwise `LinkError`.

    The signature is checked before the payload is even decoded: nothing an attacker
    wrote is parsed. Then purpose, then expiry.
    """
    _check_secret(secret)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(token, str) or len(token) > MAX_TOKEN:
        raise LinkError(LinkFailure.MALFORMED, "malformed link token")
    payload, dot, signature = token.partition(".")
    if not dot or not _B64URL.fullmatch(payload) or not _B64URL.fullmatch(signature):
        raise LinkError(LinkFailure.MALFORMED, "malformed link token")
    given = _decode(signature)
    if given is None or len(given) != hashlib.sha256().digest_size:
        raise LinkError(LinkFailure.MALFORMED, "malformed link token")
    if not hmac.compare_digest(given, _mac(secret, payload)):
        raise LinkError(LinkFailure.BAD_SIGNATURE, "link signature does not match")
    claims = _claims(payload)
    if claims.purpose != purpose:
        raise LinkError(
            LinkFailure.WRONG_PURPOSE, f"link is for {claims.purpose!r}, not {purpose!r}"
        )
    if now >= claims.expires_at:
        raise LinkError(LinkFailure.EXPIRED, f"link expired at {claims.expires_at.isoformat()}")
    return claims


def _claims(payload: str) -> LinkClaims:
    raw = _decode(payload)
    try:
        data: Any = json.loads(raw) if raw is not None else None
        fields = (data["p"], data["s"], data["a"], data["n"])
        expiry = data["e"]
        if not all(isinstance(f, str) for f in fields) or type(expiry) is not int:
            raise TypeError("claim of the wrong type")
        expires_at = datetime.fromtimestamp(expiry, UTC)
    except (ValueError, TypeError, KeyError, OverflowError, OSError):
        # Reachable only with a key that signed something else: still just "malformed".
        raise LinkError(LinkFailure.MALFORMED, "malformed link payload") from None
    return LinkClaims(fields[0], fields[1], fields[2], expires_at, fields[3])


def _mac(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, _PREFIX + payload.encode("ascii"), hashlib.sha256).digest()


def _encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url, or None for any other spelling."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _encode(data) == text else None


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET:
        raise ValueError(f"the signing secret must be at least {MIN_SECRET} bytes")
