"""Per-tile corrections of the upscaler's output: tone and colour anchored to the photo, and the
"detail" blend with a classical resize.

Real-ESRGAN shifts low-frequency tone and colour a little: a neutral grey photo comes back with a
blue cast in the mid-tones (x4plus: R - B = -2.2 levels, channel means 1.1 levels apart, the same in
ncnn's plain fp32 run, so neither bfloat16 nor the tiling causes it), and flat areas come back
1-5 levels brighter. An upscale must not change the photo's colours, only add detail: the
difference between the output shrunk back to the input's size and the input, low-passed
(sigma 2 input px: detail and denoising are left alone), is subtracted at 4x.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.tools.registry import ImageArray

FloatArray = npt.NDArray[np.float32]
_ANCHOR_SIGMA = 2.0  # input pixels


def anchor_tone(x4: FloatArray, rgb: ImageArray) -> None:
    """Remove, in place, the low-frequency tone/colour shift of `x4` (3 x sH x sW, 0..1) against
    `rgb` (H x W x 3 uint8, the tile it was made from)."""
    h, w = rgb.shape[:2]
    big = (x4.shape[2], x4.shape[1])
    for c in range(3):
        shrunk = cv2.resize(x4[c], (w, h), interpolation=cv2.INTER_AREA)
        shift = shrunk - rgb[:, :, c].astype(np.float32) * np.float32(1 / 255)
        shift = cv2.GaussianBlur(shift, (0, 0), _ANCHOR_SIGMA, borderType=cv2.BORDER_REFLECT)
        x4[c] -= cv2.resize(shift, big, interpolation=cv2.INTER_LINEAR)


def blend_detail(x4: FloatArray, rgb: ImageArray, detail: float) -> None:
    """In place: `detail` (0..1) of the model's output, the rest a Lanczos resize of the tile, for
    photos where the model over-sharpens (brick mortar, grass turning into stone)."""
    if detail >= 1.0:
        return
    big = (x4.shape[2], x4.shape[1])
    classic = cv2.resize(rgb, big, interpolation=cv2.INTER_LANCZOS4).astype(np.float32) * np.float32(1 / 255)
    for c in range(3):
        x4[c] *= np.float32(detail)
        x4[c] += np.float32(1.0 - detail) * classic[:, :, c]
