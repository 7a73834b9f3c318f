"""Training data: random crops from an image folder, generated deterministically per step so that a resumed
run sees exactly the batches the interrupted one would have seen."""

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from licodec.image import read_image


def load_rgb(path: Path, downscale_jpeg: bool = False, min_side: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 as licodec.image reads it; JPEGs optionally halved (box filter) to remove their block
    artefacts, unless that would leave them smaller than ``min_side``."""
    rgb = read_image(path).rgb
    if downscale_jpeg and path.suffix.lower() in {".jpg", ".jpeg"} and min(rgb.shape[:2]) // 2 >= min_side:
        return np.asarray(Image.fromarray(rgb).reduce(2))
    return rgb


class CropBatches(torch.utils.data.Dataset):
    """Item ``step`` is this process's share of the global batch for that step: (B/W, 3, crop, crop) uint8
    and (B/W,) quality indices, for process ``rank`` of ``world``.

    The global batch (images, crop positions, flips, qualities) comes from a generator seeded by (seed,
    step), so W processes together see exactly what one process with the whole batch would see. Decoded
    images are cached in the worker that loaded them.
    """

    def __init__(self, files, crop: int, batch: int, rates: int, seed: int, rank: int = 0, world: int = 1,
                 downscale_jpeg: bool = True):  # fmt: skip
        if batch % world:
            raise ValueError(f"batch size {batch} is not divisible by the {world} processes")
        self.files = list(files)
        self.crop, self.batch, self.rates = crop, batch, rates
        self.seed, self.rank, self.world = seed, rank, world
        self.downscale_jpeg = downscale_jpeg
        self._cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return 2**62

    def image(self, i: int) -> np.ndarray:
        if i not in self._cache:
            img = load_rgb(self.files[i], self.downscale_jpeg, self.crop)
            if min(img.shape[:2]) < self.crop:
                pad = [(0, max(0, self.crop - img.shape[0])), (0, max(0, self.crop - img.shape[1])), (0, 0)]
                img = np.pad(img, pad, mode="reflect")
            self._cache[i] = img
        return self._cache[i]

    def __getitem__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, step])
        images = rng.integers(len(self.files), size=self.batch)
        corners = rng.random((self.batch, 2))
        flips = rng.random((self.batch, 2)) < 0.5
        quality = rng.integers(self.rates, size=self.batch)
        share = self.batch // self.world
        mine = range(self.rank * share, (self.rank + 1) * share)
        crops = []
        for i in mine:
            img = self.image(int(images[i]))
            top = int(corners[i, 0] * (img.shape[0] - self.crop + 1))
            left = int(corners[i, 1] * (img.shape[1] - self.crop + 1))
            crop = img[top : top + self.crop, left : left + self.crop]
            crop = crop[:, ::-1] if flips[i, 0] else crop
            crop = crop[::-1] if flips[i, 1] else crop
            crops.append(np.ascontiguousarray(crop))
        x = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()
        return x, torch.from_numpy(quality[mine.start : mine.stop])
