"""The classical codecs Pillow itself runs: JPEG (4:2:0 and 4:4:4), WebP, JPEG 2000 and AVIF (licodec/eval/baselines.py
describes their settings)."""

import io

import numpy as np
from PIL import Image

from licodec.eval.codec_interface import Codec, Setting


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
