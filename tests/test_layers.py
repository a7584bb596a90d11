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
# pixora_ui.errors is the root of every error a person may see: any layer may raise one.
BASE = {"pixora_ui", "pixora_ui.settings", "pixora_ui.logs", "pixora_ui.catalog", "pixora_ui.errors"}

# layer -> internal layers it may import (besides itself and BASE)
ALLOWED: dict[str, set[str]] = {
    "db": set(),
    "pixora_ui.storage": set(),
    "pixora_ui.engine": set(),
    # `main.py bench`: times the engine's tools; nothing imports it but its command.
    "pixora_ui.bench": {"pixora_ui.engine"},
    # ImageKit-style URL transformations: parsing, rendering and caching on top of the engine.
    "pixora_ui.transform": {"pixora_ui.engine"},
    "pixora_ui.providers": {"pixora_ui.engine", "pixora_ui.storage"},
    "pixora_ui.services": {
        "db",
        "pixora_ui.engine",
        "pixora_ui.transform",
        "pixora_ui.providers",
        "pixora_ui.storage",
        "pixora_ui.auth",
        "pixora_ui.mail",  # team invitations; billing's payment-failed notice also sends through it
    },
    "pixora_ui.workers": {"db", "pixora_ui.engine", "pixora_ui.providers", "pixora_ui.storage", "pixora_ui.services"},
    # Stripe sits above the services: it moves a user's plan through services.plans and teams.
    "pixora_ui.billing": {"db", "pixora_ui.services", "pixora_ui.mail"},
}
NEVER = {
    "pixora_ui.engine": {"pixora_ui.services", "db", "pixora_ui.workers", "pixora_ui.web"},
    "pixora_ui.providers": {"pixora_ui.services", "db", "pixora_ui.workers", "pixora_ui.web"},
    "pixora_ui.storage": {"pixora_ui.services", "db", "pixora_ui.workers", "pixora_ui.web"},
    "pixora_ui.transform": {"pixora_ui.services", "db", "pixora_ui.workers", "pixora_ui.web"},
}


def _layer_of_module(name: str) -> str | None:
    parts = name.split(".")
    if parts[0] == "pixora_ui":
        return "pixora_ui" if len(parts) == 1 else f"pixora_ui.{parts[1]}"
    return parts[0] if parts[0] in {"db", "pages", "components"} else None


def _layer_of_file(path: Path) -> str:
    relative = path.relative_to(REPO).with_suffix("")
    return _layer_of_module(".".join(relative.parts)) or ""


def _imports(path: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names += [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def _violations(layer: str) -> list[str]:
    folder = REPO / Path(*layer.split("."))
    found = []
    for path in sorted(folder.rglob("*.py")):
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
