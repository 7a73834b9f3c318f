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

import io
import subprocess
import time
from abc import ABC, abstractmethod

import numpy as np
from PIL import Image

from licodec.eval.results import Measurement

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


class _PillowCodec(Codec):
    format: str  # Pillow's format name
    feature: str  # PIL.features name

    def options(self, setting: Setting) -> dict:
        raise NotImplementedError

    def requirements(self) -> str | None:
        from PIL import features

        if not features.check(self.feature):
            return f"Pillow {Image.__version__} was built without {self.feature}"
        return None

    def description(self) -> str:
        from PIL import features

        return f"{self.label}: Pillow {Image.__version__}, {self.feature} {features.version(self.feature)}"

    def encode(self, rgb: np.ndarray, setting: Setting) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, self.format, **self.options(setting))
        return buf.getvalue()

    def decode(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        with Image.open(io.BytesIO(data)) as im:
            return np.array(im.convert("RGB"))


class Jpeg420(_PillowCodec):
    """Baseline JPEG, 4:2:0, libjpeg-turbo through Pillow (IJG quality scaling of the Annex K tables)."""

    name, label, setting_name = "jpeg", "JPEG 4:2:0", "quality"
    format, feature = "JPEG", "jpg"
    settings = (2, 5, 10, 15, 20, 30, 40, 50, 60, 70, 80, 90)
    subsampling = 2  # Pillow: 0 = 4:4:4, 1 = 4:2:2, 2 = 4:2:0

    def options(self, setting: Setting) -> dict:
        return {"quality": int(setting), "subsampling": self.subsampling, "optimize": True}

    def description(self) -> str:
        from PIL import features

        turbo = features.version("libjpeg_turbo")
        return f"{super().description()} (libjpeg-turbo {turbo}), subsampling={self.subsampling}, optimize=True"


class Jpeg444(Jpeg420):
    """Baseline JPEG without chroma subsampling."""

    name, label = "jpeg-444", "JPEG 4:4:4"
    subsampling = 0


class WebP(_PillowCodec):
    """Lossy WebP (VP8 intra), libwebp through Pillow, slowest/best method."""

    name, label, setting_name = "webp", "WebP", "quality"
    format, feature = "WEBP", "webp"
    settings = (0, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90)

    def options(self, setting: Setting) -> dict:
        return {"quality": int(setting), "method": 6}

    def description(self) -> str:
        return f"{super().description()}, method=6"


class Jpeg2000(_PillowCodec):
    """JPEG 2000 through OpenJPEG. A setting is the target rate in bpp (OpenJPEG rate control).

    Pillow's ``quality_mode="rates"`` takes a compression ratio: 24 bits per RGB pixel / target bpp.
    The 9/7 wavelet (``irreversible=True``) and the colour transform (``mct=1``) are not Pillow's
    defaults but are what lossy JPEG 2000 means; without them it codes R, G, B with the 5/3 wavelet.
    """

    name, label, setting_name = "jpeg2000", "JPEG 2000", "target bpp"
    format, feature = "JPEG2000", "jpg_2000"
    settings = (0.06, 0.09, 0.125, 0.18, 0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0)

    def options(self, setting: Setting) -> dict:
        ratio = 24.0 / float(setting)
        return {"quality_mode": "rates", "quality_layers": [ratio], "irreversible": True, "mct": 1, "no_jp2": True}

    def description(self) -> str:
        return f"{super().description()}, irreversible=True, mct=1, one layer, J2K codestream"


class Avif(_PillowCodec):
    """AVIF (AV1 intra) through Pillow's plugin: libavif with the aom encoder, 4:4:4, 8-bit."""

    name, label, setting_name = "avif", "AVIF 4:4:4", "quality"
    format, feature = "AVIF", "avif"
    settings = (0, 10, 20, 30, 40, 50, 55, 60, 65, 70, 80)
    # Pillow's default is 6; on Kodak 4 gains ~0.5 dB for 5x the time, 2 another ~0.15 dB for 2.5x more.
    speed = 4

    def requirements(self) -> str | None:
        reason = super().requirements()
        if reason is None:
            from PIL import _avif  # Pillow's own extension: the only way to ask for a given encoder

            if not _avif.encoder_codec_available("aom"):
                return f"Pillow's libavif has no aom encoder ({_avif.codec_versions()})"
        return reason

    def options(self, setting: Setting) -> dict:
        return {"quality": int(setting), "subsampling": "4:4:4", "speed": self.speed, "codec": "aom",
                "max_threads": 1, "advanced": {"tune": "psnr"}}  # fmt: skip

    def description(self) -> str:
        from PIL import _avif

        return f"{super().description()} ({_avif.codec_versions()}), 4:4:4, speed={self.speed}, aom tune=psnr"


class Heic(Codec):
    """HEIC (HEVC intra) through pillow-heif: libheif + x265 in 4:4:4, decoded by libde265."""

    name, label, setting_name = "heic", "HEIC 4:4:4", "quality"
    settings = (0, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55)
    # libheif's x265 "tune=psnr" leaves psycho-visual RD on; off, Kodak gains ~0.8-1 dB for ~1-5 % more bytes.
    x265 = {"preset": "slow", "tune": "psnr", "x265:psy-rd": "0", "x265:psy-rdoq": "0", "x265:pools": "1",
            "x265:frame-threads": "1"}  # fmt: skip

    def requirements(self) -> str | None:
        try:
            import pillow_heif
        except ImportError as e:
            return f"pillow-heif is not installed ({e})"
        if "x265" not in pillow_heif.libheif_info().get("encoders", {}):
            return "this libheif has no x265 encoder"
        return None

    def description(self) -> str:
        import pillow_heif

        info = pillow_heif.libheif_info()
        return (f"{self.label}: pillow-heif {pillow_heif.__version__}, libheif {info['libheif']}, "
                f"{info['encoders']['x265']}, chroma=444, {self.x265}")  # fmt: skip

    def encode(self, rgb: np.ndarray, setting: Setting) -> bytes:
        import pillow_heif

        buf = io.BytesIO()
        height, width = rgb.shape[:2]
        # pillow-heif adds "chroma" to the dict it is given: hand it a fresh copy each time.
        pillow_heif.encode("RGB", (width, height), rgb.tobytes(), buf, quality=int(setting), chroma=444,
                           enc_params=dict(self.x265))  # fmt: skip
        return buf.getvalue()

    def decode(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        import pillow_heif

        return np.array(pillow_heif.open_heif(io.BytesIO(data), convert_hdr_to_8bit=True))


class JpegXL(Codec):
    """JPEG XL (VarDCT) through imagecodecs' libjxl. A setting is the Butteraugli distance (lower = better)."""

    name, label, setting_name = "jpegxl", "JPEG XL", "distance"
    settings = (25.0, 18.0, 12.0, 8.0, 6.0, 4.0, 3.0, 2.0, 1.5, 1.0, 0.7)
    effort = 7

    def requirements(self) -> str | None:
        try:
            import imagecodecs
        except ImportError as e:
            return f"imagecodecs is not installed ({e})"
        return None if imagecodecs.JPEGXL.available else "this imagecodecs was built without libjxl"

    def description(self) -> str:
        import imagecodecs

        return f"{self.label}: imagecodecs {imagecodecs.__version__}, libjxl, effort={self.effort}"

    def encode(self, rgb: np.ndarray, setting: Setting) -> bytes:
        import imagecodecs

        return bytes(imagecodecs.jpegxl_encode(rgb, distance=float(setting), effort=self.effort, numthreads=1))

    def decode(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        import imagecodecs

        return np.array(imagecodecs.jpegxl_decode(data, numthreads=1))


class Vvc(Codec):
    """VVC intra (one frame) with the ffmpeg binary of the ``imageio-ffmpeg`` wheel: libvvenc + native decoder.

    libvvenc accepts only ``yuv420p10le``, so ffmpeg's swscale converts RGB to BT.709 limited-range Y'CbCr
    4:2:0 10-bit (lanczos chroma filter, accurate rounding, full chroma interpolation) and, after decoding
    with ffmpeg's own VVC decoder, back to RGB with the same matrix and range. Odd sizes are edge-padded to
    even ones and cropped after decoding. Very low QPs (< 2) fail inside vvenc for some inputs, and ffmpeg
    then exits 0 with no output: an empty bitstream is an error here. ``preset`` trades time for rate:
    on Kodak "fast" is ~4x the time of "faster" for ~0.5 dB, "medium" ~4x again for ~0.15 dB more.
    """

    name, label, setting_name = "vvc", "VVC intra 4:2:0", "qp"
    settings = (52, 49, 46, 43, 40, 37, 34, 31, 28, 25, 22, 19)
    _scale = "lanczos+accurate_rnd+full_chroma_int"

    def __init__(self, settings: tuple[Setting, ...] | None = None, preset: str = "fast"):
        super().__init__(settings)
        self.preset = preset

    def _ffmpeg(self) -> str:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()

    def requirements(self) -> str | None:
        try:
            exe = self._ffmpeg()
            enc = subprocess.run([exe, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout
            dec = subprocess.run([exe, "-hide_banner", "-decoders"], capture_output=True, text=True).stdout
        except (ImportError, RuntimeError, OSError) as e:
            return f"no ffmpeg from imageio-ffmpeg ({type(e).__name__}: {e})"
        if " libvvenc " not in enc:
            return f"{exe} has no libvvenc encoder"
        if not any(line.split()[1:2] == ["vvc"] for line in dec.splitlines()):
            return f"{exe} has no native VVC decoder"
        return None

    def description(self) -> str:
        exe = self._ffmpeg()
        version = subprocess.run([exe, "-version"], capture_output=True, text=True).stdout.split("\n")[0]
        return (f"{self.label}: {version.split(' Copyright')[0]}, libvvenc preset={self.preset}, qpa=0, "
                f"BT.709 limited-range yuv420p10le via swscale ({self._scale}), raw Annex-B bitstream")  # fmt: skip

    def _run(self, args: list[str], data: bytes) -> bytes:
        cmd = [self._ffmpeg(), "-hide_banner", "-nostdin", "-loglevel", "error", *args]
        proc = subprocess.run(cmd, input=data, capture_output=True)
        if proc.returncode != 0 or not proc.stdout:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
            raise RuntimeError(f"ffmpeg exited {proc.returncode} with no output: {tail[0]}")
        return proc.stdout

    def encode(self, rgb: np.ndarray, setting: Setting) -> bytes:
        height, width = rgb.shape[:2]
        padded = np.pad(rgb, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")
        return self._run([
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{padded.shape[1]}x{padded.shape[0]}", "-i", "-",
            "-vf", f"scale=out_color_matrix=bt709:out_range=limited:flags={self._scale}",
            "-pix_fmt", "yuv420p10le", "-colorspace", "bt709", "-color_range", "tv",
            "-c:v", "libvvenc", "-preset", self.preset, "-qp", str(int(setting)), "-qpa", "0", "-threads", "1",
            "-frames:v", "1", "-f", "vvc", "-",
        ], padded.tobytes())  # fmt: skip

    def decode(self, data: bytes, shape: tuple[int, ...]) -> np.ndarray:
        height, width = shape[0] + shape[0] % 2, shape[1] + shape[1] % 2
        raw = self._run([
            "-threads", "1", "-c:v", "vvc", "-f", "vvc", "-i", "-",
            "-vf", f"scale=in_color_matrix=bt709:in_range=limited:flags={self._scale}",
            "-pix_fmt", "rgb24", "-f", "rawvideo", "-",
        ], data)  # fmt: skip
        if len(raw) != height * width * 3:
            raise RuntimeError(f"ffmpeg decoded {len(raw)} bytes, expected {height}x{width}x3")
        return np.frombuffer(raw, np.uint8).reshape(height, width, 3)[: shape[0], : shape[1]].copy()


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
