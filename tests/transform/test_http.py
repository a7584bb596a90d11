"""Transformation URLs over real HTTP against `main.py serve`: sizes, errors, signing, caching, the SDK."""

from __future__ import annotations

import asyncio
import io
import time

import httpx
import numpy as np
import pytest
from imagekitio import ImageKit
from PIL import Image

from db.session import session_scope
from pixora_ui.services import assets, media
from pixora_ui.transform import signing
from tests.services.conftest import make_user
from tests.transform.conftest import App, photo_jpeg, size_of, upload, wait_until

# (transformation, expected width x height) for a 1200 x 800 JPEG.
SIZES: list[tuple[str, tuple[int, int]]] = [
    ("", (1200, 800)),
    ("w-400", (400, 267)),
    ("h-200", (300, 200)),
    ("w-400,h-400", (400, 400)),
    ("h-400,w-400", (400, 400)),
    ("w-400,h-400,c-maintain_ratio", (400, 400)),
    ("w-400,h-400,c-force", (400, 400)),
    ("w-400,h-100,c-force", (400, 100)),
    ("w-400,h-400,c-at_max", (400, 267)),
    ("w-400,h-100,c-at_max", (150, 100)),
    ("w-2000,c-at_max", (1200, 800)),
    ("w-2000,h-2000,c-at_max", (1200, 800)),
    ("w-2000,c-at_max_enlarge", (2000, 1333)),
    ("w-300,h-300,c-at_least", (450, 300)),
    ("w-600,h-100,c-at_least", (600, 400)),
    ("w-400,h-400,cm-pad_resize", (400, 400)),
    ("w-400,h-400,cm-pad_resize,bg-FF0000", (400, 400)),
    ("w-300,h-300,cm-pad_resize,fo-top", (300, 300)),
    ("w-500,h-200,cm-pad_resize,bg-blurred", (500, 200)),
    ("w-300,h-200,cm-extract", (300, 200)),
    ("w-300,h-200,cm-extract,fo-top_left", (300, 200)),
    ("w-300,h-200,cm-extract,x-100,y-50", (300, 200)),
    ("w-2000,h-300,cm-extract", (1200, 300)),
    ("w-1500,h-1000,cm-pad_extract", (1500, 1000)),
    ("w-0.5", (600, 400)),
    ("h-0.25", (300, 200)),
    ("w-0.5,h-0.5", (600, 400)),
    ("w-400,ar-4-3", (400, 300)),
    ("h-300,ar-1-1", (300, 300)),
    ("w-200,dpr-2", (400, 267)),
    ("w-400,h-300,fo-top", (400, 300)),
    ("w-400,h-300,fo-bottom_right", (400, 300)),
    ("w-300,h-300,fo-face", (300, 300)),
    ("w-300,h-300,fo-auto", (300, 300)),
    ("rt-90", (800, 1200)),
    ("w-400,rt-270", (267, 400)),
    ("rt-180", (1200, 800)),
    ("rt-auto", (1200, 800)),
    ("fl-h", (1200, 800)),
    ("w-400,bl-10", (400, 267)),
    ("w-400,e-grayscale", (400, 267)),
    ("w-400,e-contrast", (400, 267)),
    ("w-400,e-sharpen-20", (400, 267)),
    ("w-600:w-300", (300, 200)),
    ("w-600,h-600:w-200", (200, 200)),
    ("w-400,h-400,c-at_max:rt-90", (267, 400)),
    ("w-800,h-600,c-force:e-grayscale:w-0.5", (400, 300)),
    ("w-400,q-20", (400, 267)),
]


async def _get(client: httpx.AsyncClient, url: str, **kwargs: object) -> httpx.Response:
    return await client.get(url, timeout=120, **kwargs)  # type: ignore[arg-type]


async def test_size_table_formats_and_errors(app: App) -> None:
    owner = await make_user()
    photo = await upload(owner, public=True)
    base = f"{app.url}/ik/{photo}/holiday.jpg"
    async with httpx.AsyncClient() as client:
        for tr, expected in SIZES:
            response = await _get(client, f"{base}?tr={tr}" if tr else base)
            assert response.status_code == 200, (tr, response.text)
            assert response.headers["content-type"] == "image/jpeg", tr
            assert size_of(response.content) == expected, tr
        # The path form, and both forms at once (path steps first).
        path_form = await _get(client, f"{app.url}/ik/tr:w-400,h-300/{photo}/holiday.jpg")
        assert size_of(path_form.content) == (400, 300)
        both = await _get(client, f"{app.url}/ik/tr:w-600/{photo}/holiday.jpg?tr=h-100")
        assert size_of(both.content) == (150, 100)
        # Output formats.
        png = await _get(client, f"{base}?tr=w-100,f-png")
        assert png.headers["content-type"] == "image/png" and Image.open(io.BytesIO(png.content)).format == "PNG"
        webp = await _get(client, f"{base}?tr=w-100,f-webp,q-50")
        assert webp.headers["content-type"] == "image/webp"
        auto = await _get(client, f"{base}?tr=w-100,f-auto", headers={"Accept": "image/avif,image/webp,*/*"})
        assert auto.headers["content-type"] == "image/webp" and auto.headers["vary"] == "Accept"
        plain = await _get(client, f"{base}?tr=w-100,f-auto", headers={"Accept": "image/jpeg"})
        assert plain.headers["content-type"] == "image/jpeg"
        low = await _get(client, f"{base}?tr=w-400,q-10")
        high = await _get(client, f"{base}?tr=w-400,q-95")
        assert len(low.content) < len(high.content) / 2
        grey = np.asarray(Image.open(io.BytesIO((await _get(client, f"{base}?tr=w-50,e-grayscale")).content)))
        assert grey.ndim == 2 or bool((grey[:, :, 0] == grey[:, :, 1]).all())
        padded = Image.open(io.BytesIO((await _get(client, f"{base}?tr=w-400,h-400,cm-pad_resize,bg-FF0000")).content))
        red = padded.convert("RGB").getpixel((200, 5))
        assert isinstance(red, tuple) and red[0] > 240 and red[1] < 20 and red[2] < 20

        # Bad steps: 400, naming the step, never the original image.
        for tr, step in [
            ("w-abc", "w-abc"),
            ("w-400,zoom-2", "zoom-2"),
            ("w-400,c-fill", "c-fill"),
            ("f-gif", "f-gif"),
            ("w-400:e-bgremove", "e-bgremove"),
        ]:
            bad = await _get(client, f"{base}?tr={tr}")
            assert bad.status_code == 400, tr
            body = bad.json()["error"]
            assert body["code"] == "bad_transformation" and body["step"] == step and step in body["message"]
        bad_path = await _get(client, f"{app.url}/ik/tr:w-400,q-0/{photo}/holiday.jpg")
        assert bad_path.status_code == 400 and bad_path.json()["error"]["step"] == "q-0"


async def test_signatures_expiry_and_the_public_toggle(app: App, any_db: str) -> None:
    owner = await make_user()
    photo = await upload(owner)
    missing = "0123456789abcdef0123456789abcdef"
    async with httpx.AsyncClient(base_url=app.url) as client:
        unsigned = await _get(client, f"/ik/{photo}/a.jpg?tr=w-100")
        assert unsigned.status_code == 401
        # An unknown id answers exactly like a private one: nothing tells whether a photo exists.
        unknown = await _get(client, f"/ik/{missing}/a.jpg?tr=w-100")
        assert unknown.status_code == 401 and unknown.json() == unsigned.json()

        signed = signing.signed_path(photo, name="a.jpg", transformation="w-100", expires_in=600)
        ok = await _get(client, signed)
        assert ok.status_code == 200 and size_of(ok.content) == (100, 67)
        assert "public, max-age=" in ok.headers["cache-control"]
        path_signed = signing.signed_path(photo, name="a.jpg", transformation="w-120", path_form=True)
        assert size_of((await _get(client, path_signed)).content) == (120, 80)

        tampered_tr = signed.replace("tr=w-100", "tr=w-900")
        tampered_sig = signed[:-4] + ("0000" if not signed.endswith("0000") else "1111")
        later = signed.replace("ik-t=", "ik-t=9")
        moved = signed.replace(photo, missing)
        expired = signing.signed_path(photo, name="a.jpg", transformation="w-100", expires_in=1, now=time.time() - 60)
        no_expiry = signed.split("&ik-t=")[0] + "&ik-s=" + signed.rsplit("ik-s=", 1)[1]
        for url in (tampered_tr, tampered_sig, later, moved, expired, no_expiry):
            refused = await _get(client, url)
            assert refused.status_code == 401, url
            assert refused.json()["error"]["code"] == "bad_signature"
        # A valid signature for a photo that is gone.
        gone = signing.signed_path(missing, name="a.jpg", transformation="w-100")
        assert (await _get(client, gone)).status_code == 404

        # Public: no signature needed (the server may have kept the old answer for a few seconds).
        async with session_scope() as session:
            view = await assets.set_public(session, owner_id=owner, asset_id=photo, public=True)
        assert view.public

        async def opens_unsigned() -> bool:
            return (await _get(client, f"/ik/{photo}/a.jpg?tr=w-100")).status_code == 200

        await wait_until(opens_unsigned, timeout=30, what="the public photo to open without a signature")
        public = await _get(client, f"/ik/{photo}/a.jpg?tr=w-100")
        assert public.headers["cache-control"] == "public, max-age=31536000, immutable"
        # AI effects still need a signature, so strangers cannot spend the owner's credits.
        ai = await _get(client, f"/ik/{photo}/a.jpg?tr=e-retouch")
        assert ai.status_code == 401 and "AI effects" in ai.json()["error"]["message"]

        async with session_scope() as session:
            await assets.set_public(session, owner_id=owner, asset_id=photo, public=False)

        async def refused_again() -> bool:
            return (await _get(client, f"/ik/{photo}/a.jpg?tr=w-100")).status_code == 401

        await wait_until(refused_again, timeout=30, what="the photo to be private again")
        assert (await _get(client, signed)).status_code == 200


async def test_each_transformation_is_computed_once_and_revalidates(app: App) -> None:
    owner = await make_user()
    photo = await upload(owner, public=True)
    base = f"/ik/{photo}/p.jpg"
    async with httpx.AsyncClient(base_url=app.url) as client:
        before = app.computed()
        responses = await asyncio.gather(*[_get(client, f"{base}?tr=w-321,h-123") for _ in range(20)])
        assert {r.status_code for r in responses} == {200}
        assert len({r.content for r in responses}) == 1
        etags = {r.headers["etag"] for r in responses}
        assert len(etags) == 1
        etag = etags.pop()
        assert app.computed() == before + 1
        # Equivalent spellings share the entry; a conditional request gets 304.
        same = await _get(client, f"{base}?tr=h-123,w-321.0,c-maintain_ratio,fo-center")
        assert same.status_code == 200 and same.headers["etag"] == etag
        assert same.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await _get(client, f"/ik/tr:w-321,h-123/{photo}/other-name.jpg")).headers["etag"] == etag
        not_modified = await _get(client, f"{base}?tr=w-321,h-123", headers={"If-None-Match": etag})
        assert not_modified.status_code == 304 and not not_modified.content
        assert app.computed() == before + 1
        different = await _get(client, f"{base}?tr=w-322,h-123")
        assert different.headers["etag"] != etag and app.computed() == before + 2
        # HEAD answers like GET (a client can poll with it).
        head = await client.head(f"{base}?tr=w-321,h-123")
        assert head.status_code == 200 and head.headers["etag"] == etag


async def test_the_official_imagekit_sdk_builds_urls_pixora_serves(app: App) -> None:
    owner = await make_user()
    private = await upload(owner)
    public = await upload(owner, public=True)
    sdk = ImageKit(private_key=signing.signing_key())
    endpoint = f"{app.url}/ik"
    async with httpx.AsyncClient() as client:
        query_form = sdk.helper.build_url(
            src=f"/{private}/astronaut.jpg",
            url_endpoint=endpoint,
            transformation=[{"width": 300, "height": 200}, {"grayscale": True}],
            signed=True,
            expires_in=600,
        )
        assert "?tr=w-300,h-200:e-grayscale&ik-t=" in query_form
        response = await _get(client, query_form)
        assert response.status_code == 200 and size_of(response.content) == (300, 200)

        path_form = sdk.helper.build_url(
            src=f"/{private}/astronaut.jpg",
            url_endpoint=endpoint,
            transformation=[{"width": 300, "height": 300, "crop": "at_max"}, {"rotation": 90}],
            transformation_position="path",
            signed=True,
            expires_in=600,
        )
        assert "/ik/tr:w-300,h-300,c-at_max:rt-90/" in path_form
        response = await _get(client, path_form)
        assert response.status_code == 200 and size_of(response.content) == (200, 300)

        unsigned = sdk.helper.build_url(
            src=f"/{public}/astronaut.jpg",
            url_endpoint=endpoint,
            transformation=[
                {"width": 400, "aspect_ratio": "4-3", "focus": "top", "format": "webp", "quality": 70},
                {"crop_mode": "pad_resize", "width": 500, "height": 500, "background": "00FF00"},
            ],
        )
        response = await _get(client, unsigned)
        assert response.status_code == 200 and response.headers["content-type"] == "image/webp"
        assert size_of(response.content) == (500, 500)
        # The same SDK call without a signature cannot open the private photo.
        refused = sdk.helper.build_url(src=f"/{private}/astronaut.jpg", url_endpoint=endpoint)
        assert (await _get(client, refused)).status_code == 401


@pytest.mark.parametrize("quality", [None, 40])
async def test_converted_downloads_are_signed_per_format_and_cached(app: App, quality: int | None) -> None:
    owner = await make_user()
    photo = await upload(owner, photo_jpeg(1600, 1000))
    url = media.signed_url(photo, fmt="webp", quality=quality, expires_in=600)
    async with httpx.AsyncClient(base_url=app.url) as client:
        before = app.computed()
        responses = await asyncio.gather(*[_get(client, url) for _ in range(8)])
        assert {r.status_code for r in responses} == {200}
        assert {r.headers["content-type"] for r in responses} == {"image/webp"}
        assert size_of(responses[0].content) == (1600, 1000)
        assert app.computed() == before + 1
        assert (await _get(client, url)).content == responses[0].content
        assert app.computed() == before + 1
        # Another format or quality on the same signature is refused.
        assert (await _get(client, url.replace("format=webp", "format=png"))).status_code == 404
        other_quality = url.replace("quality=40", "quality=90") if quality else url + "&quality=90"
        assert (await _get(client, other_quality)).status_code == 404


async def test_large_results_are_streamed_from_the_cache_file(app: App) -> None:
    noise = np.random.default_rng(7).integers(0, 256, size=(1200, 1600, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="JPEG", quality=95)
    owner = await make_user()
    photo = await upload(owner, out.getvalue(), public=True)
    async with httpx.AsyncClient(base_url=app.url) as client:
        converted = await _get(client, media.signed_url(photo, fmt="png", expires_in=600))
        assert converted.status_code == 200 and converted.headers["content-type"] == "image/png"
        assert int(converted.headers["content-length"]) == len(converted.content) > 4 * 1024 * 1024
        assert "last-modified" in converted.headers  # sent from the cache file, not from memory
        assert size_of(converted.content) == (1600, 1200)
        transformed = await _get(client, f"/ik/{photo}/n.png?tr=f-png")
        assert transformed.status_code == 200 and len(transformed.content) > 4 * 1024 * 1024
        assert transformed.headers["etag"].startswith('"t') and "last-modified" in transformed.headers
        small = await _get(client, f"/ik/{photo}/n.jpg?tr=w-100")
        assert small.status_code == 200 and "last-modified" not in small.headers
        etag = transformed.headers["etag"]
        again = await _get(client, f"/ik/{photo}/n.png?tr=f-png", headers={"If-None-Match": etag})
        assert again.status_code == 304
