"""The layers import one way: an allow-list of which part of the code may import which.

The job pipeline runs one way - services (submit) -> workers (run) -> events -> pages - and the
engine, providers and storage know nothing of services, the database or workers, so a tool or
a backend can be used from the command line, a benchmark or a worker process alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("pixora_ui", "pages", "components", "db")
# Any layer may import these: the package itself (its version), settings, logging, the root of every
# error a person may see, and the digest of secret tokens.
BASE = {"pixora_ui", "pixora_ui.settings", "pixora_ui.logs", "pixora_ui.errors", "pixora_ui.tokens"}
ENTRY_POINTS = {"pixora_ui.cli", "pixora_ui.commands", "pixora_ui.server", "pixora_ui.lifecycle"}

# layer -> the internal layers it may import (besides itself and BASE). Every package and top-level
# module of the code is a key here or in BASE: a new one fails the completeness test until placed.
# Read from the bottom up: the engine knows nothing; each layer above knows only what is below it.
ALLOWED: dict[str, set[str]] = {
    "db": set(),
    "pixora_ui.storage": set(),
    "pixora_ui.engine": set(),
    "pixora_ui.mail": set(),
    # `main.py bench` and `main.py edit`: the engine's tools from the command line.
    "pixora_ui.bench": {"pixora_ui.engine"},
    "pixora_ui.batch": {"pixora_ui.engine"},
    # ImageKit-style URL transformations: parsing, rendering and caching on top of the engine.
    "pixora_ui.transform": {"pixora_ui.engine"},
    "pixora_ui.providers": {"pixora_ui.engine", "pixora_ui.storage"},
    "pixora_ui.services": {
        "db",
        "pixora_ui.engine",
        "pixora_ui.transform",
        "pixora_ui.providers",
        "pixora_ui.storage",
        "pixora_ui.mail",  # team invitations
    },
    "pixora_ui.workers": {"db", "pixora_ui.engine", "pixora_ui.providers", "pixora_ui.storage", "pixora_ui.services"},
    # Stripe sits above the services: it moves a user's plan through services.plans and teams.
    "pixora_ui.billing": {"db", "pixora_ui.services", "pixora_ui.mail"},
    # Accounts: deleting one cancels its subscription, so auth sits above billing.
    "pixora_ui.auth": {"db", "pixora_ui.services", "pixora_ui.billing", "pixora_ui.mail"},
    # The public API: keys belong to accounts (auth), edits go through the services.
    "pixora_ui.api": {
        "db",
        "pixora_ui.auth",
        "pixora_ui.engine",
        "pixora_ui.providers",
        "pixora_ui.services",
        "pixora_ui.storage",
    },
    # Product copy (plans, tool cards) for the landing page, the billing page and the upgrade dialog.
    "pixora_ui.catalog": {"db", "pixora_ui.services"},
    # HTTP routes outside the pages: media, uploads, webhooks, sign-in callbacks, the API's mount point.
    "pixora_ui.web": {
        "db",
        "pixora_ui.api",
        "pixora_ui.auth",
        "pixora_ui.billing",
        "pixora_ui.engine",
        "pixora_ui.providers",
        "pixora_ui.services",
        "pixora_ui.storage",
        "pixora_ui.transform",
        "pixora_ui.workers",
    },
    # UI parts: they call the services they show (API keys, billing) and share the upload limits
    # the upload route enforces (pixora_ui.web.body_limit).
    "components": {
        "pixora_ui.api",
        "pixora_ui.auth",
        "pixora_ui.billing",
        "pixora_ui.catalog",
        "pixora_ui.engine",
        "pixora_ui.services",
        "pixora_ui.web",
    },
    "pages": {"components", "pixora_ui.auth", "pixora_ui.billing", "pixora_ui.catalog", "pixora_ui.services"},
}
# Entry points (the command line, the server, start-up and shutdown) may import every layer.
for _entry in ENTRY_POINTS:
    ALLOWED[_entry] = {layer for layer in ALLOWED if layer != _entry} | (ENTRY_POINTS - {_entry})

NEVER = {
    "pixora_ui.engine": {"pixora_ui.services", "db", "pixora_ui.workers", "pixora_ui.web"},
    "pixora_ui.providers": {"pixora_ui.services", "db", "pixora_ui.workers", "pixora_ui.web"},
    "pixora_ui.storage": {"pixora_ui.services", "db", "pixora_ui.workers", "pixora_ui.web"},
    "pixora_ui.transform": {"pixora_ui.services", "db", "pixora_ui.workers", "pixora_ui.web"},
    # The domain services never reach up to accounts, payments, HTTP or the UI.
    "pixora_ui.services": {
        "pixora_ui.auth",
        "pixora_ui.billing",
        "pixora_ui.api",
        "pixora_ui.web",
        "pixora_ui.workers",
        "pages",
        "components",
    },
    "pixora_ui.auth": {"pixora_ui.api", "pixora_ui.web", "pages", "components"},
    "pixora_ui.billing": {"pixora_ui.auth", "pixora_ui.api", "pixora_ui.web", "pages", "components"},
}


def _layer_of_module(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] == "pixora_ui":
        return "pixora_ui" if len(parts) == 1 or parts[1] == "__version__" else f"pixora_ui.{parts[1]}"
    return parts[0] if parts[0] in ROOTS else None


def _layer_of_file(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return _layer_of_module(".".join(parts)) or ""


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _files_of(layer: str) -> list[Path]:
    package = REPO / Path(*layer.split("."))
    return sorted(package.rglob("*.py")) if package.is_dir() else [package.with_suffix(".py")]


def _violations(layer: str) -> list[str]:
    found = []
    for path in _files_of(layer):
        if "migrations" in path.parts:
            continue
        for name in _imports(path):
            target = _layer_of_module(name)
            if target is None or target == layer or target in BASE:
                continue
            if target not in ALLOWED[layer] or target in NEVER.get(layer, set()):
                found.append(f"{path.relative_to(REPO)} imports {name}")
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_what_it_is_allowed_to(layer: str) -> None:
    assert _violations(layer) == []


def test_every_part_of_the_code_has_a_layer() -> None:
    """The list is complete: a new package or top-level module is checked from its first commit."""
    parts = set()
    for root in ROOTS:
        for path in (REPO / root).rglob("*.py"):
            if "migrations" not in path.parts:
                parts.add(_layer_of_file(path))
    assert parts - set(ALLOWED) - BASE == set()


def test_the_forbidden_edges_are_not_allowed_by_mistake() -> None:
    for layer, never in NEVER.items():
        assert not ALLOWED[layer] & never, f"{layer} may not import {ALLOWED[layer] & never}"


def test_the_checker_sees_a_forbidden_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check can fail: a provider importing the job service is reported."""
    fake = tmp_path / "pixora_ui" / "providers"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text("from pixora_ui.services.jobs import registry\nimport db.models\n")
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    assert _violations("pixora_ui.providers") == [
        "pixora_ui/providers/bad.py imports pixora_ui.services.jobs",
        "pixora_ui/providers/bad.py imports pixora_ui.services.jobs.registry",
        "pixora_ui/providers/bad.py imports db.models",
    ]


def test_jobs_runner_and_providers_form_no_import_circle() -> None:
    """The modules of the pipeline import each other one way only (also lazily, inside functions)."""
    modules = {
        "jobs": REPO / "pixora_ui/services/jobs.py",
        "job_events": REPO / "pixora_ui/services/job_events.py",
        "job_execution": REPO / "pixora_ui/services/job_execution.py",
        "runner": REPO / "pixora_ui/workers/runner.py",
        "local": REPO / "pixora_ui/providers/local.py",
        "router": REPO / "pixora_ui/providers/router.py",
    }
    dotted = {
        "jobs": "pixora_ui.services.jobs",
        "job_events": "pixora_ui.services.job_events",
        "job_execution": "pixora_ui.services.job_execution",
        "runner": "pixora_ui.workers.runner",
        "local": "pixora_ui.providers.local",
        "router": "pixora_ui.providers.router",
    }
    edges = {
        name: {
            other
            for other, module in dotted.items()
            if other != name and any(i == module or i.startswith(module + ".") for i in _imports(path))
        }
        for name, path in modules.items()
    }
    assert "jobs" in edges["job_execution"] and "job_events" in edges["jobs"]  # the check sees real edges

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        return any(nxt == goal or (nxt not in seen and reaches(nxt, goal, seen | {nxt})) for nxt in edges[start])

    circles = [name for name in edges if reaches(name, name, {name})]
    assert circles == [], f"import circle through {circles}: {edges}"
