"""Rate-distortion results in the JSON schema of the reference library (CompressAI).

One file per codec or model::

    {"name": "WebP", "description": "...",
     "results": {"bpp": [...], "psnr-rgb": [...], "ms-ssim": [...], "ms-ssim-db": [...],
                 "encoding_time": [...], "decoding_time": [...]},
     "settings": [...],                      # licodec addition: the quality setting of each point
     "per_image": {"kodim01.png": {"bytes": [...], "bpp": [...], ...}, ...}}

Each list has one entry per quality setting (a rate point). ``results`` holds means over the images:
``bpp``, ``psnr-rgb`` and ``ms-ssim`` are averaged per image (PSNR is the mean of per-image PSNRs, as in
the reference library), and ``ms-ssim-db`` is ``-10 log10(1 - mean MS-SSIM)`` of that mean, as its plot
tool does. Times are seconds per image. Files written by the reference library (keys ``psnr`` or
``ms-ssim-rgb``, no ``ms-ssim-db``, no ``per_image``) load too.
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

METRICS = ("bpp", "psnr-rgb", "ms-ssim", "ms-ssim-db", "encoding_time", "decoding_time")
# Older or other spellings of the same quantities in the reference library's result files.
_ALIASES = {"psnr": "psnr-rgb", "ms-ssim-rgb": "ms-ssim"}


@dataclass(frozen=True)
class Measurement:
    """One codec at one setting on one image."""

    num_bytes: int
    bpp: float
    psnr_rgb: float
    ms_ssim: float
    encoding_time: float
    decoding_time: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_dict(cls, d: dict) -> "Measurement":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


@dataclass
class RDCurve:
    """A rate-distortion curve: one entry per rate point in every metric list."""

    name: str
    description: str = ""
    bpp: list[float] = field(default_factory=list)
    psnr_rgb: list[float] = field(default_factory=list)
    ms_ssim: list[float] = field(default_factory=list)
    ms_ssim_db: list[float] = field(default_factory=list)
    encoding_time: list[float] = field(default_factory=list)
    decoding_time: list[float] = field(default_factory=list)
    settings: list = field(default_factory=list)
    per_image: dict[str, dict[str, list[float]]] = field(default_factory=dict)

    def metric(self, key: str) -> list[float]:
        """The list stored under a schema key such as ``"psnr-rgb"`` or ``"ms-ssim-db"``."""
        key = _ALIASES.get(key, key)
        if key not in METRICS:
            raise ValueError(f"unknown metric {key!r}; valid: {', '.join(METRICS)}")
        values = getattr(self, key.replace("-", "_"))
        if not values:
            raise ValueError(f"{self.name!r} has no {key!r} values")
        return values

    def to_dict(self) -> dict:
        results = {k: getattr(self, k.replace("-", "_")) for k in METRICS if getattr(self, k.replace("-", "_"))}
        d = {"name": self.name, "description": self.description, "results": results}
        if self.settings:
            d["settings"] = self.settings
        if self.per_image:
            d["per_image"] = self.per_image
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "RDCurve":
        if not isinstance(d, dict) or "name" not in d or not isinstance(d.get("results"), dict):
            raise ValueError("not a results file: expected an object with 'name' and 'results'")
        results = {_ALIASES.get(k, k): v for k, v in d["results"].items()}
        if "bpp" not in results:
            raise ValueError(f"results of {d['name']!r} have no 'bpp' list")
        n = len(results["bpp"])
        for key in METRICS:
            if key in results and len(results[key]) != n:
                raise ValueError(f"{d['name']!r}: {key!r} has {len(results[key])} values, 'bpp' has {n}")
        if "ms-ssim-db" not in results and "ms-ssim" in results:
            from licodec.eval.metrics import msssim_db

            results["ms-ssim-db"] = [msssim_db(v) for v in results["ms-ssim"]]
        fields = {k.replace("-", "_"): [float(x) for x in results[k]] for k in METRICS if k in results}
        return cls(
            name=str(d["name"]),
            description=str(d.get("description", "")),
            settings=list(d.get("settings", [])),
            per_image=dict(d.get("per_image", {})),
            **fields,
        )


def load_curve(path: str | Path) -> RDCurve:
    """Read a results JSON; raises FileNotFoundError, or ValueError naming the file if it is malformed."""
    path = Path(path)
    try:
        return RDCurve.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, ValueError, TypeError) as e:
        raise ValueError(f"{path}: {e}") from e


def save_curve(curve: RDCurve, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(curve.to_dict(), indent=2) + "\n")
    return path


def curve_from_measurements(
    name: str, description: str, settings: list, per_image: dict[str, list[Measurement]]
) -> RDCurve:
    """Average per-image measurements (one list entry per setting, for every image) into a curve."""
    from licodec.eval.metrics import msssim_db

    if not per_image:
        raise ValueError(f"{name!r}: no images measured")
    for image, points in per_image.items():
        if len(points) != len(settings):
            raise ValueError(f"{name!r}: {image} has {len(points)} points for {len(settings)} settings")

    def mean(attr: str, i: int) -> float:
        return math.fsum(getattr(points[i], attr) for points in per_image.values()) / len(per_image)

    curve = RDCurve(name=name, description=description, settings=list(settings))
    for i in range(len(settings)):
        curve.bpp.append(mean("bpp", i))
        curve.psnr_rgb.append(mean("psnr_rgb", i))
        curve.ms_ssim.append(mean("ms_ssim", i))
        curve.ms_ssim_db.append(msssim_db(curve.ms_ssim[-1]))
        curve.encoding_time.append(mean("encoding_time", i))
        curve.decoding_time.append(mean("decoding_time", i))
    for image, points in per_image.items():
        curve.per_image[image] = {
            "bytes": [p.num_bytes for p in points],
            "bpp": [p.bpp for p in points],
            "psnr-rgb": [p.psnr_rgb for p in points],
            "ms-ssim": [p.ms_ssim for p in points],
            "ms-ssim-db": [msssim_db(p.ms_ssim) for p in points],
            "encoding_time": [p.encoding_time for p in points],
            "decoding_time": [p.decoding_time for p in points],
        }
    return curve
