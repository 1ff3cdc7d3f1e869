"""Finding demo.yaml: the packaged copy in a wheel, else the checkout's examples/."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import opsbook
from opsbook.config.loader import load_config
from opsbook.demo import PACKAGED_CONFIG, SOURCE_CONFIG, demo_config_path
from opsbook.errors import OpsbookError

REPO = Path(__file__).resolve().parents[3]


def test_wheel_layout_uses_the_packaged_copy(tmp_path: Path) -> None:
    package = tmp_path / "site-packages" / "opsbook"
    (package / "demo").mkdir(parents=True)
    (package / "demo" / "demo.yaml").write_text("project: {name: packaged}\n")
    assert demo_config_path(package) == package / "demo" / "demo.yaml"


def test_checkout_layout_uses_examples(tmp_path: Path) -> None:
    package = tmp_path / "src" / "opsbook"
    (package / "demo").mkdir(parents=True)
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "demo.yaml").write_text("project: {name: source}\n")
    assert demo_config_path(package) == tmp_path / "examples" / "demo.yaml"


def test_packaged_copy_wins_over_a_checkout(tmp_path: Path) -> None:
    package = tmp_path / "src" / "opsbook"
    (package / "demo").mkdir(parents=True)
    (package / "demo" / "demo.yaml").write_text("project: {name: packaged}\n")
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "demo.yaml").write_text("project: {name: source}\n")
    assert demo_config_path(package) == package / "demo" / "demo.yaml"


def test_missing_config_names_both_places(tmp_path: Path) -> None:
    package = tmp_path / "src" / "opsbook"
    package.mkdir(parents=True)
    with pytest.raises(OpsbookError) as caught:
        demo_config_path(package)
    assert str(package / "demo" / "demo.yaml") in str(caught.value)
    assert str(tmp_path / "examples" / "demo.yaml") in str(caught.value)


def test_this_installation_finds_a_valid_demo_config() -> None:
    path = demo_config_path()
    assert path.is_file()
    installed = Path(opsbook.__file__).resolve().parent / PACKAGED_CONFIG
    assert path in (installed, REPO / SOURCE_CONFIG)
    config = load_config(path, environ={})
    assert config.project.name == "demo"


def test_wheel_build_puts_the_config_where_the_lookup_expects_it() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    included = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"]
    assert included[SOURCE_CONFIG.as_posix()] == f"opsbook/{PACKAGED_CONFIG.as_posix()}"
    assert (REPO / SOURCE_CONFIG).is_file()
