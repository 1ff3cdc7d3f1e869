"""Pure parts of the tcp check: config validation, reply matching, message pieces."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.checks.tcp import (
    KIND,
    SNIPPET_CHARS,
    TcpCheck,
    describe_expectation,
    endpoint,
    format_ms,
    reply_matches,
    snippet,
    ssl_reason,
)
from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError

HEAD = "project:\n  name: shop\nchecks:\n  - name: cache\n"


def check(**fields: object) -> TcpCheck:
    return TcpCheck.model_validate({"host": "127.0.0.1", "port": 6379, **fields})


def issues(yaml_tail: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(HEAD + yaml_tail)
    return [f"{issue.path}: {issue.message}" for issue in caught.value.issues]


def test_yaml_double_quotes_give_real_line_endings() -> None:
    config = load_config_text(
        HEAD + '    tcp:\n      host: 127.0.0.1\n      port: 6379\n      send: "PING\\r\\n"\n'
        '      expect: "+PONG"\n'
    )
    spec = config.checks[0].spec
    assert isinstance(spec, TcpCheck)
    assert spec.send == "PING\r\n"
    assert spec.timeout.total_seconds() == 10 and spec.max_bytes == 4096


@pytest.mark.parametrize(
    "yaml_tail,expected",
    [
        (
            "    tcp: {host: 127.0.0.1}\n",
            "checks[0].tcp.port: missing required key 'port'",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 0}\n",
            "checks[0].tcp.port: expected a port number from 1 to 65535, got 0",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 70000}\n",
            "checks[0].tcp.port: expected a port number from 1 to 65535, got 70000",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: true}\n",
            "checks[0].tcp.port: expected a port number from 1 to 65535, got true/false",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: six}\n",
            "checks[0].tcp.port: expected an integer, got a string 'six'",
        ),
        (
            "    tcp: {host: 'redis://cache', port: 6379}\n",
            "checks[0].tcp.host: expected a host name, not a URL: 'redis://cache'",
        ),
        (
            "    tcp: {host: 'cache:6379', port: 6379}\n",
            "checks[0].tcp.host: expected a host name without a port, got 'cache:6379': "
            "put the port in `port`",
        ),
        (
            "    tcp: {host: '', port: 6379}\n",
            "checks[0].tcp.host: expected a host name or IP address, got ''",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 6379, expect_regex: '+PONG'}\n",
            "checks[0].tcp.expect_regex: invalid regular expression: nothing to repeat at "
            "position 0",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 6379, expect_regexp: PONG}\n",
            "checks[0].tcp.expect_regexp: unknown key 'expect_regexp'; did you mean "
            "'expect_regex'?",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 6379, max_bytes: 0}\n",
            "checks[0].tcp.max_bytes: must be between 1 byte and 16MiB, got 0",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 6379, max_bytes: 1GB}\n",
            "checks[0].tcp.max_bytes: must be between 1 byte and 16MiB, got 1000000000",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 6379, send: ''}\n",
            "checks[0].tcp.send: must not be empty; leave the key out instead",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 6379, server_name: cache, verify_tls: false}\n",
            "checks[0].tcp: only used with `tls: true`: server_name, verify_tls",
        ),
        (
            "    tcp: {host: h, port: 6379, tls: true, verify_tls: false, ca_file: a.pem}\n",
            "checks[0].tcp: ca_file has no effect with `verify_tls: false`",
        ),
        (
            "    tcp: {host: 127.0.0.1, port: 6379}\n    thresholds: {response_ms: {warning: 5}}\n",
            "checks[0].thresholds.response_ms: unknown sample of a tcp check 'response_ms'; "
            "defined: latency_ms",
        ),
    ],
)
def test_config_errors_are_clear(yaml_tail: str, expected: str) -> None:
    assert issues(yaml_tail) == [expected]


def test_port_from_environment_text_is_accepted() -> None:
    assert check(port="6380").port == 6380


def test_ipv6_host_accepted_with_or_without_brackets() -> None:
    assert check(host="::1").host == "::1"
    assert check(host="[::1]").host == "::1"
    assert endpoint("::1", 6379) == "[::1]:6379"
    assert endpoint("cache.internal", 6379) == "cache.internal:6379"


def test_samples_follow_the_config() -> None:
    assert KIND.samples(check()) == frozenset({"latency_ms"})
    assert KIND.samples(check(expect="SSH-")) == frozenset({"latency_ms", "response_ms"})
    assert KIND.samples(check(send="PING\r\n")) == frozenset({"latency_ms", "response_ms"})
    assert KIND.samples(check(tls=True)) == frozenset(
        {"latency_ms", "handshake_ms", "cert_days_left"}
    )
    assert KIND.default_thresholds == {"cert_days_left": {"warning": "< 14", "critical": "< 7"}}


def test_reply_matching() -> None:
    assert reply_matches(check(expect="+PONG"), "+PONG\r\n")
    assert not reply_matches(check(expect="+PONG"), "-ERR\r\n")
    # plain re.search: ^ anchors at the start of the reply unless (?m) asks for lines
    assert reply_matches(check(expect_regex=r"^\+PONG\r$"), "+PONG\r")
    assert not reply_matches(check(expect_regex=r"^\+PONG"), "x\n+PONG\r")
    assert reply_matches(check(expect_regex=r"(?m)^\+PONG"), "x\n+PONG\r")
    both = check(expect="220", expect_regex="ESMTP")
    assert reply_matches(both, "220 mail ESMTP")
    assert not reply_matches(both, "220 mail")
    only_send = check(send="hi\n")
    assert reply_matches(only_send, "anything")
    assert not reply_matches(only_send, "")


@given(st.text(), st.text(min_size=1), st.text())
def test_expected_text_anywhere_in_reply_matches(before: str, wanted: str, after: str) -> None:
    assert reply_matches(check(expect=wanted), before + wanted + after)


def test_describe_expectation() -> None:
    assert describe_expectation(check(expect="+PONG")) == "'+PONG'"
    assert describe_expectation(check(expect_regex="^SSH")) == "/^SSH/"
    assert describe_expectation(check(expect="a", expect_regex="b")) == "'a' and /b/"
    assert describe_expectation(check(send="x")) == "a reply"


@given(st.text())
def test_snippet_is_one_short_line(reply: str) -> None:
    text = snippet(reply)
    assert "\n" not in text and "\r" not in text
    assert len(text) <= len(repr("\U0010ffff" * SNIPPET_CHARS)) + 1


def test_snippet_shows_escapes_and_cuts_long_replies() -> None:
    assert snippet("-ERR x\r\n") == "'-ERR x\\r\\n'"
    assert snippet("x" * 100) == repr("x" * SNIPPET_CHARS) + "…"


def test_format_ms() -> None:
    assert format_ms(0.42) == "0.4 ms"
    assert format_ms(12.6) == "13 ms"


def test_ssl_reason_drops_openssl_tags() -> None:
    exc = ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)")
    assert ssl_reason(exc) == "wrong version number"


def test_documented_example_validates() -> None:
    doc = Path(__file__).parents[3] / "docs" / "checks" / "tcp.md"
    blocks = re.findall(r"```yaml\n(.*?)```", doc.read_text(), re.DOTALL)
    assert len(blocks) == 1
    config = load_config_text(blocks[0])
    assert [c.kind for c in config.checks] == ["tcp"] * 4
