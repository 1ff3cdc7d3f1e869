"""The disk kind's pure parts: df-style arithmetic, defaults and config validation."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from opsbook.checks.disk import KIND, usage
from opsbook.config.loader import load_config_text
from opsbook.config.schema import config_json_schema
from opsbook.errors import ConfigError

DOC = Path(__file__).parents[3] / "docs" / "checks" / "disk.md"


def statvfs(
    blocks: int, bfree: int, bavail: int, files: int = 0, ffree: int = 0, favail: int = 0
) -> os.statvfs_result:
    return os.statvfs_result((4096, 4096, blocks, bfree, bavail, files, ffree, favail, 0, 255))


def test_used_pct_excludes_reserved_blocks_like_df() -> None:
    # 1000 blocks, 100 used, 900 free of which 50 are reserved for root
    samples = usage(statvfs(1000, 900, 850, files=100, ffree=25, favail=25))
    assert samples["used_pct"] == pytest.approx(100 / 950 * 100)
    assert samples["free_bytes"] == 850 * 4096
    assert samples["total_bytes"] == 1000 * 4096
    assert samples["inodes_used_pct"] == 75


def test_full_for_users_is_100_pct_even_with_root_reserve() -> None:
    assert usage(statvfs(1000, 50, 0))["used_pct"] == 100


def test_filesystems_without_inode_counts_have_no_inode_sample() -> None:
    samples = usage(statvfs(0, 0, 0))  # /proc, sysfs
    assert samples == {"used_pct": 0.0, "free_bytes": 0.0, "total_bytes": 0.0}


def test_runbook_default_thresholds_and_sample_names() -> None:
    # practice-app: "Disk Usage: Warning > 80%, Critical > 90%"
    assert KIND.default_thresholds == {"used_pct": {"warning": "> 80", "critical": "> 90"}}
    (check,) = load_config_text("project: {name: t}\nchecks:\n  - name: d\n    disk: {}\n").checks
    assert check.kind_info.samples(check.spec) == {
        "used_pct",
        "free_bytes",
        "total_bytes",
        "inodes_used_pct",
    }
    assert check.spec.path == "/"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "block,path,message",
    [
        ("    disk: {path: ''}\n", "checks[0].disk.path", "must not be empty"),
        ("    disk: {path: [a]}\n", "checks[0].disk.path", "expected a string"),
        ("    disk: {mount: /}\n", "checks[0].disk.mount", ""),
        (
            "    disk: {}\n    thresholds: {used_percent: {warning: 80}}\n",
            "checks[0].thresholds.used_percent",
            "did you mean 'used_pct'?",
        ),
        (
            "    disk: {}\n    thresholds: {used_pct: {warning: 80%}}\n",
            "checks[0].thresholds.used_pct.warning",
            "expected a bound",
        ),
    ],
)
def test_config_errors(block: str, path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(f"project: {{name: t}}\nchecks:\n  - name: d\n{block}")
    assert [i.path for i in caught.value.issues] == [path]
    assert message in caught.value.issues[0].message


def test_doc_example_validates_with_loader_and_schema() -> None:
    schema = config_json_schema()
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert blocks
    for block in blocks:
        jsonschema.validate(yaml.safe_load(block), schema)
        assert any(c.kind == "disk" for c in load_config_text(block).checks)
