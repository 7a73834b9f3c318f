"""The one way images come in and go out: files and PIL images to (H, W, 3) uint8 RGB and back, tensors
padded for coding and cropped back. Training data, baselines, evaluation and the codec all read through here.

Colour decisions (documented in the README):
- EXIF orientation is applied, so the file holds the image as it is displayed.
- Greyscale (1, L, I;16, I, F) is coded as RGB with equal channels and decoded back to greyscale.
- Palette images are expanded to RGB. Alpha (RGBA, LA, PA, transparent palettes) is dropped: the colour
  channels are kept as they are and the decoded image is opaque. ``read_image`` reports that it did so.
- 16-bit samples are scaled to 8 bits; CMYK, YCbCr, LAB and HSV are converted to RGB by Pillow.
"""

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

# Pillow's own bomb check (MAX_IMAGE_PIXELS) is process-wide; this library passes its limit per call instead.
MAX_IMAGE_PIXELS = 1 << 28  # what the container can hold


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".ppm"}


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"image folder {folder} does not exist")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise FileNotFoundError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")
    return files


class ImageError(ValueError):
    """An input image cannot be read."""


@dataclass
class SourceImage:
    rgb: np.ndarray  # (H, W, 3) uint8
    channels: int  # 1 for greyscale sources, else 3
    dropped_alpha: bool


def _open(source: str | Path | bytes) -> Image.Image:
    """Pillow's open, and again with pillow-heif's opener (HEIC/HEIF) when that is installed and Pillow alone
    cannot identify the file (registering it is process-wide, so it happens only when it is needed)."""

    def attempt() -> Image.Image:
        return Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)

    try:
        return attempt()
    except UnidentifiedImageError:
        try:
            import pillow_heif
        except ImportError:
            raise
        pillow_heif.register_heif_opener()
        return attempt()


def read_image(source: str | Path | bytes | Image.Image) -> SourceImage:
    """Open an image file (path or bytes) or take a PIL image, and apply the colour rules above. Animated
    images (several frames) are refused rather than silently cut to their first frame."""
    try:
        if isinstance(source, Image.Image):
            img = source
        else:
            img = _open(source)
            if img.width * img.height > MAX_IMAGE_PIXELS:  # checked on the header, before any pixel is decoded
                raise ImageError(f"{img.width}x{img.height} is over the {MAX_IMAGE_PIXELS} pixels licodec reads")
            if getattr(img, "n_frames", 1) > 1:
                raise ImageError(f"an animated image of {img.n_frames} frames; licodec codes still images "
                                 "(extract the frame to code first)")  # fmt: skip
            img.load()
        img = ImageOps.exif_transpose(img)
    except UnidentifiedImageError as e:  # its message names a BytesIO object, not the problem
        raise ImageError("cannot read image: not a format Pillow can open (PNG, JPEG, TIFF, WebP, ...)") from e
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError(f"cannot read image: {e}") from e
    mode = img.mode
    dropped_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if mode.startswith("I;16") or mode in ("I", "F"):
        values = np.asarray(img, dtype=np.float64)
        scale = 257.0 if mode.startswith("I;16") or values.max(initial=0) > 255 else 1.0
        grey = np.clip(np.round(values / scale), 0, 255).astype(np.uint8)
        return SourceImage(np.repeat(grey[..., None], 3, axis=2), 1, False)
    if mode in ("1", "L", "LA", "La"):
        grey = np.asarray(img.convert("L"))
        return SourceImage(np.repeat(grey[..., None], 3, axis=2), 1, dropped_alpha)
    if mode == "P":
        img = img.convert("RGBA" if dropped_alpha else "RGB")
    return SourceImage(np.ascontiguousarray(np.asarray(img.convert("RGB"))), 3, dropped_alpha)


def to_tensor(rgb: np.ndarray, multiple: int) -> tuple[torch.Tensor, int, int]:
    """(H, W, 3) uint8 -> (1, 3, H', W') in [0, 1], reflect-padded below and right to a multiple."""
    h, w = rgb.shape[:2]
    pad_b, pad_r = -h % multiple, -w % multiple
    padded = np.pad(rgb, ((0, pad_b), (0, pad_r), (0, 0)), mode="reflect")
    return torch.from_numpy(padded).permute(2, 0, 1)[None].float().div(255), pad_b, pad_r


def to_uint8(x_hat: torch.Tensor, height: int, width: int) -> np.ndarray:
    """(1, 3, H', W') reconstruction -> (height, width, 3) uint8, cropped."""
    x = x_hat[0, :, :height, :width].clamp(0, 1).mul(255).round().to(torch.uint8)
    return x.permute(1, 2, 0).contiguous().numpy()


def encode_png(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()
