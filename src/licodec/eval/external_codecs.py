"""The classical codecs that run through other libraries: HEIC (pillow-heif), JPEG XL (imagecodecs) and VVC
(ffmpeg with libvvenc) (licodec/eval/baselines.py describes their settings)."""

import io
import subprocess

import numpy as np

from licodec.eval.codec_interface import Codec, Setting


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
