"""Pure parts of the redis check: config validation, list sample names, hit-rate windows."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsbook.checks.redis import (
    BUILTIN_SAMPLES,
    KIND,
    KeyspaceCounters,
    RedisCheck,
    hit_rate,
    list_sample_name,
    url_options,
)
from opsbook.config.loader import load_config_text
from opsbook.errors import ConfigError
from tests.checkutil import make_check

DOC = Path(__file__).parents[3] / "docs" / "checks" / "redis.md"

HEAD = "project:\n  name: review-engine\nchecks:\n  - name: cache\n"
ENV = {"REDIS_URL": "redis://:s3cr3t-pw@cache.internal:6379/0", "REDIS_PASSWORD": "p@ss/w#rd"}
SAMPLE = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


def load(check_body: str, environ: dict[str, str] | None = None) -> RedisCheck:
    config = load_config_text(HEAD + check_body, environ=ENV if environ is None else environ)
    spec = config.checks[0].spec
    assert isinstance(spec, RedisCheck)
    return spec


def issues(check_body: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(check_body, environ)
    return [f"{i.path}: {i.message}" for i in caught.value.issues]


def test_runbook_config_loads_and_keeps_secrets() -> None:
    spec = load(
        "    redis:\n"
        "      url: ${ENV:REDIS_URL}\n"
        "      lists: [sync_queue]\n"
        "    thresholds:\n"
        '      hit_rate_pct: {warning: "< 90"}\n'
        '      llen_sync_queue: {warning: "> 1000"}\n'
    )
    assert spec.url.get_secret_value() == ENV["REDIS_URL"]
    assert spec.lists == ["sync_queue"]
    assert "s3cr3t" not in repr(spec) and "s3cr3t" not in str(spec.model_dump())


def test_password_key_needs_no_url_encoding() -> None:
    spec = load(
        "    redis:\n"
        "      url: redis://cache.internal:6379\n"
        "      password: ${ENV:REDIS_PASSWORD}\n"
    )
    assert spec.password is not None
    assert spec.password.get_secret_value() == "p@ss/w#rd"
    assert "p@ss" not in repr(spec)


def test_samples_are_the_builtins_plus_each_list() -> None:
    check = make_check("redis", {"url": "redis://h", "lists": ["sync_queue", "queue:emails"]})
    assert KIND.samples(check.spec) == frozenset(BUILTIN_SAMPLES) | {
        "llen_sync_queue",
        "llen_queue_emails",
    }


def test_memory_defaults_and_switching_them_off() -> None:
    check = make_check("redis", {"url": "redis://h"})
    bounds = check.effective_thresholds()["used_memory_pct"]
    assert (str(bounds.warning), str(bounds.critical)) == ("> 80", "> 95")
    assert "hit_rate_pct" not in check.effective_thresholds()  # users choose their own
    off = make_check("redis", {"url": "redis://h"}, thresholds={"used_memory_pct": {}})
    assert off.effective_thresholds()["used_memory_pct"].critical is None


def test_threshold_on_unknown_sample_suggests_the_right_one() -> None:
    found = issues(
        "    redis: {url: 'redis://h', lists: [sync_queue]}\n"
        "    thresholds:\n"
        '      hit_rate: {warning: "< 90"}\n'
        '      llen_sync_que: {warning: "> 10"}\n'
    )
    assert found == [
        "checks[0].thresholds.hit_rate: unknown sample of a redis check 'hit_rate'; "
        "did you mean 'hit_rate_pct'?",
        "checks[0].thresholds.llen_sync_que: unknown sample of a redis check 'llen_sync_que'; "
        "did you mean 'llen_sync_queue'?",
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    redis: {url: 'http://:hunter2@h:6379'}\n",
            "checks[0].redis.url: expected a redis://, rediss:// or unix:// URL "
            "(got scheme 'http')",
        ),
        (
            "    redis: {url: 'cache.internal:6379'}\n",
            "checks[0].redis.url: expected a redis://, rediss:// or unix:// URL (got scheme none)",
        ),
        (
            "    redis: {url: 'redis://:hun/ter2@h:6379'}\n",
            "checks[0].redis.url: not a valid Redis URL: check host, port and database number, "
            "and percent-encode special characters in the password (or use the password key)",
        ),
        (
            "    redis: {url: 'redis://h:6379/cache'}\n",
            "checks[0].redis.url: the URL's path must be a database number, e.g. "
            "redis://host:6379/0",
        ),
        (
            "    redis: {url: 'redis://:hunter2@h', password: other-secret}\n",
            "checks[0].redis: the password is set both in url and in password: keep one",
        ),
        ("    redis: {lists: [q]}\n", "checks[0].redis.url: missing required key 'url'"),
        (
            "    redis: {url: 'redis://h', lists: sync_queue}\n",
            "checks[0].redis.lists: expected a list, got a string 'sync_queue'",
        ),
        (
            "    redis: {url: 'redis://h', lists: ['']}\n",
            "checks[0].redis.lists: a list name is empty",
        ),
        (
            "    redis: {url: 'redis://h', lists: ['::']}\n",
            "checks[0].redis.lists: list '::' cannot be reported as a sample",
        ),
        (
            "    redis: {url: 'redis://h', lists: ['queue:emails', 'queue-emails']}\n",
            "checks[0].redis.lists: lists 'queue:emails' and 'queue-emails' would both be "
            "reported as 'llen_queue_emails'",
        ),
        (
            "    redis: {url: 'redis://h', timeout: fast}\n",
            "checks[0].redis.timeout: expected a duration like '5s', got 'fast'",
        ),
        (
            "    redis: {url: 'redis://h', maxmemory: 2mb}\n",
            "checks[0].redis.maxmemory: unknown key 'maxmemory'",
        ),
    ],
)
def test_bad_config_gets_a_clear_located_message(body: str, expected: str) -> None:
    found = issues(body)
    assert any(message.startswith(expected) for message in found), found
    assert not any("hunter2" in m or "hun/ter2" in m for m in found)


def test_url_from_environment_is_never_echoed_in_errors() -> None:
    found = issues(
        "    redis: {url: '${ENV:REDIS_URL}'}\n",
        environ={"REDIS_URL": "redis://:top/secret@cache:6379"},
    )
    assert len(found) == 1
    assert "top" not in found[0] and "secret" not in found[0]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://cache.internal:6380/2", {"host": "cache.internal", "port": 6380, "db": 2}),
        ("rediss://:pw@cache.internal", {"host": "cache.internal", "password": "pw"}),
        ("unix:///run/redis.sock?db=1", {"path": "/run/redis.sock", "db": 1}),
    ],
)
def test_url_options(url: str, expected: dict[str, object]) -> None:
    options = url_options(url)
    assert {k: options.get(k) for k in expected} == expected


@given(st.text(min_size=1, max_size=200))
def test_list_names_become_valid_samples_or_are_refused(key: str) -> None:
    try:
        name = list_sample_name(key)
    except ValueError as exc:
        assert "cannot be reported as a sample" in str(exc)
        return
    assert SAMPLE.match(name)
    assert name.startswith("llen_")


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("sync_queue", "llen_sync_queue"),
        ("queue:emails", "llen_queue_emails"),
        ("Jobs-Pending", "llen_jobs_pending"),
        ("bull:mail:wait", "llen_bull_mail_wait"),
        ("42", "llen_42"),
    ],
)
def test_list_sample_names(key: str, name: str) -> None:
    assert list_sample_name(key) == name


@pytest.mark.parametrize("key", ["::", "очередь", "x" * 96])
def test_list_names_that_cannot_be_samples(key: str) -> None:
    with pytest.raises(ValueError, match="cannot be reported as a sample"):
        list_sample_name(key)


counts = st.integers(min_value=0, max_value=10**12)


@given(hits=counts, misses=counts, more_hits=counts, more_misses=counts)
def test_hit_rate_since_last_probe_of_the_same_run(
    hits: int, misses: int, more_hits: int, more_misses: int
) -> None:
    previous = KeyspaceCounters("run-a", hits, misses)
    current = KeyspaceCounters("run-a", hits + more_hits, misses + more_misses)
    rate, window = hit_rate(previous, current)
    assert window == "since last probe"
    if more_hits + more_misses == 0:
        assert rate is None
    else:
        assert rate == pytest.approx(more_hits / (more_hits + more_misses) * 100)
        assert 0 <= rate <= 100


@given(hits=counts, misses=counts)
def test_hit_rate_after_restart_or_reset_uses_counters_since_start(hits: int, misses: int) -> None:
    current = KeyspaceCounters("run-b", hits, misses)
    restarted = hit_rate(KeyspaceCounters("run-a", hits, misses), current)
    reset = hit_rate(KeyspaceCounters("run-b", hits + 1, misses), current)
    first = hit_rate(None, current)
    expected = hits / (hits + misses) * 100 if hits + misses else None
    for rate, window in (restarted, reset, first):
        assert window == "since counters started"
        assert rate == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(
    "state",
    [None, {}, {"run_id": 1, "hits": 1, "misses": 1}, {"run_id": "a", "hits": "1"}, {"x": 1}],
)
def test_unusable_state_is_ignored(state: dict[str, object] | None) -> None:
    assert KeyspaceCounters.from_state(state) is None


def test_state_round_trip() -> None:
    counters = KeyspaceCounters("abc", 9, 1)
    assert KeyspaceCounters.from_state(counters.to_state()) == counters


@given(password=st.text(min_size=1, max_size=30))
def test_percent_encoded_passwords_are_accepted(password: str) -> None:
    options = url_options(f"redis://:{quote(password, safe='')}@cache.internal:6379/0")
    assert options["password"] == password


def test_documented_example_validates() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1
    config = load_config_text(blocks[0], environ={})
    assert [c.kind for c in config.checks] == ["redis"] * 3


def test_empty_password_means_none() -> None:
    spec = load(
        "    redis:\n      url: redis://cache.internal\n      password: ${ENV:REDIS_PASSWORD:-}\n",
        environ={},
    )
    assert spec.password is None
