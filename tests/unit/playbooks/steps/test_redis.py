"""The redis step's config: refused commands, patterns, and the command a dry run shows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from opsbook.playbooks.steps import redis
from tests.unit.playbooks.steps.stepctx import context, describe, spec


def error(block: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as caught:
        spec("redis", {"connection": "cache", **block})
    return str(caught.value)


def test_command_items_from_yaml_integers_become_text() -> None:
    parsed = spec("redis", {"connection": "cache",
                            "command": ["SET", "emergency_cache_enabled", "true", "EX", 3600]})  # fmt: skip
    assert isinstance(parsed, redis.RedisStepConfig)
    assert parsed.command == ["SET", "emergency_cache_enabled", "true", "EX", "3600"]


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (["KEYS", "*"], "use delete_matching: PATTERN (SCAN)"),
        (["flushdb"], "it deletes every key"),  # review-engine "Manual Rollback", step 4
        (["FLUSHALL", "ASYNC"], "it deletes every key"),
        (["CONFIG", "SET", "maxmemory", "512mb"], "run redis-cli in a shell step"),
        (["SHUTDOWN", "NOSAVE"], "it stops the server"),
        (["DEBUG", "SLEEP", "10"], "it can crash or freeze the server"),
        (["MONITOR"], "it streams forever"),
        (["SUBSCRIBE", "events"], "it streams forever"),
        (["EVAL", "return redis.call('FLUSHALL')", "0"], "including the refused ones"),
        (["SELECT", "2"], "choose the database in the connection URL"),
    ],
)
def test_dangerous_commands_are_refused_with_the_reason(command: list[str], reason: str) -> None:
    message = error({"command": command})
    assert f"{command[0].upper()} is not allowed in a playbook" in message
    assert reason in message


def test_the_command_name_is_fixed_and_the_command_is_a_list() -> None:
    assert "cannot be a template" in error({"command": ["{{ params.cmd }}", "x"]})
    assert "one item per argument" in error({"command": "LLEN sync_queue"})
    assert "quote it" in error({"command": ["SET", "flag", True]})


def test_exactly_one_action() -> None:
    assert "exactly one of command: or delete_matching:" in error({})
    assert "exactly one of command: or delete_matching:" in error(
        {"command": ["LLEN", "sync_queue"], "delete_matching": "queue:*"}
    )


def test_a_pattern_needs_a_fixed_prefix() -> None:
    assert "does not start with a fixed prefix" in error({"delete_matching": "*"})
    assert "does not start with a fixed prefix" in error({"delete_matching": "?ueue:*"})
    spec("redis", {"connection": "cache", "delete_matching": "srs:*"})


def test_save_takes_the_result_and_expect_integers() -> None:
    assert "Input should be 'result'" in error({"command": ["LLEN", "q"], "save": {"n": "reply"}})
    assert "quote it" in error({"command": ["GET", "flag"], "expect": {"equals": True}})
    assert "Input should be a valid integer" in error(
        {"command": ["LLEN", "q"], "expect": {"max": "many"}}
    )


def test_describe_shows_each_argument() -> None:
    ctx = context(params={"queue": "sync_queue", "note": 'slow "review" queue'})
    assert describe("redis", {"connection": "cache", "command": ["LLEN", "{{ params.queue }}"]},
                    ctx) == "redis on cache: LLEN sync_queue"  # fmt: skip
    assert describe("redis", {"connection": "cache",
                              "command": ["SET", "note", "{{ params.note }}", "EX", 3600]},
                    ctx) == 'redis on cache: SET note "slow \\"review\\" queue" EX 3600'  # fmt: skip


def test_describe_of_delete_matching_escapes_glob_characters_in_values() -> None:
    # review-engine "Queue Generation Timeout": redis-cli DEL "queue:*"
    ctx = context(params={"user": "u*[1]?"})
    block = {"connection": "cache", "delete_matching": "queue:{{ params.user }}:*", "batch": 200}
    assert describe("redis", block, ctx) == (
        'redis on cache: SCAN 0 MATCH "queue:u\\\\*\\\\[1\\\\]\\\\?:*" COUNT 200, then DEL each '
        "batch of matching keys"
    )


def test_a_value_cannot_make_a_pattern_without_prefix() -> None:
    ctx = context(params={"prefix": ""})
    with pytest.raises(ValueError, match="does not start with a fixed prefix"):
        describe("redis", {"connection": "cache", "delete_matching": "{{ params.prefix }}*"}, ctx)


def test_replies_are_shown_as_redis_cli_shows_them() -> None:
    assert redis.format_reply(3) == "(integer) 3"
    assert redis.format_reply(None) == "(nil)"
    assert redis.format_reply("OK") == "OK"
    assert redis.format_reply([]) == "(empty array)"
    assert redis.format_reply(["a", 2, None, ["x", "y"]]) == (
        "1) a\n2) (integer) 2\n3) (nil)\n4) 1) x\n   2) y"
    )


def test_deleting_by_pattern_gets_more_time() -> None:
    assert redis.KIND.default_timeout is not None
    command = redis.RedisStepConfig.model_validate(
        {"connection": "cache", "command": ["LLEN", "q"]}
    )
    delete = redis.RedisStepConfig.model_validate({"connection": "cache", "delete_matching": "q:*"})
    assert redis.KIND.default_timeout(command) == timedelta(seconds=30)
    assert redis.KIND.default_timeout(delete) == timedelta(minutes=5)
