"""A model-free saliency map (spectral residual, Hou & Zhang 2007) for smart crop without weights.

Cheap (a 128 px FFT) and good enough to find where the eye goes: a single object on a plain or
textured background. Combined with a mild centre prior and a colour-contrast term so that large
flat subjects are not reduced to their outline.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.tools.registry import ImageArray

FloatArray = npt.NDArray[np.float32]
_SIDE = 128


def saliency_map(image: ImageArray) -> FloatArray:
    """Saliency in 0..1 at a small size (long side 128 px), same aspect ratio as the image."""
    h, w = image.shape[:2]
    scale = _SIDE / max(h, w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    small = cv2.resize(image[:, :, :3], size, interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32)
    spectrum = np.fft.fft2(gray)
    log_amplitude = np.log(np.abs(spectrum) + 1e-6).astype(np.float32)
    phase = np.angle(spectrum)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3))
    spectral = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    spectral = np.asarray(cv2.GaussianBlur(spectral.astype(np.float32), (0, 0), 3), dtype=np.float32)
    # Colour contrast against the image's mean Lab colour: whole regions, not only their edges.
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    contrast = np.linalg.norm(lab - lab.reshape(-1, 3).mean(axis=0), axis=2).astype(np.float32)
    contrast = np.asarray(cv2.GaussianBlur(contrast, (0, 0), 2), dtype=np.float32)
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32)
    centre = np.exp(-(((xx / size[0] - 0.5) ** 2) + ((yy / size[1] - 0.5) ** 2)) / 0.18).astype(np.float32)

    def norm(x: FloatArray) -> FloatArray:
        lo, hi = float(x.min()), float(x.max())
        return np.asarray((x - lo) / (hi - lo) if hi > lo else np.zeros_like(x), dtype=np.float32)

    combined = (0.5 * norm(spectral) + 0.5 * norm(contrast)) * (0.4 + 0.6 * centre)
    return norm(combined)
