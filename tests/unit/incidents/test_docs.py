"""docs/postmortems.md stays true: the defaults it shows are the packaged ones, its
override example validates, and every variable, section and metric it names exists."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from opsbook.incidents.communication import (
    CommunicationTemplates,
    default_template,
    render_status_update,
    status_context,
)
from opsbook.incidents.metrics import IncidentMetrics
from opsbook.incidents.postmortem import NOTE_SECTIONS
from tests.unit.incidents.scenario import at, incident

DOC = (Path(__file__).parents[3] / "docs" / "postmortems.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC, re.DOTALL)


def test_the_documented_defaults_are_the_packaged_ones() -> None:
    assert blocks("jinja") == [default_template(k) for k in ("initial", "update", "resolution")]


def test_the_override_example_validates_and_renders() -> None:
    [example] = blocks("yaml")
    section: dict[str, Any] = yaml.safe_load(example)["incidents"]["templates"]
    templates = CommunicationTemplates.model_validate(section)
    _, body = render_status_update(
        "update", incident(), "Rolling back.", now=at("10:24:00"), next_update_in=None,
        eta="10 minutes", templates=templates,
    )  # fmt: skip
    assert body.startswith(":rotating_light: [P1] API Service Down is resolved (45m 10s so far)")
    assert "note:" not in body


def test_every_template_variable_is_documented_and_nothing_else() -> None:
    table = DOC.split("### Variables")[1].split("\n## ")[0]
    documented = re.findall(r"^\| `(\w+)` \|", table, re.M)
    context = status_context("update", incident(), "", now=at("10:24:00"))
    assert documented == list(context)


def test_every_note_section_is_documented() -> None:
    for key in NOTE_SECTIONS:
        assert f"`{key}`" in DOC
    assert "--section root_cause" in DOC


def test_the_metrics_are_defined() -> None:
    for name in ("TTD", "TTA", "TTM", "TTR", "MTTA", "MTTR"):
        assert f"**{name}**" in DOC
    fields = IncidentMetrics.__dataclass_fields__
    assert {"time_to_detect", "time_to_acknowledge", "time_to_mitigate", "time_to_resolve"} <= set(
        fields
    )
