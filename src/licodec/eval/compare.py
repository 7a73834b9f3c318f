"""Side-by-side crops: the original, licodec, and classical codecs at the file size closest to licodec's.

Each classical codec sweeps its own quality settings and keeps the one whose real file size is nearest to
the licodec file; every panel is labelled with its codec, bpp and PSNR over the whole image.
"""

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw

from licodec.codec import SourceImage, compress, decompress
from licodec.eval.baselines import get_codec
from licodec.eval.metrics import bpp, psnr

DEFAULT_CODECS = ("jpeg", "webp", "avif", "heic")


@dataclass
class Panel:
    label: str
    pixels: np.ndarray  # (H, W, 3) uint8, whole image
    bpp: float | None
    psnr: float | None


def panels_at_matched_size(source: SourceImage, model: torch.nn.Module, quality: int,
                           codecs: tuple[str, ...] = DEFAULT_CODECS) -> tuple[list[Panel], list[str]]:  # fmt: skip
    """Panels for the original, licodec and each available codec; also the codecs skipped and why."""
    rgb = source.rgb
    h, w = rgb.shape[:2]
    data = compress(SourceImage(rgb, 3, False), model, quality)
    decoded = decompress(data, model)
    panels = [Panel("original", rgb, None, None),
              Panel(f"licodec q{quality + 1}", decoded, bpp(len(data), h, w), psnr(rgb, decoded))]  # fmt: skip
    skipped = []
    for name in codecs:
        codec = get_codec(name)
        reason = codec.unavailable_reason()
        if reason:
            skipped.append(f"{name}: {reason}")
            continue
        trials = [codec.encode_decode(rgb, s) for s in codec.settings]
        size, pixels = min(trials, key=lambda t: abs(t[0] - len(data)))
        panels.append(Panel(name.upper(), pixels, bpp(size, h, w), psnr(rgb, pixels)))
    return panels, skipped


def compose(panels: list[Panel], box: tuple[int, int, int, int], zoom: int = 2) -> Image.Image:
    """Crop ``box`` = (left, top, width, height) from each panel, enlarge by ``zoom``, label, tile in a row."""
    left, top, width, height = box
    label_h = 34
    tiles = []
    for p in panels:
        crop = Image.fromarray(p.pixels[top : top + height, left : left + width])
        crop = crop.resize((crop.width * zoom, crop.height * zoom), Image.NEAREST)
        tile = Image.new("RGB", (crop.width, crop.height + label_h), "white")
        tile.paste(crop, (0, label_h))
        text = p.label if p.bpp is None else f"{p.label}: {p.bpp:.3f} bpp, {p.psnr:.2f} dB"
        ImageDraw.Draw(tile).text((4, 10), text, fill="black")
        tiles.append(tile)
    gap = 6
    out = Image.new("RGB", (sum(t.width for t in tiles) + gap * (len(tiles) - 1), tiles[0].height), "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + gap
    return out


def default_box(height: int, width: int, size: int = 128) -> tuple[int, int, int, int]:
    """A centred square crop (smaller for small images)."""
    side = min(size, height, width)
    return (width - side) // 2, (height - side) // 2, side, side
