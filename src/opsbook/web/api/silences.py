"""`/api/v1/silences`: list, create and expire silences, like `opsbook silence`.

A silence mutes notifications for alerts matching all its label matchers, never their
evaluation. The engine reloads silences every two seconds, so one created here applies
within that. The author is the caller (``api:<token name>``); a comment is required, as
it is shown to whoever gets paged next.

No ``from __future__ import annotations`` here: FastAPI reads the route signatures at
run time, and the role dependencies are local aliases it must be able to resolve.
"""

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from opsbook.alerts.matchers import Matcher, parse_matcher
from opsbook.alerts.silences import Silence
from opsbook.config.types import parse_duration
from opsbook.engine.core import Engine
from opsbook.store.api_tokens import Role
from opsbook.web.api._fields import Limit, Offset, page, plain_text, require_year
from opsbook.web.auth import Principal, actor, requires

MAX_LENGTH = timedelta(days=366)  # longer is a forgotten silence, not a plan
MAX_LEAD = timedelta(days=366)  # how far ahead a silence may start
SilenceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9-]{1,64}$")]
MatcherText = Annotated[str, Field(min_length=1, max_length=1100)]


class NewSilence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherText] = Field(
        min_length=1,
        max_length=20,
        description='Label matchers, all of which must hold: service="api", severity=~"P2|P3".',
    )
    comment: str = Field(min_length=1, max_length=2000, description="Why (required).")
    duration: str | None = Field(
        default=None, max_length=50, description="How long, e.g. 2h; or give ends_at."
    )
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    ends_at: AwareDatetime | None = Field(default=None, description="Instead of duration.")


def silence_json(silence: Silence, now: datetime) -> dict[str, Any]:
    return {
        "id": silence.id,
        "matchers": [str(m) for m in silence.matchers],
        "starts_at": silence.starts_at.isoformat(),
        "ends_at": silence.ends_at.isoformat(),
        "created_by": silence.created_by,
        "comment": silence.comment,
        # Expiring a pending silence ends it before it starts: expired, not pending.
        "status": "expired" if silence.ends_at <= now else silence.status_at(now),
    }


def _matchers(texts: list[str]) -> tuple[Matcher, ...]:
    parsed = []
    for text in texts:
        plain_text(text, "a matcher")
        try:
            parsed.append(parse_matcher(text))
        except ValueError as exc:
            raise HTTPException(422, f"matchers: {exc}") from None
    return tuple(parsed)


def _window(body: NewSilence, now: datetime) -> tuple[datetime, datetime]:
    """(starts_at, ends_at) of a new silence, checked."""
    starts = require_year(body.starts_at, "starts_at") if body.starts_at else now
    if (body.duration is None) == (body.ends_at is None):
        raise HTTPException(422, "give either duration (e.g. 2h) or ends_at")
    if body.ends_at is not None:
        length = require_year(body.ends_at, "ends_at") - starts
    else:
        try:
            length = parse_duration(plain_text(body.duration or "", "duration"))
        except (ValueError, OverflowError) as exc:
            raise HTTPException(422, f"duration: {exc}") from None
    if length <= timedelta(0):
        raise HTTPException(422, "a silence must end after it starts")
    if length > MAX_LENGTH:
        raise HTTPException(422, f"a silence lasts at most {MAX_LENGTH.days} days")
    if starts - now > MAX_LEAD:
        raise HTTPException(422, f"a silence starts at most {MAX_LEAD.days} days ahead")
    if starts + length <= now:
        raise HTTPException(422, "this silence would already be over")
    return starts, starts + length


def silences_router(engine: Engine) -> APIRouter:
    router = APIRouter(prefix="/api/v1", tags=["silences"])
    viewer = Annotated[Principal, Depends(requires(engine, Role.VIEWER))]
    responder = Annotated[Principal, Depends(requires(engine, Role.RESPONDER))]
    silences = engine.store.silences

    @router.get("/silences")
    async def list_silences(
        _: viewer,
        expired: Annotated[bool, Query(description="Include expired silences.")] = False,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        """Active and pending silences (all with `expired=true`), by start time."""
        now = engine.clock()
        found = await asyncio.to_thread(silences.browse, None if expired else now)
        return page(found, limit, offset, lambda s: silence_json(s, now))

    @router.post("/silences", status_code=201)
    async def add_silence(body: NewSilence, caller: responder) -> dict[str, Any]:
        now = engine.clock()
        comment = plain_text(body.comment.strip(), "comment")
        if not comment:
            raise HTTPException(422, "a silence needs a comment saying why")
        starts, ends = _window(body, now)
        silence = Silence(
            id=str(uuid.uuid4()),
            matchers=_matchers(body.matchers),
            starts_at=starts,
            ends_at=ends,
            created_by=actor(caller),
            comment=comment,
        )
        await asyncio.to_thread(silences.add, silence, now)
        return silence_json(silence, now)

    @router.delete("/silences/{silence_id}")
    async def expire_silence(silence_id: SilenceId, _: responder) -> dict[str, Any]:
        """End a running or pending silence now."""
        now = engine.clock()

        def work() -> dict[str, Any]:
            if not silences.expire(silence_id, now):
                raise HTTPException(404, f"no running or pending silence {silence_id!r}")
            expired = silences.get(silence_id)
            assert expired is not None
            return silence_json(expired, now)

        return await asyncio.to_thread(work)

    return router
