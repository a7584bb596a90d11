"""`main.py edit PHOTOS... --tool T [--param k=v ...] -o OUT`: run one tool over many photos.

Inputs are files, folders (their images, not recursive) and glob patterns. Each photo is decoded
by content with the upload limits, run through the registry's tool and written next to the
others in OUT (or to OUT itself for a single input named with an extension). A bad photo is
reported and skipped; the exit status is non-zero when any photo failed.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO

from pixora_ui.engine.ops import imageio
from pixora_ui.engine.tools.catalog import get_registry
from pixora_ui.engine.tools.registry import ImageArray, Tool, ToolError
from pixora_ui.errors import PixoraError
from pixora_ui.settings import get_settings

log = logging.getLogger("pixora.batch")

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
)
_SUFFIX = {"png": ".png", "jpeg": ".jpg", "webp": ".webp"}


class BatchError(PixoraError):
    """The batch cannot start (unknown tool, bad parameter, no inputs); one sentence."""


def expand_inputs(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """Files from paths, folders and globs, in order without duplicates; and the inputs matching nothing."""
    found: dict[Path, None] = {}
    missing: list[str] = []
    for item in inputs:
        path = Path(item).expanduser()
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_file() and child.suffix.lower() in IMAGE_SUFFIXES:
                    found.setdefault(child, None)
        elif path.is_file():
            found.setdefault(path, None)
        elif glob.has_magic(item):
            matches = [Path(m) for m in sorted(glob.glob(os.path.expanduser(item), recursive=True))]
            files = [m for m in matches if m.is_file()]
            if not files:
                missing.append(item)
            for match in files:
                found.setdefault(match, None)
        else:
            missing.append(item)
    return list(found), missing


def parse_params(raw_params: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in raw_params:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise BatchError(f"Parameter {item!r} must look like name=value")
        params[key.strip()] = value.strip()
    return params


def _read(path: Path) -> ImageArray:
    settings = get_settings()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise imageio.ImageInputError(f"The file cannot be read ({exc.strerror}).", code="not_image") from exc
    return imageio.decode(data, max_bytes=settings.max_upload_bytes, max_pixels=settings.max_pixels).pixels


def _resolve_image_params(tool: Tool, params: dict[str, Any]) -> dict[str, Any]:
    """Parameters of kind "image" are file paths on the command line: decode them once."""
    resolved = dict(params)
    for name in tool.image_params():
        value = resolved.get(name)
        if isinstance(value, str) and value:
            path = Path(value).expanduser()
            try:
                resolved[name] = _read(path)
            except imageio.ImageInputError as exc:
                raise BatchError(f"{tool.param(name).label} {value}: {exc}") from exc
    return resolved


def start_preload(tool: Tool, params: dict[str, Any]) -> threading.Thread | None:
    """Load the tool's models in a thread while the caller reads and decodes the first photo.

    The tool's run waits for a model still loading (its session is created behind a lock); a
    failure here is left to that run to report.
    """
    preload = tool.preload
    if preload is None:
        return None

    def load() -> None:
        try:
            preload(params)
        except Exception:
            log.debug("preloading %s failed; its run will report it", tool.name, exc_info=True)

    thread = threading.Thread(target=load, name=f"pixora-preload-{tool.name}", daemon=True)
    thread.start()
    return thread


def _output_path(source: Path, output: Path, single_file: bool, fmt: str) -> Path:
    if single_file:
        return output
    return output / (source.stem + _SUFFIX[fmt])


def _choose_format(requested: str | None, output: Path, single_file: bool, hint: str | None, image: ImageArray) -> str:
    if requested:
        return requested
    if single_file:
        by_name = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp"}.get(output.suffix.lower())
        if by_name:
            return by_name
    if hint:
        return hint
    return "png" if image.shape[2] == 4 else "jpeg"


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = round(width * done / max(1, total))
    return "[" + "#" * filled + "-" * (width - filled) + f"] {done}/{total}"


def run_batch(
    *,
    inputs: list[str],
    tool: str,
    raw_params: list[str],
    output: Path,
    output_format: str | None,
    skip_existing: bool,
    stream: TextIO | None = None,
) -> int:
    """Run `tool` on every input; returns the process exit status (0 only when every photo worked)."""
    out = stream or sys.stderr
    registry = get_registry()
    try:
        if tool not in registry:
            names = ", ".join(sorted(t.name for t in registry.all()))
            raise BatchError(f"Unknown tool {tool!r}; choose from {names}")
        chosen = registry.get(tool)
        available, reason = chosen.availability()
        if not available:
            raise BatchError(f"{chosen.label} is not available: {reason}")
        params = chosen.validate(parse_params(raw_params))
        files, missing = expand_inputs(inputs)
        if not files:
            raise BatchError("No photos found in " + ", ".join(inputs))
        start_preload(chosen, params)  # the models load while the first photo is read and decoded
        params = _resolve_image_params(chosen, params)
    except (BatchError, ToolError) as exc:
        print(f"error: {exc}", file=out)
        return 2
    for item in missing:
        print(f"warning: {item}: no such file", file=out)
    single_file = len(files) == 1 and output.suffix.lower() in {".png", ".jpg", ".jpeg", ".webp"}
    if single_file:
        output.parent.mkdir(parents=True, exist_ok=True)
    else:
        output.mkdir(parents=True, exist_ok=True)
    quality = get_settings().jpeg_quality
    ok = skipped = 0
    failed: list[tuple[Path, str]] = []
    started = time.monotonic()
    for index, source in enumerate(files):
        prefix = f"{_bar(index, len(files))} {source.name}"
        if skip_existing:
            formats = [output_format] if output_format else ["png", "jpeg", "webp"]
            candidates = [output] if single_file else [_output_path(source, output, False, f) for f in formats]
            hit = next((p for p in candidates if p.exists()), None)
            if hit is not None:
                skipped += 1
                print(f"{prefix}: skipped, {hit.name} exists", file=out)
                continue
        t0 = time.monotonic()
        try:
            image = _read(source)
            result = chosen.run(image, params, lambda _f, _m: None, lambda: False)
            fmt = _choose_format(output_format, output, single_file, result.format_hint, result.image)
            data = imageio.encode(result.image, fmt, int(result.extras.get("quality", quality)))  # type: ignore[arg-type]
            target = _output_path(source, output, single_file, fmt)
            tmp = target.with_name(f".{target.name}.part")
            tmp.write_bytes(data)
            tmp.replace(target)
        except (imageio.ImageInputError, ToolError, OSError, ValueError) as exc:
            failed.append((source, str(exc)))
            print(f"{prefix}: FAILED: {exc}", file=out)
            continue
        ok += 1
        extra = f" ({result.note})" if result.note else ""
        print(f"{prefix}: {target.name} in {time.monotonic() - t0:.1f} s{extra}", file=out)
    total = time.monotonic() - started
    print(
        f"{_bar(len(files), len(files))} done in {total:.1f} s: {ok} written, {skipped} skipped, {len(failed)} failed",
        file=out,
    )
    for source, message in failed:
        print(f"  failed: {source}: {message}", file=out)
    return 1 if failed else 0
