"""Signed one-click links: what verifies, what does not, and that verification can only
ever fail with a `LinkError` naming the reason."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from opsbook.inbound import InboundError, LinkClaims, LinkError, LinkFailure, sign, verify

SECRET = b"k" * 32
OTHER = b"o" * 32
T0 = datetime(2026, 11, 23, 3, 12, tzinfo=UTC)
EXPIRES = T0 + timedelta(hours=24)
NONCE = "q7Hn2LrT5vXc"
TOKEN = sign(SECRET, "ack", "incident:12", EXPIRES, NONCE, actor="alice@example.com")


def failure(
    token: str, purpose: str = "ack", now: datetime = T0, secret: bytes = SECRET
) -> LinkFailure:
    with pytest.raises(LinkError) as caught:
        verify(secret, token, purpose, now)
    return caught.value.reason


def test_a_genuine_link_verifies() -> None:
    assert verify(SECRET, TOKEN, "ack", T0) == LinkClaims(
        purpose="ack",
        subject="incident:12",
        actor="alice@example.com",
        expires_at=EXPIRES,
        nonce=NONCE,
    )


def test_tokens_are_url_safe() -> None:
    assert set(TOKEN) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_expired_at_the_second_of_expiry() -> None:
    assert verify(SECRET, TOKEN, "ack", EXPIRES - timedelta(seconds=1)).nonce == NONCE
    assert failure(TOKEN, now=EXPIRES) is LinkFailure.EXPIRED


def test_wrong_purpose() -> None:
    assert failure(TOKEN, purpose="resolve") is LinkFailure.WRONG_PURPOSE


def test_another_secret_is_a_bad_signature() -> None:
    assert failure(TOKEN, secret=OTHER) is LinkFailure.BAD_SIGNATURE


def test_a_rewritten_payload_is_a_bad_signature() -> None:
    payload, signature = TOKEN.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["s"] = "incident:13"
    forged = (
        base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
        .rstrip(b"=")
        .decode()
    )
    assert failure(f"{forged}.{signature}") is LinkFailure.BAD_SIGNATURE


def test_signatures_with_different_trailing_bits_are_refused() -> None:
    # base64 decoders ignore the unused low bits of the last character; a token must
    # not have a second spelling that verifies too.
    payload, signature = TOKEN.split(".")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(signature[-1])
    sibling = alphabet[last ^ 1]
    assert failure(f"{payload}.{signature[:-1]}{sibling}") is LinkFailure.MALFORMED


@pytest.mark.parametrize(
    "token",
    [
        "",
        ".",
        "abc",
        TOKEN + ".",
        "." + TOKEN,
        TOKEN.replace(".", "!"),
        TOKEN + "=",
        "x" * 5000,
        TOKEN.split(".")[0] + ".AAAA",
    ],
)
def test_malformed(token: str) -> None:
    assert failure(token) is LinkFailure.MALFORMED


def test_errors_carry_http_statuses() -> None:
    statuses = {}
    for token, purpose, now, secret in [
        ("junk", "ack", T0, SECRET),
        (TOKEN, "ack", T0, OTHER),
        (TOKEN, "ack", EXPIRES, SECRET),
        (TOKEN, "resolve", T0, SECRET),
    ]:
        with pytest.raises(LinkError) as caught:
            verify(secret, token, purpose, now)
        assert isinstance(caught.value, InboundError)
        statuses[caught.value.reason] = caught.value.status
    assert statuses == {
        LinkFailure.MALFORMED: 400,
        LinkFailure.BAD_SIGNATURE: 403,
        LinkFailure.EXPIRED: 410,
        LinkFailure.WRONG_PURPOSE: 400,
    }


def test_the_nonce_distinguishes_otherwise_identical_links() -> None:
    again = sign(SECRET, "ack", "incident:12", EXPIRES, "another-nonce", actor="alice@example.com")
    assert again != TOKEN and verify(SECRET, again, "ack", T0).nonce == "another-nonce"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"secret": b"short"}, "at least 32 bytes"),
        ({"purpose": "Ack!"}, "purpose"),
        ({"subject": ""}, "subject"),
        ({"actor": "a" * 300}, "actor"),
        ({"nonce": "1234"}, "nonce"),
        ({"expires_at": datetime(2026, 11, 24)}, "timezone-aware"),
    ],
)
def test_sign_refuses_unusable_input(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {
        "secret": SECRET,
        "purpose": "ack",
        "subject": "incident:12",
        "expires_at": EXPIRES,
        "nonce": NONCE,
        "actor": "alice@example.com",
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        sign(**arguments)  # type: ignore[arg-type]


def test_unicode_claims_round_trip() -> None:
    token = sign(SECRET, "ack", "incident:12", EXPIRES, NONCE, actor="Jürgen Müller ✓")
    assert verify(SECRET, token, "ack", T0).actor == "Jürgen Müller ✓"


@settings(max_examples=500)
@given(position=st.integers(min_value=0), replacement=st.characters())
def test_any_single_character_change_is_rejected(position: int, replacement: str) -> None:
    index = position % len(TOKEN)
    if TOKEN[index] == replacement:
        return
    tampered = TOKEN[:index] + replacement + TOKEN[index + 1 :]
    with pytest.raises(LinkError) as caught:
        verify(SECRET, tampered, "ack", T0)
    assert caught.value.reason in (LinkFailure.MALFORMED, LinkFailure.BAD_SIGNATURE)


@settings(max_examples=500)
@given(position=st.integers(min_value=0), flip=st.integers(min_value=1, max_value=255))
def test_any_single_byte_change_is_rejected(position: int, flip: int) -> None:
    raw = bytearray(TOKEN.encode())
    raw[position % len(raw)] ^= flip
    tampered = raw.decode("latin-1")
    with pytest.raises(LinkError):
        verify(SECRET, tampered, "ack", T0)


@settings(max_examples=300)
@given(token=st.text(max_size=400), purpose=st.text(max_size=20))
def test_verification_never_raises_anything_but_link_error(token: str, purpose: str) -> None:
    with contextlib.suppress(LinkError):
        verify(SECRET, token, purpose, T0)


@settings(max_examples=300)
@given(
    payload=st.binary(max_size=200),
    signature=st.binary(min_size=32, max_size=32),
)
def test_well_formed_garbage_is_a_bad_signature(payload: bytes, signature: bytes) -> None:
    encoded = base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
    mac = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    with pytest.raises(LinkError) as caught:
        verify(SECRET, f"{encoded}.{mac}", "ack", T0)
    assert caught.value.reason in (LinkFailure.BAD_SIGNATURE, LinkFailure.MALFORMED)


@settings(max_examples=200)
@given(
    subject=st.text(min_size=1, max_size=100),
    actor=st.text(min_size=1, max_size=100),
    seconds=st.integers(min_value=1, max_value=10**8),
)
def test_sign_then_verify_round_trips(subject: str, actor: str, seconds: int) -> None:
    expires = T0 + timedelta(seconds=seconds)
    claims = verify(SECRET, sign(SECRET, "ack", subject, expires, NONCE, actor=actor), "ack", T0)
    assert (claims.subject, claims.actor, claims.expires_at) == (subject, actor, expires)
