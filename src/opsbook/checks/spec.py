"""The `checks:` entries of opsbook.yaml.

A check names exactly one kind block (``http:``, ``postgres:``, ...). The model is built
from the kind registry, so adding a kind is one module plus one registry line, and the
JSON Schema lists every kind for editors.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from pydantic import Field, create_model, model_validator

from opsbook.checks.base import CheckKind, ProbeConfig
from opsbook.checks.registry import KINDS
from opsbook.checks.thresholds import Threshold
from opsbook.config.base import Name, Section
from opsbook.config.types import Duration


class CheckBase(Section):
    name: Name
    service: Name | None = Field(
        default=None, description="The service this check belongs to (see `services`)."
    )
    description: str = ""
    interval: Duration = Field(
        default=timedelta(seconds=30), description="How often the engine runs the check."
    )
    labels: dict[Name, str] = Field(default_factory=dict)
    thresholds: dict[str, Threshold] = Field(
        default_factory=dict,
        description="Warning/critical bounds per sample name, e.g. latency_ms: {critical: 500}.",
    )
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _exactly_one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            present = [k for k in KINDS if data.get(k) is not None]
            if len(present) > 1:
                raise ValueError(f"a check has exactly one kind, found {', '.join(present)}")
            unknown = [k for k in data if k not in cls.model_fields]
            if not present and not unknown:  # unknown keys get their own, better message
                raise ValueError(f"a check needs one kind block: {', '.join(KINDS)}")
        return data

    @cached_property
    def kind(self) -> str:
        """The key of the kind block (looked up once: the runner asks on every run)."""
        for name in KINDS:
            if getattr(self, name, None) is not None:
                return name
        raise AssertionError("validated checks always have a kind")

    @property
    def spec(self) -> ProbeConfig:
        return cast(ProbeConfig, getattr(self, self.kind))

    @property
    def kind_info(self) -> CheckKind[Any]:
        return KINDS[self.kind]

    @property
    def timeout(self) -> timedelta:
        return self.spec.timeout

    def effective_thresholds(self) -> Mapping[str, Threshold]:
        """The kind's default thresholds overlaid with the ones the user set.

        Runs on every check run, so the defaults are models built once per kind and a
        check without thresholds of its own gets them as they are.
        """
        defaults = default_thresholds(self.kind_info)
        if not self.thresholds:
            return defaults
        return MappingProxyType({**defaults, **self.thresholds})


_DEFAULTS: dict[str, tuple[CheckKind[Any], Mapping[str, Threshold]]] = {}


def default_thresholds(kind: CheckKind[Any]) -> Mapping[str, Threshold]:
    """`kind.default_thresholds` as validated models, built on first use and then reused."""
    cached = _DEFAULTS.get(kind.name)
    if cached is None or cached[0] is not kind:
        models = {
            name: Threshold.model_validate(bounds)
            for name, bounds in kind.default_thresholds.items()
        }
        cached = (kind, MappingProxyType(models))
        _DEFAULTS[kind.name] = cached
    return cached[1]


def _build_check_model() -> type[CheckBase]:
    fields: dict[str, Any] = {
        name: (kind.config_model | None, Field(default=None, description=kind.summary))
        for name, kind in KINDS.items()
    }
    return create_model("Check", __base__=CheckBase, **fields)


if TYPE_CHECKING:
    Check = CheckBase
else:
    Check = _build_check_model()
