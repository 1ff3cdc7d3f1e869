#!/usr/bin/env bash
# Set up opsbook and run the demo: a small local web service, checked by opsbook.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/opsbook demo "$@"
