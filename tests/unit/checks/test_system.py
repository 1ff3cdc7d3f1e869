"""The system kind's config: cpu_sample validation, runbook defaults, sample names."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml

from opsbook.checks.system import KIND, SystemCheck
from opsbook.config.loader import load_config_text
from opsbook.config.schema import config_json_schema
from opsbook.errors import ConfigError

DOC = Path(__file__).parents[3] / "docs" / "checks" / "system.md"


def test_defaults() -> None:
    cfg = SystemCheck()
    assert cfg.cpu_sample == timedelta(milliseconds=500)
    assert cfg.timeout == timedelta(seconds=10)


def test_runbook_default_thresholds() -> None:
    # practice-app: "CPU Usage: Warning > 70%, Critical > 85%",
    # "Memory Usage: Warning > 80%, Critical > 90%"
    assert KIND.default_thresholds == {
        "cpu_pct": {"warning": "> 70", "critical": "> 85"},
        "memory_used_pct": {"warning": "> 80", "critical": "> 90"},
    }
    (check,) = load_config_text("project: {name: t}\nchecks:\n  - name: s\n    system: {}\n").checks
    effective = check.effective_thresholds()
    assert str(effective["cpu_pct"].warning) == "> 70"
    assert str(effective["memory_used_pct"].critical) == "> 90"


def test_sample_names() -> None:
    assert KIND.samples(SystemCheck()) == {
        "cpu_pct",
        "memory_used_pct",
        "swap_used_pct",
        "load1",
        "load5",
        "load15",
        "load1_per_cpu",
    }


@pytest.mark.parametrize(
    "block,path,message",
    [
        ("    system: {cpu_sample: 10s}\n", "checks[0].system", "must be shorter than timeout"),
        (
            "    system: {cpu_sample: 2s, timeout: 1s}\n",
            "checks[0].system",
            "cpu_sample (2s) must be shorter than timeout (1s)",
        ),
        ("    system: {cpu_sample: 0s}\n", "checks[0].system.cpu_sample", "longer than 0s"),
        ("    system: {cpu_sample: 1}\n", "checks[0].system.cpu_sample", "add a unit"),
        ("    system: {cpus: 4}\n", "checks[0].system.cpus", ""),
        (
            "    system: {}\n    thresholds: {memory_pct: {warning: 80}}\n",
            "checks[0].thresholds.memory_pct",
            "did you mean 'memory_used_pct'?",
        ),
    ],
)
def test_config_errors(block: str, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(f"project: {{name: t}}\nchecks:\n  - name: s\n{block}")
    assert [i.path for i in caught.value.issues] == [path]
    assert message in caught.value.issues[0].message


def test_short_timeout_with_shorter_sample_is_fine() -> None:
    cfg = SystemCheck.model_validate({"cpu_sample": "100ms", "timeout": "1s"})
    assert cfg.cpu_sample < cfg.timeout


def test_doc_example_validates_with_loader_and_schema() -> None:
    schema = config_json_schema()
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert blocks
    for block in blocks:
        jsonschema.validate(yaml.safe_load(block), schema)
        assert any(c.kind == "system" for c in load_config_text(block).checks)
