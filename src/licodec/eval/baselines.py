"""Classical image codecs behind one small interface (the run over a folder is ``licodec.eval.baselines_run``).

Every codec goes through a maintained library; bytes are the real encoded file, decoded by the same
library, and all of them are measured in RGB against the 8-bit original.

- ``jpeg``: Pillow / libjpeg-turbo, quality 2-90, optimized Huffman tables. JFIF BT.601 full-range
  YCbCr, 4:2:0 (libjpeg's box-filter downsampling, "fancy" triangular upsampling when decoding).
- ``jpeg-444``: the same with ``subsampling=0``: 4:4:4.
- ``webp``: Pillow / libwebp, quality 0-90, ``method=6`` (slowest, best). libwebp's BT.601 limited-range
  YUV 4:2:0.
- ``jpeg2000``: Pillow / OpenJPEG, one quality layer at a target rate (the setting, in bpp), 9/7 wavelet,
  irreversible colour transform (BT.601-like YCbCr, no subsampling), raw J2K codestream without JP2 boxes.
- ``avif``: Pillow's plugin / libavif with the aom encoder (decoded with dav1d), quality 0-80, speed 4,
  aom ``tune=psnr``, 8-bit BT.601 full-range YCbCr 4:4:4 (libavif's default matrix; nclx box
  1/13/6/full). Bytes are the whole ISOBMFF file.
- ``heic``: pillow-heif / libheif with x265 (decoded with libde265), quality 0-55, preset slow,
  ``tune=psnr`` and psycho-visual RD off, 8-bit BT.601 full-range YCbCr 4:4:4 (``chroma=444``; nclx box
  1/13/6/full). Bytes are the whole ISOBMFF file.
- ``jpegxl``: imagecodecs / libjxl, Butteraugli distance 25-0.7, effort 7, raw codestream. Colour goes
  through libjxl's own XYB transform.
- ``vvc``: the ffmpeg of the ``imageio-ffmpeg`` wheel with libvvenc, QP 52-19, preset fast (not the
  slower presets, for time: see ``Vvc``), QPA off, one intra frame, raw Annex-B bitstream, decoded by
  ffmpeg's native VVC decoder. swscale converts RGB to BT.709 limited-range Y'CbCr 4:2:0 10-bit and back.

Perceptual tuning is switched off where a library lets us (aom ``tune=psnr`` instead of libavif's
default ``iq``; x265 ``tune=psnr`` instead of libheif's ``ssim``, plus ``psy-rd=0 psy-rdoq=0``; vvenc QPA
off), because the curves are read mainly in PSNR: on kodim23 aom's default costs 0.5-0.7 dB at equal
rate. libwebp's spatial noise shaping (``sns=50``) stays on: Pillow does not expose it. Every encoder runs
single-threaded, so times compare like with like and the run stays light on a shared machine. VVC times
include two ffmpeg process start-ups.
"""

import time

import numpy as np

from licodec.eval.codec_interface import Codec, Setting
from licodec.eval.external_codecs import Heic, JpegXL, Vvc
from licodec.eval.pillow_codecs import Avif, Jpeg420, Jpeg444, Jpeg2000, WebP
from licodec.eval.results import Measurement

__all__ = [
    "CODECS",
    "Codec",
    "Setting",
    "get_codec",
    "measure",
    "Avif",
    "Heic",
    "Jpeg420",
    "Jpeg444",
    "Jpeg2000",
    "JpegXL",
    "Vvc",
    "WebP",
]

CODECS: dict[str, type[Codec]] = {c.name: c for c in (Jpeg420, Jpeg444, WebP, Jpeg2000, Avif, Heic, JpegXL, Vvc)}


def get_codec(name: str) -> Codec:
    """A codec by its command-line name, e.g. ``get_codec("webp")``."""
    if name not in CODECS:
        raise ValueError(f"unknown codec {name!r}; valid: {', '.join(CODECS)}")
    return CODECS[name]()


def measure(codec: Codec, rgb: np.ndarray, setting: Setting) -> Measurement:
    """Encode and decode once, timing each side; metrics from ``licodec.eval.metrics`` on 8-bit RGB."""
    from licodec.eval.metrics import bpp, msssim, psnr

    t0 = time.perf_counter()
    data = codec.encode(rgb, setting)
    t1 = time.perf_counter()
    out = codec.decode(data, rgb.shape)
    t2 = time.perf_counter()
    if out.shape != rgb.shape or out.dtype != np.uint8:
        raise RuntimeError(f"{codec.name} decoded {out.dtype} {out.shape} for {rgb.shape}")
    h, w = rgb.shape[:2]
    return Measurement(len(data), bpp(len(data), h, w), psnr(rgb, out), msssim(rgb, out), t1 - t0, t2 - t1)
