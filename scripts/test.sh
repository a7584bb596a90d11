#!/usr/bin/env bash
# The second README command: install the test dependencies and run the whole suite
# (lint, format, types, then pytest on SQLite, PostgreSQL and headless Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1;35m==>\033[0m %s\n' "$*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

if ! command -v chromium >/dev/null 2>&1; then
  say "Installing Chromium for the browser tests (Debian package)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

bash scripts/setup.sh --dev

# The PostgreSQL tests use the server on 127.0.0.1:5432 (database "test"); start it if it is stopped.
if ! .venv/bin/python -c 'import psycopg; psycopg.connect("host=127.0.0.1 dbname=test user=root", connect_timeout=3).close()' 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    say "Starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  fi
fi

say "ruff check"
.venv/bin/ruff check .
say "ruff format --check"
.venv/bin/ruff format --check .
say "mypy"
.venv/bin/mypy
say "pytest"
.venv/bin/python -m pytest "$@"
