"""Shared pydantic base for config sections."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints


class Section(BaseModel):
    """Every config model is strict (unknown keys are errors) and immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Name = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"),
]
"""Identifiers users pick (check, service, severity names): safe in URLs, labels and logs."""
