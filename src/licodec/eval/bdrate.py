"""Bjøntegaard deltas between rate-distortion curves, with PCHIP interpolation.

This is the method of the ``bjontegaard`` package (``method="pchip"``, its recommended default and the one
of the later VCEG/JVET common test conditions), not the cubic polynomial fit of the original VCEG-M33:

* BD-rate: interpolate log10(rate) as a function of quality with a monotone piecewise cubic (PCHIP, the
  Fritsch-Carlson/Butland scheme of ``scipy.interpolate.PchipInterpolator``) through the points, integrate
  both curves over the quality interval where they overlap, and turn the mean log-rate difference into a
  percentage: ``(10 ** mean_diff - 1) * 100``. Negative means the test codec needs fewer bits.
* BD-PSNR (or BD of any quality metric): the same with the roles swapped, quality as a function of
  log10(rate), averaged over the overlapping log-rate interval; in the metric's unit (dB).

Points are sorted by rate. A point whose quality is not above that of the previous (cheaper) point is
dropped, since interpolation needs quality to increase with rate; the reference package would refuse
such a curve. ``overlap`` is the overlap interval as a fraction of the union of both curves' ranges; the
reference package warns below 0.75, and the result is NaN when the curves do not overlap.
"""

import math
from dataclasses import dataclass

import numpy as np

from licodec.eval.results import RDCurve

MIN_OVERLAP = 0.75


def _clean(rate, quality) -> tuple[np.ndarray, np.ndarray]:
    """Sort by rate; keep finite points whose quality rises strictly with rate."""
    rate, quality = np.asarray(rate, dtype=np.float64), np.asarray(quality, dtype=np.float64)
    if rate.shape != quality.shape or rate.ndim != 1:
        raise ValueError(f"rate and quality must be 1-D of one length, got {rate.shape} and {quality.shape}")
    keep = np.isfinite(rate) & np.isfinite(quality) & (rate > 0)
    order = np.argsort(rate[keep], kind="stable")
    rate, quality = rate[keep][order], quality[keep][order]
    mono = [0] if len(rate) else []
    for i in range(1, len(rate)):
        if quality[i] > quality[mono[-1]] and rate[i] > rate[mono[-1]]:
            mono.append(i)
    if len(mono) < 2:
        raise ValueError("a curve needs at least 2 points with quality increasing with rate")
    return rate[mono], quality[mono]


def _mean_difference(x_anchor, y_anchor, x_test, y_test) -> tuple[float, float]:
    """Mean of (y_test - y_anchor) over the overlap of the x ranges, and the overlap fraction."""
    from scipy.interpolate import PchipInterpolator

    lo, hi = max(x_anchor[0], x_test[0]), min(x_anchor[-1], x_test[-1])
    union = max(x_anchor[-1], x_test[-1]) - min(x_anchor[0], x_test[0])
    if hi <= lo:
        return math.nan, 0.0
    area_anchor = PchipInterpolator(x_anchor, y_anchor).integrate(lo, hi)
    area_test = PchipInterpolator(x_test, y_test).integrate(lo, hi)
    return float((area_test - area_anchor) / (hi - lo)), float((hi - lo) / union)


def bd_rate(rate_anchor, quality_anchor, rate_test, quality_test) -> float:
    """Average rate difference of test vs anchor at equal quality, in percent (negative = test is better)."""
    ra, qa = _clean(rate_anchor, quality_anchor)
    rt, qt = _clean(rate_test, quality_test)
    diff, _ = _mean_difference(qa, np.log10(ra), qt, np.log10(rt))
    return (10**diff - 1) * 100


def bd_quality(rate_anchor, quality_anchor, rate_test, quality_test) -> float:
    """Average quality difference of test vs anchor at equal rate (BD-PSNR for PSNR), in the metric's unit."""
    ra, qa = _clean(rate_anchor, quality_anchor)
    rt, qt = _clean(rate_test, quality_test)
    return _mean_difference(np.log10(ra), qa, np.log10(rt), qt)[0]


bd_psnr = bd_quality


@dataclass(frozen=True)
class BDRow:
    """One curve against the anchor."""

    name: str
    bd_rate: float  # percent, negative = fewer bits than the anchor at equal quality
    bd_quality: float  # metric units (dB), positive = better than the anchor at equal rate
    overlap_quality: float  # fraction of the quality range both curves cover (for BD-rate)
    overlap_rate: float  # fraction of the log-rate range both curves cover (for BD-quality)
    points: int  # points used after dropping non-increasing ones

    @property
    def low_overlap(self) -> bool:
        return min(self.overlap_quality, self.overlap_rate) < MIN_OVERLAP


def find_curve(curves: list[RDCurve], name: str) -> RDCurve:
    """The curve called ``name`` (case-insensitive); ValueError listing the names otherwise."""
    matches = [c for c in curves if c.name.lower() == name.lower()]
    if not matches:
        raise ValueError(f"no curve named {name!r}; curves: {', '.join(repr(c.name) for c in curves)}")
    return matches[0]


def bd_table(curves: list[RDCurve], anchor_name: str, metric: str = "psnr-rgb") -> list[BDRow]:
    """BD-rate and BD-quality of every curve (anchor included, at 0) against the curve named ``anchor_name``."""
    anchor = find_curve(curves, anchor_name)
    ra, qa = _clean(anchor.bpp, anchor.metric(metric))
    rows = []
    for curve in curves:
        rt, qt = _clean(curve.bpp, curve.metric(metric))
        rate_diff, overlap_q = _mean_difference(qa, np.log10(ra), qt, np.log10(rt))
        quality_diff, overlap_r = _mean_difference(np.log10(ra), qa, np.log10(rt), qt)
        rows.append(BDRow(curve.name, (10**rate_diff - 1) * 100, quality_diff, overlap_q, overlap_r, len(rt)))
    return rows


def format_table(rows: list[BDRow], anchor_name: str, metric: str = "psnr-rgb") -> str:
    """A plain-text table of ``bd_table`` rows."""
    unit = "BD-PSNR" if metric == "psnr-rgb" else f"BD-{metric}"
    width = max([len(r.name) for r in rows] + [5])
    lines = [
        f"anchor: {anchor_name}   metric: {metric}   (pchip; * = overlap below {MIN_OVERLAP:.0%})",
        f"{'curve':<{width}}  {'BD-rate':>9}  {unit + ' (dB)':>16}  {'overlap':>8}  points",
    ]
    for r in rows:
        flag = "*" if r.low_overlap else " "
        overlap = min(r.overlap_quality, r.overlap_rate)
        cells = f"{r.bd_rate:>8.2f}%  {r.bd_quality:>+16.3f}  {overlap:>7.0%}{flag}  {r.points}"
        lines.append(f"{r.name:<{width}}  {cells}")
    return "\n".join(lines)
