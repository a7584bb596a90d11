#!/usr/bin/env bash
# The first README command: set everything up on a fresh machine, then start the studio.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\033[1;35m==>\033[0m Pixora is starting on http://localhost:%s\n' "${PORT:-8080}"
exec .venv/bin/python main.py serve "$@"
