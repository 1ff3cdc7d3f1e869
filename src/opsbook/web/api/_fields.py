"""What every `/api/v1` resource shares: pagination, bounded ids and filters, timestamps.

Every listing answers ``{"items": [...], "total": N, "limit": L, "offset": O}``; `total`
counts every item that matches the filters, not only the page.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, TypeVar

from fastapi import HTTPException, Path, Query

T = TypeVar("T")

MAX_ID = 2**53  # past any real row; larger numbers would overflow the database's bigint
MAX_OFFSET = 1_000_000
MIN_YEAR, MAX_YEAR = 1970, 9000  # local-time arithmetic stays clear of datetime's ends

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page, 1 to 500.")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]
Filter = Annotated[str | None, Query(min_length=1, max_length=100)]
NameFilter = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")]
"""A filter on a configured name (a playbook, a check): letters, digits, '_', '.', '-'."""
Name = Annotated[str, Path(min_length=1, max_length=100)]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def page(
    items: Sequence[T], limit: int, offset: int, render: Callable[[T], dict[str, Any]]
) -> dict[str, Any]:
    """One page of `items`, rendered, with the total before paging."""
    return {
        "items": [render(item) for item in items[offset : offset + limit]],
        "total": len(items),
        "limit": limit,
        "offset": offset,
    }


def stamp(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def require_year(value: datetime, what: str) -> datetime:
    """`value` when it is timezone-aware and between MIN_YEAR and MAX_YEAR, else 422."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise HTTPException(422, f"{what} needs a UTC offset, e.g. 2026-12-24T18:00:00+01:00")
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise HTTPException(422, f"{what} must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return value


def plain_text(value: str, what: str) -> str:
    """Free text without NUL or other control characters (PostgreSQL refuses NUL; no
    terminal, mail or page shows the others well); 422 otherwise."""
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise HTTPException(422, f"{what} contains NUL or other control characters")
    return value
