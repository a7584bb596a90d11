"""The virtual environment holds exactly the locked set: every pin of requirements/dev.txt that
applies here is installed at that version, and nothing unlocked is installed beside it."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.markers import Marker
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parents[1] / "requirements" / "dev.txt"
_PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
# Installed by the venv itself (or left by an old editable install), not by the lock.
_VENV_OWN = {"pip", "setuptools", "wheel", "pixora"}  # pixora: a stale egg-info of an old editable install


def _locked_here() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        match = _PIN.match(line)
        if not match:
            continue
        name, version, marker = match.groups()
        if marker and not Marker(marker).evaluate():
            continue
        pins[canonicalize_name(name)] = version
    return pins


def test_every_locked_package_is_installed_at_its_pinned_version() -> None:
    pins = _locked_here()
    assert len(pins) > 100
    wrong = {}
    for name, version in pins.items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed != version:
            wrong[name] = f"locked {version}, installed {installed}"
    assert wrong == {}


def test_nothing_outside_the_lock_is_installed() -> None:
    pins = _locked_here()
    installed = {canonicalize_name(dist.metadata["Name"]) for dist in metadata.distributions()}
    assert installed - pins.keys() - _VENV_OWN == set()
