"""Images <-> .lic files: padding, header, latents, synthesis. The one code path the CLI and evaluation use
(images come in and go out through licodec.image)."""

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from licodec.coding.coder import CodingError
from licodec.coding.container import ContainerError, Header, pack, unpack
from licodec.coding.latent_codec import compress_latents, decompress_latents
from licodec.fast.int8 import int8_synthesis
from licodec.fast.precision import synthesis_precision
from licodec.image import ImageError, SourceImage, encode_png, read_image, to_tensor, to_uint8
from licodec.models.prepared import prepare

# The transforms run on the whole image at once (no tiling yet): their activations need roughly 250 bytes
# per pixel at N=64, so larger images are refused with a clear error instead of exhausting memory.
MAX_CODEC_PIXELS = 64 * 1024 * 1024


__all__ = [
    "Encoded", "ImageError", "IncompatibleError", "SourceImage", "compress", "decompress", "encode",
    "encode_png", "read_header", "read_image", "to_tensor", "to_uint8",
]  # fmt: skip


class IncompatibleError(ValueError):
    """A .lic file needs a model other than the one at hand."""


def model_name(model: torch.nn.Module) -> str:
    return model.config["arch"]


def check_quality(model: torch.nn.Module, quality: int | None) -> int:
    if quality is None:
        return model.rates - 1
    if not 0 <= quality < model.rates:
        raise ValueError(f"quality {quality} out of range: this model has qualities 0..{model.rates - 1}")
    return quality


@dataclass
class Encoded:
    data: bytes  # the .lic file
    x: torch.Tensor  # the padded image the latents were made from, (1, 3, H', W')
    y: torch.Tensor | tuple[torch.Tensor, ...]  # the latent coded (before rounding), refined or not; a tuple
    # for models with several latents (the octave codec)
    refine_steps: int = 0  # the latent refinement steps taken (refine.py)


@torch.no_grad()
def encode(image: SourceImage | np.ndarray, model: torch.nn.Module, quality: int | None = None,
           refine_steps: int | None = None) -> Encoded:  # fmt: skip
    """Encode an image (SourceImage or (H, W, 3) uint8 RGB) into a .lic file; keeps the latent it coded.

    ``refine_steps`` > 0 searches for a better latent for this image first (refine.py): smaller files at
    the same quality, for ~1 s of encoding per step and megapixel/3; decoding is unchanged. ``None`` (the
    default) takes ``refine.auto_steps``: a few steps where the weights allow it, none where they don't
    (no recorded objective, no context model) or the image is very large; 0 is the fastest encode.
    """
    source = image if isinstance(image, SourceImage) else SourceImage(image, 3, False)
    h, w = source.rgb.shape[:2]
    if h * w > MAX_CODEC_PIXELS:
        raise ImageError(f"{w}x{h} is {h * w / 1e6:.0f} megapixels; licodec codes up to "
                         f"{MAX_CODEC_PIXELS / 1e6:.0f} megapixels (no tiling yet)")  # fmt: skip
    q = check_quality(model, quality)
    x, pad_b, pad_r = to_tensor(source.rgb, model.downsampling)
    y = model.analysis(x, torch.tensor([q]))
    from licodec.refine import Target, auto_steps, refine_latents  # (the training losses: not for decoding)

    target = Target(x, h, w, source.channels)
    if refine_steps is None:
        refine_steps = auto_steps(model, q, target)
    if refine_steps > 0:
        y = refine_latents(model, target, y, q, refine_steps)
    prepared = prepare(model)  # built once per call for weights that are still changing
    sections = compress_latents(model, y, prepared)
    header = Header(model_name(model), prepared.fingerprint, q, source.channels, w, h, pad_b, pad_r)
    return Encoded(pack(header, sections), x, y, refine_steps)


def compress(image: SourceImage | np.ndarray, model: torch.nn.Module, quality: int | None = None,
             refine_steps: int | None = None) -> bytes:  # fmt: skip
    """Encode an image (SourceImage or (H, W, 3) uint8 RGB) into the bytes of a .lic file (``refine_steps``:
    as for ``encode``)."""
    return encode(image, model, quality, refine_steps).data


def read_header(data: bytes) -> Header:
    return unpack(data)[0]


@torch.no_grad()
def decompress(
    data: bytes, model: torch.nn.Module, deterministic: bool = False, fast: bool = False, precision: str | None = None
) -> np.ndarray:
    """Decode .lic bytes with ``model`` -> (H, W, 3) uint8, or (H, W) for greyscale sources.

    The decoded latents are bit-exact whatever the thread count or CPU (see entropy/tables.py). The
    synthesis transform then runs on oneDNN, whose float rounding depends on the thread count: pixels may
    differ by one level between thread counts, as with other float decoders. ``deterministic=True`` uses
    PyTorch's native convolutions instead, which give the same image for any thread count (slower).
    ``precision`` is the synthesis arithmetic: "float32" (the default), "bfloat16" (autocast; about 2.5x
    faster on CPUs with AVX512-BF16) or "int8" (the heavy 3x3 convolutions in int8 on oneDNN, the rest in
    bfloat16; int8.py). ``fast=True`` picks int8 where this build supports it, else bfloat16. The latents
    are the same in every case; the pixels differ slightly from the float32 reconstruction.
    Raises ContainerError for a damaged file and IncompatibleError when ``model`` did not write it.
    """
    precision = synthesis_precision(precision, fast, deterministic)
    header, sections = unpack(data)
    prepared = prepare(model)  # built once per call for weights that are still changing
    if header.model != model_name(model) or header.fingerprint != prepared.fingerprint:
        raise IncompatibleError(
            f"file was written by {header.model} (weights {header.fingerprint.hex()}), not by "
            f"{model_name(model)} (weights {prepared.fingerprint.hex()})"
        )
    if header.quality >= model.rates:
        raise IncompatibleError(f"quality {header.quality} is not a rate point of {header.model}")
    if len(sections) != len(model.sections):
        raise ContainerError(f"expected {len(model.sections)} sections ({', '.join(model.sections)}), "
                             f"found {len(sections)}")  # fmt: skip
    f = model.downsampling
    padded_h, padded_w = header.height + header.pad_bottom, header.width + header.pad_right
    if padded_h % f or padded_w % f:
        raise ContainerError(f"padded size {padded_w}x{padded_h} is not a multiple of {f}")
    try:
        y_hat = decompress_latents(model, sections, padded_h, padded_w, prepared)
    except (CodingError, ValueError, KeyError, OverflowError) as e:
        raise ContainerError(f"entropy-coded data does not decode: {e}") from e
    g_s = int8_synthesis(model, prepared) if precision == "int8" else None
    with _onednn(enabled=not deterministic), model.autocast(model.gain, precision != "float32"):
        x_hat = model.synthesis(y_hat, torch.tensor([header.quality]), g_s).float()
    rgb = to_uint8(x_hat, header.height, header.width)
    if header.channels == 1:
        return np.asarray(Image.fromarray(rgb).convert("L"))
    return rgb


# The oneDNN switch is process-wide: decodes in several threads hold this lock for their synthesis, so that
# a deterministic decode cannot have oneDNN switched back on under it by another thread (or the reverse).
# The synthesis is multi-threaded inside PyTorch already, so serializing it costs little.
SYNTHESIS_LOCK = threading.Lock()


@contextmanager
def _onednn(enabled: bool):
    # torch.backends.mkldnn.flags() would also touch TF32 settings and warn; only switch oneDNN itself.
    with SYNTHESIS_LOCK:
        before = torch._C._get_mkldnn_enabled()
        torch._C._set_mkldnn_enabled(enabled)
        try:
            yield
        finally:
            torch._C._set_mkldnn_enabled(before)
