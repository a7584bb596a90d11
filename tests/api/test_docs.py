"""docs/api.md's examples, run as written against the live app: every `bash` block in order in one
shell (curl + jq), then every `python` block (httpx), in a folder holding `photo.jpg`."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

from tests.api.conftest import new_key
from tests.services.conftest import jpeg_bytes, make_pro

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for lang, body in _BLOCK.findall(DOC.read_text()) if lang == language]


async def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run without blocking the event loop that serves the app; fail with the output on error."""
    process = await asyncio.create_subprocess_exec(
        *command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(process.communicate(), 300)
    text = out.decode(errors="replace")
    assert process.returncode == 0, f"{command[0]} example failed:\n{text}"
    return text


async def test_the_documented_examples_run(api_url: str, tmp_path: Path) -> None:
    key = await new_key(await make_pro())
    (tmp_path / "photo.jpg").write_bytes(jpeg_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "NICEGUI_"))}
    env.update({"PIXORA_URL": api_url, "PIXORA_API_KEY": key})

    shell = blocks("bash")
    assert len(shell) >= 8 and all("$PIXORA_URL" in b for b in shell)
    output = await _run(["bash", "-c", "set -euo pipefail\n" + "\n".join(shell)], tmp_path, env)
    assert re.search(r"^uploaded [0-9a-f]{32}$", output, re.MULTILINE)
    assert re.search(r"^succeeded: [0-9a-f]{32}$", output, re.MULTILINE)
    assert "event: done" in output and '"plan":"pro"' in output
    for name, size in (("cutout.png", (512, 512)), ("no-bg.png", (512, 512)), ("on-blue.jpg", None)):
        with Image.open(tmp_path / name) as image:
            assert size is None or image.size == size
    with Image.open(tmp_path / "cutout.webp") as image:
        assert image.format == "WEBP"
    on_blue = np.asarray(Image.open(tmp_path / "on-blue.jpg").convert("RGB")).astype(int)
    assert abs(on_blue[2, 2] - [0x81, 0xD4, 0xFA]).max() < 20  # the margin around the subject is blue

    python = blocks("python")
    assert len(python) >= 3 and all("httpx" in b for b in python)
    for index, code in enumerate(python):
        script = tmp_path / f"example_{index}.py"
        script.write_text(code)
        output = await _run([sys.executable, str(script)], tmp_path, env)
        assert output.strip(), f"example {index} printed nothing"
    assert Image.open(tmp_path / "cutout-python.png").size == (512, 512)
    assert np.asarray(Image.open(tmp_path / "mask.png")).max() == 255

    # The reference the page points to is live.
    async with httpx.AsyncClient(base_url=api_url) as client:
        assert (await client.get("/api/docs")).status_code == 200
        schema = (await client.get("/api/v1/openapi.json")).json()
    documented = set(re.findall(r"`(?:GET|POST|DELETE) /api/v1(/[^`?]*)", DOC.read_text()))
    assert {p.replace("{photo_id}", "{id}").replace("{job_id}", "{id}") for p in schema["paths"]} == documented
