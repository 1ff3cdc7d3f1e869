#!/usr/bin/env bash
# Set up everything the tests need, then lint, type-check and run the whole test suite.
# Extra arguments go to pytest (e.g. scripts/test.sh tests/unit -x).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
. .venv/bin/activate
ruff check src tests bench
ruff format --check src tests bench
mypy src
pytest "$@"
