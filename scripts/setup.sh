#!/usr/bin/env bash
# Sets up Pixora in this checkout: virtual environment (.venv), packages, model weights, database.
# Idempotent: run it again after pulling changes. Pass --dev to add the test and lint tools.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

say() { printf '\033[1;35m==>\033[0m %s\n' "$*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  echo "Pixora needs Python 3.11 or newer (found: $("$PY" --version 2>&1 || echo none))." >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "Pixora's model installer needs npm (Node.js): apt-get install -y nodejs npm" >&2
  exit 1
fi
if ! "$PY" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  say "Installing python3-venv"
  as_root apt-get update -qq && as_root apt-get install -y -qq python3-venv >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then
  say "Creating the virtual environment in .venv"
  "$PY" -m venv .venv
fi
# Exactly the locked set: every package pinned with its hashes in requirements/*.txt (exported from
# uv.lock by `make lock`), installed with --no-deps so no resolver runs and nothing newer slips in.
lock=requirements/runtime.txt
[[ $dev -eq 1 ]] && lock=requirements/dev.txt
stamp=.venv/.pixora-lock
if [[ ! -f $stamp ]] || ! cmp -s "$lock" "$stamp"; then
  say "Installing the locked Python packages ($lock)"
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-input \
    --require-hashes --no-deps --only-binary :all: -r "$lock"
  cp "$lock" "$stamp"
else
  say "Python packages match $lock"
fi

[[ -f .env ]] || { say "Creating .env from .env.example"; cp .env.example .env; }

say "Installing model weights (verified by SHA-256)"
.venv/bin/python main.py models install
say "Migrating the database"
.venv/bin/python main.py migrate
