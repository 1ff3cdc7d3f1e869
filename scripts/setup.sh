#!/usr/bin/env bash
# Prepare this checkout: system packages the tests use (when run as root on Debian),
# local PostgreSQL and Redis if they are installed but stopped, and the Python venv.
#   scripts/setup.sh          runtime only
#   scripts/setup.sh --dev    plus test/lint tools and test-only system packages
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1

# Debian packages: monitoring-plugins-basic provides real Nagios plugins for the command check;
# prometheus is the real server the prometheus check's query mode is tested against;
# prometheus-alertmanager and prometheus-blackbox-exporter complete the peer stack that
# bench/detection.py (and its smoke test) compares opsbook's detection latency with.
packages=()
if [ "$dev" = 1 ]; then
  command -v /usr/lib/nagios/plugins/check_dummy >/dev/null 2>&1 || packages+=(monitoring-plugins-basic)
  command -v prometheus >/dev/null 2>&1 || packages+=(prometheus)
  command -v prometheus-alertmanager >/dev/null 2>&1 || packages+=(prometheus-alertmanager)
  command -v prometheus-blackbox-exporter >/dev/null 2>&1 || packages+=(prometheus-blackbox-exporter)
  # wrk: the ceiling row of bench/checks.py, which the bench smoke test runs.
  command -v wrk >/dev/null 2>&1 || packages+=(wrk)
  # chromium: the real browser the dashboard's end-to-end tests (tests/e2e) drive through
  # Playwright; Playwright's own browser downloads are not used.
  [ -x /usr/bin/chromium ] || packages+=(chromium)
fi
if [ "${#packages[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing system packages: ${packages[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  else
    echo "note: not root or not Debian; some tests need: ${packages[*]}" >&2
  fi
fi

# Local services, if installed but not running.
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi
if command -v redis-server >/dev/null 2>&1 && ! (command -v redis-cli >/dev/null && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1); then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip >/dev/null
if [ "$dev" = 1 ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
