"""onnxruntime sessions whose optimised graph is cached next to the model, so a new process skips
the conversion and the graph optimisation.

Building ISNet's session from scratch costs a cold process 1.5–2.5 s on a 2-core machine: importing
`onnx` (with ml_dtypes, ~0.4–1.3 s), widening the fp16 graph to fp32 (~0.7 s, `onnx_fp32.py`) and
optimising the graph (~0.3 s). On first use the optimised graph is written by onnxruntime itself
(`SessionOptions.optimized_model_filepath`) to `<model>.<key>.optimized.onnx` beside the model;
later processes load that file with graph optimisation off (~0.2 s, the same outputs bit for bit).

- **Key.** The file name carries a digest of what shapes the graph: the optimisation level, the
  session config entries, the in-memory preparation (`prepare_tag`, e.g. the fp32 conversion and the
  outputs kept) and this CPU (the NCHWc layout chosen at level "all" depends on the vector width).
  The sidecar `<cache>.json` records the full key, including the model's SHA-256 and the onnxruntime
  version: a cache built from another model or another onnxruntime is stale and is rebuilt in place.
  Thread counts and memory settings change nothing in the graph and are not part of the key.
- **Model checksum.** Hashing 88 MB costs ~0.2 s, so the sidecar also records the model's size and
  modification time; while those are unchanged the recorded SHA-256 is used, otherwise the model is
  hashed again (and a cache from other weights is rebuilt).
- **Integrity.** The sidecar records the cache file's size and CRC-32 (ISA-L, ~20 ms for 177 MB);
  the file is read once, checked, and handed to onnxruntime as bytes. A missing, truncated, corrupt
  or unreadable cache is never used: the session is built from the model and the cache rewritten.
- **Atomic.** onnxruntime writes to a temporary file in the same folder, which is renamed into
  place once complete; the sidecar is written last, the same way. A crash leaves no cache that
  could be trusted. When the models folder is read-only (weights baked into a container image) the
  cache goes to the fallback folder (`$DATA_DIR/model-cache`); when that fails too, there is none.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import platform
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import onnxruntime as ort
from isal import isal_zlib

log = logging.getLogger("pixora.engine")

CACHE_FORMAT = 1
Outcome = Literal["built", "reused", "rebuilt", "uncached"]
LEVELS: Mapping[str, ort.GraphOptimizationLevel] = {
    "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
    "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
    "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
}

# How each session of this process was obtained, by outcome: tests and the benchmark read it.
outcomes: Counter[Outcome] = Counter()
_write_lock = threading.Lock()


@dataclass(frozen=True, kw_only=True, slots=True)
class SessionSpec:
    """The session options of one model. Fields marked "key" shape the optimised graph."""

    threads: int
    level: str = "all"  # key: graph optimisation level (a name in LEVELS)
    config: tuple[tuple[str, str], ...] = ()  # key: session config entries
    prepare_tag: str = ""  # key: names the in-memory preparation of the model, if any
    mem_pattern: bool = False
    providers: tuple[str, ...] = ("CPUExecutionProvider",)  # key
    extra: Mapping[str, Any] = field(default_factory=dict)  # key: anything else a caller varies

    def graph_key(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "config": [list(item) for item in self.config],
            "prepare": self.prepare_tag,
            "providers": list(self.providers),
            "extra": dict(sorted(self.extra.items())),
        }

    def options(self, *, level: str | None = None) -> ort.SessionOptions:
        options = ort.SessionOptions()
        options.graph_optimization_level = LEVELS[level or self.level]
        options.intra_op_num_threads = max(1, self.threads)
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # warnings about unused initialisers are noise to users
        options.enable_mem_pattern = self.mem_pattern
        for name, value in self.config:
            options.add_session_config_entry(name, value)
        return options


@cache
def cpu_identity() -> str:
    """This CPU's model and instruction-set flags (an optimised graph may use CPU-specific layouts)."""
    model = flags = ""
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                name = name.strip()
                if name == "model name" and not model:
                    model = value.strip()
                elif name in {"flags", "Features"} and not flags:
                    flags = " ".join(sorted(value.split()))
                if model and flags:
                    break
    digest = hashlib.sha256(flags.encode()).hexdigest()[:16]
    return f"{platform.machine()}|{model or platform.processor()}|{digest}"


def cache_folder(model: Path, fallback: Path | None = None) -> Path:
    """Next to the model; `fallback` when the models folder is read-only (e.g. weights baked into an image)."""
    if fallback is None or os.access(model.parent, os.W_OK):
        return model.parent
    with contextlib.suppress(OSError):
        fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def cache_paths(model: Path, spec: SessionSpec, folder: Path | None = None) -> tuple[Path, Path]:
    """(cache file, sidecar) for this model and these options, in `folder` (default: the model's)."""
    name_key = json.dumps({"graph": spec.graph_key(), "cpu": cpu_identity()}, sort_keys=True)
    digest = hashlib.sha256(name_key.encode()).hexdigest()[:12]
    cache_file = (folder or model.parent) / f"{model.name}.{digest}.optimized.onnx"
    return cache_file, cache_file.with_name(cache_file.name + ".json")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _crc32(data: bytes | memoryview) -> int:
    return int(isal_zlib.crc32(data))


def _read_sidecar(sidecar: Path) -> dict[str, Any] | None:
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _stat_of(model: Path) -> list[int]:
    stat = model.stat()
    return [stat.st_size, stat.st_mtime_ns]


def _model_sha256(model: Path, meta: dict[str, Any] | None) -> str:
    """The model's SHA-256: the sidecar's while the file's size and mtime are unchanged."""
    recorded = (meta or {}).get("model", {})
    if isinstance(recorded, dict) and recorded.get("stat") == _stat_of(model):
        sha = recorded.get("sha256")
        if isinstance(sha, str) and len(sha) == 64:
            return sha
    return _sha256(model)


def _full_key(spec: SessionSpec, model_sha: str) -> dict[str, Any]:
    return {
        "format": CACHE_FORMAT,
        "model_sha256": model_sha,
        "onnxruntime": ort.__version__,
        "cpu": cpu_identity(),
        "graph": spec.graph_key(),
    }


def _load_cached(cache_file: Path, meta: dict[str, Any], key: dict[str, Any]) -> bytes | str:
    """The verified bytes of the cache file, or why it cannot be used."""
    if meta.get("key") != key:
        return "its key differs (another model, onnxruntime, CPU or options)"
    try:
        data = cache_file.read_bytes()
    except OSError as exc:
        return f"it cannot be read ({exc.strerror})"
    if len(data) != meta.get("size") or _crc32(data) != meta.get("crc32"):
        return "its checksum does not match"
    return data


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def _temporary_for(cache_file: Path) -> Path | None:
    """A fresh temporary file beside the cache for onnxruntime to write, or None if the folder is read-only."""
    tmp = cache_file.with_name(f".{cache_file.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        tmp.touch(exist_ok=False)
    except FileExistsError:
        return tmp
    except OSError as exc:
        log.info("not caching the optimised %s (%s)", cache_file.name, exc.strerror)
        return None
    return tmp


def _sidecar_for(model: Path, key: dict[str, Any], size: int, crc32: int) -> str:
    stat = model.stat()
    meta = {
        "key": key,
        "size": size,
        "crc32": crc32,
        "model": {"stat": [stat.st_size, stat.st_mtime_ns], "sha256": key["model_sha256"]},
    }
    return json.dumps(meta, indent=1, sort_keys=True)


def _publish(tmp: Path, cache_file: Path, sidecar: Path, model: Path, key: dict[str, Any]) -> None:
    """Move the graph onnxruntime wrote into place and record its checksum beside it."""
    with tmp.open("rb+") as handle:
        data = handle.read()
        os.fsync(handle.fileno())
    if not data:
        raise OSError("onnxruntime wrote no optimised model")
    meta = _sidecar_for(model, key, len(data), _crc32(data))
    with _write_lock:  # two sessions of one process building the same cache: one rename after the other
        tmp.replace(cache_file)
        _write_atomically(sidecar, meta)


def _build(
    model: Path, spec: SessionSpec, prepare: Callable[[Path], bytes] | None, tmp: Path | None
) -> ort.InferenceSession:
    options = spec.options()
    if tmp is not None:
        options.optimized_model_filepath = str(tmp)
    if prepare is None:
        return ort.InferenceSession(str(model), options, providers=list(spec.providers))
    prepared = prepare(model)
    try:
        return ort.InferenceSession(prepared, options, providers=list(spec.providers))
    finally:
        del prepared


def load_session(
    model: Path,
    spec: SessionSpec,
    *,
    prepare: Callable[[Path], bytes] | None = None,
    fallback_folder: Path | None = None,
) -> tuple[ort.InferenceSession, Outcome]:
    """A session for `model`: from the verified cache when there is one, else built (and cached).

    `prepare` turns the model file into the bytes onnxruntime loads (e.g. the fp32 conversion);
    `spec.prepare_tag` must name it, so a different preparation never meets this cache.
    """
    cache_file, sidecar = cache_paths(model, spec, cache_folder(model, fallback_folder))
    meta = _read_sidecar(sidecar)
    key = _full_key(spec, _model_sha256(model, meta))
    outcome: Outcome = "built"
    if meta is not None:
        cached = _load_cached(cache_file, meta, key)
        if isinstance(cached, bytes):
            try:
                session = ort.InferenceSession(cached, spec.options(level="none"), providers=list(spec.providers))
            except Exception as exc:  # a cache that passed its checksum but that onnxruntime rejects
                log.warning("rebuilding %s: onnxruntime rejected it (%s)", cache_file.name, exc)
            else:
                recorded = meta.get("model")
                if not isinstance(recorded, dict) or recorded.get("stat") != _stat_of(model):
                    # Same weights under a new mtime (copied, touched): record it, so the next
                    # process need not hash the model again.
                    with contextlib.suppress(OSError):
                        _write_atomically(sidecar, _sidecar_for(model, key, len(cached), _crc32(cached)))
                outcomes["reused"] += 1
                return session, "reused"
        else:
            log.info("rebuilding %s: %s", cache_file.name, cached)
        outcome = "rebuilt"
    tmp = _temporary_for(cache_file)
    try:
        session = _build(model, spec, prepare, tmp)
        if tmp is not None:
            try:
                _publish(tmp, cache_file, sidecar, model, key)
            except OSError as exc:
                log.warning("could not cache the optimised %s: %s", model.name, exc)
                outcome = "uncached"
        else:
            outcome = "uncached"
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    outcomes[outcome] += 1
    return session, outcome
