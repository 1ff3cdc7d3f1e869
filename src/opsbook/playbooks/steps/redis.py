"""`redis`: one Redis command, e.g. the review-engine's ``redis-cli LLEN sync_queue`` or
``redis-cli SET emergency_cache_enabled true EX 3600``, or `delete_matching` for its
``redis-cli DEL "queue:*"`` (which, as written, deletes nothing: DEL takes no patterns).

Each command item is one argument of the Redis protocol, so a template can never add
arguments or commands. Commands that block or wipe the server, change its configuration
or run arbitrary code are refused at load. Deleting by pattern walks the keys with SCAN
and deletes in batches; KEYS, which stops the server while it walks every key, is never
used.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from opsbook.config.base import Name, Section
from opsbook.config.types import format_duration
from opsbook.playbooks.steps.base import StepContext, StepKind, StepResult, StepStatus, clip
from opsbook.playbooks.steps.expect import ITEMS_SCHEMA, MAX_SAVED, VarName, text_item
from opsbook.playbooks.templating import TemplateError, TemplateText, has_template, render

DEFAULT_TIMEOUT = timedelta(seconds=30)
DELETE_TIMEOUT = timedelta(minutes=5)
_GLOB = re.compile(r"([*?\[\]\\])")


def _refusals() -> dict[str, str]:
    groups = {
        "KEYS": "it blocks the server while it walks every key; use delete_matching: "
        "PATTERN (SCAN) to delete, or SCAN to list",
        "FLUSHALL FLUSHDB": "it deletes every key; use delete_matching: PATTERN to delete "
        "one namespace, e.g. 'queue:*'",
        "CONFIG": "it changes the server's configuration; change redis.conf through your "
        "deploy process, or run redis-cli in a shell step behind an approval",
        "SHUTDOWN": "it stops the server",
        "DEBUG": "it can crash or freeze the server",
        "MONITOR SUBSCRIBE PSUBSCRIBE SSUBSCRIBE SYNC PSYNC": "it streams forever instead "
        "of returning one reply",
        "REPLICAOF SLAVEOF FAILOVER CLUSTER": "it changes replication or the cluster",
        "EVAL EVALSHA EVAL_RO EVALSHA_RO FCALL FCALL_RO FUNCTION SCRIPT MODULE": "it runs "
        "code that can call any command, including the refused ones",
        "ACL": "it changes users and permissions",
        "SAVE": "it blocks the server while it writes the dump; use BGSAVE",
        "SWAPDB MIGRATE": "it moves whole databases or keys elsewhere",
        "MULTI EXEC WATCH DISCARD SELECT": "a step sends one command on a connection of its "
        "own; choose the database in the connection URL (redis://host:6379/0)",
    }
    return {name: why for names, why in groups.items() for name in names.split()}


REFUSED: Mapping[str, str] = _refusals()


def _command_list(value: object) -> object:
    if isinstance(value, str):
        raise ValueError("command is a list with one item per argument, e.g. [LLEN, sync_queue]")
    if isinstance(value, list):
        return [text_item(item, f"argument {i}") for i, item in enumerate(value)]
    return value


def _literal_start(pattern: str) -> None:
    if not pattern or pattern[0] in "*?[":
        raise ValueError(
            f"the pattern {pattern!r} does not start with a fixed prefix: it would delete "
            "keys of every kind; write the namespace first, e.g. 'queue:*'"
        )


def _reply_value(value: object) -> object:
    return (
        value
        if isinstance(value, int) and not isinstance(value, bool)
        else text_item(value, "equals")
    )


class RedisExpect(Section):
    equals: Annotated[TemplateText | int, BeforeValidator(_reply_value)] | None = Field(
        default=None, description="The reply is this (text or an integer)."
    )
    max: int | None = Field(default=None, description="An integer reply is at most this.")
    min: int | None = Field(default=None, description="An integer reply is at least this.")


CommandItems = Annotated[list[TemplateText], BeforeValidator(_command_list), ITEMS_SCHEMA]


class RedisStepConfig(Section):
    connection: Name = Field(description="A `connections:` entry with redis: {url}.")
    command: Annotated[list[TemplateText], BeforeValidator(_command_list), ITEMS_SCHEMA] | None = (
        Field(
            default=None,
            min_length=1,
            description="Command and arguments, one item each, e.g. [LLEN, sync_queue].",
        )
    )
    delete_matching: TemplateText | None = Field(
        default=None,
        min_length=1,
        description="Delete the keys matching this glob (SCAN + DEL), e.g. 'queue:*'.",
    )
    batch: int = Field(default=500, ge=1, le=10_000, description="Keys per SCAN and DEL.")
    expect: RedisExpect | None = Field(
        default=None, description="equals, max, min: what the reply (or deleted count) must be."
    )
    save: dict[VarName, Literal["result"]] = Field(
        default_factory=dict, description="Variables for later steps: NAME: result."
    )

    @field_validator("command")
    @classmethod
    def _allowed(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            name = value[0]
            if has_template(name):
                raise ValueError("the command name (first item) cannot be a template")
            why = REFUSED.get(name.upper())
            if why is not None:
                raise ValueError(f"{name.upper()} is not allowed in a playbook: {why}")
        return value

    @field_validator("delete_matching")
    @classmethod
    def _fixed_prefix(cls, value: str | None) -> str | None:
        if value is not None:
            _literal_start(value)
        return value

    @model_validator(mode="after")
    def _one_action(self) -> RedisStepConfig:
        if (self.command is None) == (self.delete_matching is None):
            raise ValueError("a redis step has exactly one of command: or delete_matching:")
        return self


def _escape_globs(value: Any) -> Any:
    """Values as they must appear in a SCAN pattern to match only themselves: a
    parameter `*` must not turn 'cache:{{ params.user }}:*' into every cache key."""
    if isinstance(value, str):
        return _GLOB.sub(r"\\\1", value)
    if isinstance(value, Mapping):
        return {k: _escape_globs(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_escape_globs(v) for v in value]
    return value


def _pattern(spec: RedisStepConfig, ctx: StepContext) -> str:
    assert spec.delete_matching is not None
    pattern = render(spec.delete_matching, _escape_globs(ctx.values))
    try:
        _literal_start(pattern)
    except ValueError as exc:
        raise TemplateError(str(exc)) from None
    return pattern


def _quote(arg: str) -> str:
    if arg and not re.search(r"[\s\"'\\]", arg) and arg.isprintable():
        return arg
    return json.dumps(arg, ensure_ascii=False)


def describe(spec: RedisStepConfig, ctx: StepContext) -> str:
    if spec.command is not None:
        text = " ".join(_quote(ctx.render(a)) for a in spec.command)
    else:
        pattern = _quote(_pattern(spec, ctx))
        text = f"SCAN 0 MATCH {pattern} COUNT {spec.batch}, then DEL each batch of matching keys"
    return ctx.redactor(f"redis on {spec.connection}: {text}")


def _plain(reply: Any) -> Any:
    if isinstance(reply, bytes):
        return reply.decode("utf-8", errors="replace")
    if isinstance(reply, list):
        return [_plain(r) for r in reply]
    return reply


def format_reply(reply: Any, indent: str = "") -> str:
    """A reply as redis-cli prints it."""
    if reply is None:
        return f"{indent}(nil)"
    if isinstance(reply, int):
        return f"{indent}(integer) {reply}"
    if isinstance(reply, list):
        if not reply:
            return f"{indent}(empty array)"
        return "\n".join(
            f"{indent}{i}) " + format_reply(item, indent + "   ").lstrip()
            for i, item in enumerate(reply, 1)
        )
    return f"{indent}{reply}"


def _as_int(reply: Any) -> int | None:
    if isinstance(reply, int) and not isinstance(reply, bool):
        return reply
    if isinstance(reply, str) and re.fullmatch(r"-?\d{1,18}", reply.strip()):
        return int(reply)
    return None


def _failures(expect: RedisExpect, reply: Any, ctx: StepContext) -> list[str]:
    problems = []
    if "equals" in expect.model_fields_set:
        wanted = ctx.render(expect.equals) if isinstance(expect.equals, str) else expect.equals
        same = _as_int(reply) == wanted if isinstance(wanted, int) else reply == wanted
        if not same:
            problems.append(f"reply is {json.dumps(reply)[:80]}, expected {json.dumps(wanted)}")
    if expect.max is None and expect.min is None:
        return problems
    number = _as_int(reply)
    if number is None:
        return [*problems, f"reply {json.dumps(reply)[:80]} is not an integer"]
    if expect.max is not None and number > expect.max:
        problems.append(f"reply is {number}, expected at most {expect.max}")
    if expect.min is not None and number < expect.min:
        problems.append(f"reply is {number}, expected at least {expect.min}")
    return problems


def _client(spec: RedisStepConfig, ctx: StepContext) -> Redis:
    connection = ctx.config.connection(spec.connection)
    if connection is None or connection.redis is None:
        raise LookupError(f"connection {spec.connection!r} is not a redis connection")
    seconds = ctx.timeout.total_seconds()
    client = Redis.from_url(
        connection.redis.url,
        socket_timeout=seconds,
        socket_connect_timeout=min(seconds, 10.0),
        retry=Retry(NoBackoff(), 0),  # a command that may have run is never sent twice
        protocol=2,
    )
    client.response_callbacks.clear()  # replies as the server sent them, like redis-cli
    return client


async def _send(client: Redis, *args: Any) -> Any:
    return await client.execute_command(*args)  # type: ignore[no-untyped-call]


async def _delete_matching(client: Redis, pattern: str, batch: int) -> int:
    deleted = 0
    cursor: Any = 0
    while True:
        cursor, keys = await _send(client, "SCAN", cursor, "MATCH", pattern, "COUNT", batch)
        if keys:
            deleted += int(await _send(client, "DEL", *keys))
        if int(cursor) == 0:
            return deleted


def _failed(summary: str, output: str = "") -> StepResult:
    return StepResult(StepStatus.FAILED, summary, output, error=summary)


async def run(spec: RedisStepConfig, ctx: StepContext) -> StepResult:
    try:
        args = [ctx.render(a) for a in spec.command] if spec.command is not None else []
        pattern = _pattern(spec, ctx) if spec.delete_matching is not None else ""
        client = _client(spec, ctx)
    except (TemplateError, LookupError) as exc:
        return _failed(str(exc))
    try:
        async with asyncio.timeout(ctx.timeout.total_seconds()):
            if spec.command is not None:
                reply = _plain(await _send(client, *args))
            else:
                reply = await _delete_matching(client, pattern, spec.batch)
    except TimeoutError:
        return _failed(f"timed out after {format_duration(ctx.timeout)}")
    except RedisError as exc:
        return _failed(ctx.redactor(f"{type(exc).__name__}: {exc}"))
    finally:
        await client.aclose()
    output = clip(ctx.redactor(format_reply(reply)))
    for line in output.splitlines():
        ctx.on_output(line)
    summary = f"deleted {reply} keys matching {pattern}" if spec.delete_matching else output
    summary = summary.splitlines()[0] if summary else "(empty reply)"
    problems = _failures(spec.expect, reply, ctx) if spec.expect is not None else []
    if problems:
        return _failed(ctx.redactor(f"{summary}: {'; '.join(problems)}"), output)
    saved = {var: _saved(reply) for var in spec.save}
    return StepResult(StepStatus.OK, ctx.redactor(summary), output, vars=saved)


def _saved(reply: Any) -> Any:
    if isinstance(reply, list):
        return json.dumps(reply, ensure_ascii=False)[:MAX_SAVED]
    return reply[:MAX_SAVED] if isinstance(reply, str) else reply


def _default_timeout(spec: RedisStepConfig) -> timedelta:
    return DELETE_TIMEOUT if spec.delete_matching is not None else DEFAULT_TIMEOUT


KIND = StepKind(
    "redis",
    RedisStepConfig,
    run,
    describe,
    "Send one Redis command, or delete keys by pattern with SCAN; check the reply.",
    default_timeout=_default_timeout,
)
