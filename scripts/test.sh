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

say "lock is current (uv.lock matches pyproject.toml, requirements/*.txt match uv.lock)"
.venv/bin/uv lock --check --offline --quiet
for extra in "" "--extra dev"; do
  file=requirements/runtime.txt; [[ -n $extra ]] && file=requirements/dev.txt
  # shellcheck disable=SC2086
  if ! diff -q <(.venv/bin/uv export --frozen --quiet --format requirements-txt --no-emit-project --no-header $extra) "$file" >/dev/null; then
    echo "$file is out of date with uv.lock: run 'make lock'" >&2
    exit 1
  fi
done

say "ruff check"
.venv/bin/ruff check .
say "ruff format --check"
.venv/bin/ruff format --check .
say "mypy"
.venv/bin/mypy
say "pytest"
.venv/bin/python -m pytest "$@"
