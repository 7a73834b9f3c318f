"""The interface every classical codec of the baselines implements (licodec/eval/baselines.py lists them)."""

from abc import ABC, abstractmethod

import numpy as np

Setting = int | float


def _probe_image(height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth colour gradient with mild texture: the round trip that decides ``available()``."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    rgb = np.stack([xx / width * 255, yy / height * 255, 128 + 60 * np.sin(xx / 5 + yy / 7)], axis=-1)
    return np.clip(rgb, 0, 255).astype(np.uint8)


class Codec(ABC):
    """A classical codec: ``encode``/``decode`` real bytes at one of its quality ``settings``."""

    name: str  # command-line name and file stem of its results
    label: str  # name in results files and legends
    setting_name: str  # what a setting means, e.g. "quality" or "qp"
    settings: tuple[Setting, ...]  # low rate first; sweeps about 0.05-2 bpp on Kodak

    def __init__(self, settings: tuple[Setting, ...] | None = None):
        if settings is not None:
            self.settings = tuple(settings)
        self._reason: str | None = None
        self._checked = False

    @abstractmethod
    def encode(self, rgb: np.ndarray, setting: Setting) -> bytes: ...

    @abstractmethod
    def decode(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray: ...

    def requirements(self) -> str | None:
        """Why the codec cannot run (missing library or feature), or None; cheap, no encoding."""
        return None

    def description(self) -> str:
        """Library versions and fixed options: goes into results files and the cache key."""
        return self.label

    def encode_decode(self, rgb: np.ndarray, setting: Setting) -> tuple[int, np.ndarray]:
        """Encode (H, W, 3) uint8 RGB at ``setting``; return the encoded size and the decoded image."""
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
        data = self.encode(np.ascontiguousarray(rgb), setting)
        return len(data), self.decode(data, rgb.shape)

    def unavailable_reason(self) -> str | None:
        """None if the codec works here; else why not. Checked once by a real round trip."""
        if not self._checked:
            self._reason = self.requirements() or self._probe()
            self._checked = True
        return self._reason

    def available(self) -> bool:
        return self.unavailable_reason() is None

    def _probe(self) -> str | None:
        rgb = _probe_image()
        try:
            _, out = self.encode_decode(rgb, self.settings[len(self.settings) // 2])
        except Exception as e:  # any library failure means "not usable here", with its message
            return f"{self.name} round trip failed: {type(e).__name__}: {e}"
        if out.shape != rgb.shape or out.dtype != np.uint8:
            return f"{self.name} decoded {out.dtype} {out.shape} for a {rgb.shape} image"
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: {len(self.settings)} settings>"
