#!/usr/bin/env bash
# Re-resolves the dependencies on purpose (`make lock`): uv.lock from pyproject.toml, then the
# hash-pinned requirement files that scripts/setup.sh and the Dockerfile install with plain pip.
# Pass uv's own flags through, e.g. `bash scripts/lock.sh --upgrade-package nicegui` or `--upgrade`.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.9  # keep equal to [tool.uv] required-version and the dev pin in pyproject.toml
if [[ -x .venv/bin/uv ]] && [[ "$(.venv/bin/uv --version)" == "uv $UV_VERSION"* ]]; then
  uv=.venv/bin/uv
elif command -v uv >/dev/null 2>&1 && [[ "$(uv --version)" == "uv $UV_VERSION"* ]]; then
  uv=uv
else
  echo "make lock needs uv $UV_VERSION: run 'bash scripts/setup.sh --dev' first" >&2
  exit 1
fi

"$uv" lock "$@"
export_lock() { "$uv" export --frozen --quiet --format requirements-txt --no-emit-project --no-header "$@"; }
export_lock -o requirements/runtime.txt
export_lock --extra dev -o requirements/dev.txt
echo "Locked. Install it with 'bash scripts/setup.sh --dev', then run the suite with 'bash scripts/test.sh'."
