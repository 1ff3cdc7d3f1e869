"""The demo: a local imitation of a production API (`target`) and the checks that watch it.

`opsbook demo` starts the service from `opsbook.demo.target`, points the checks of
``demo.yaml`` at it and prints the health table every few seconds. This package module
only locates that config file; it does not import the service, so
``python -m opsbook.demo.target`` runs without a double import.
"""

from __future__ import annotations

from pathlib import Path

from opsbook.errors import OpsbookError

DEMO_CONFIG_NAME = "demo.yaml"
# Where the wheel puts examples/demo.yaml (pyproject: [tool.hatch...force-include]).
PACKAGED_CONFIG = Path("demo") / DEMO_CONFIG_NAME
# Where it lives in a source checkout, relative to the repository root.
SOURCE_CONFIG = Path("examples") / DEMO_CONFIG_NAME


def demo_config_path(package_dir: Path | None = None) -> Path:
    """The demo's config: the packaged copy when installed, else the checkout's examples/.

    `package_dir` is the directory of the `opsbook` package (default: this installation's);
    a source checkout has it at ``<repo>/src/opsbook``.
    """
    package = package_dir or Path(__file__).resolve().parent.parent
    candidates = [package / PACKAGED_CONFIG, package.parent.parent / SOURCE_CONFIG]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates)
    raise OpsbookError(f"cannot find the demo config; looked at {looked}")
