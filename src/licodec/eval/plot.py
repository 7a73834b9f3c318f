"""Rate-distortion plots: PSNR and MS-SSIM (dB) against bits per pixel, one line per codec or model.

Uses matplotlib's object API with the Agg canvas, so it never opens a window and never changes the
global pyplot backend of the program that calls it.
"""

from itertools import cycle
from pathlib import Path

import numpy as np

from licodec.eval.results import RDCurve

FIGSIZE = (13.0, 5.5)  # inches; the PNG is FIGSIZE * DPI pixels
DPI = 120
_PANELS = (("psnr-rgb", "PSNR RGB (dB)"), ("ms-ssim-db", "MS-SSIM (dB): -10 log10(1 - MS-SSIM)"))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "<", ">", "*", "h", "p")


def _points(curve: RDCurve, metric: str) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        y = np.asarray(curve.metric(metric), dtype=np.float64)
    except ValueError:  # the curve has no such metric (e.g. a file without MS-SSIM)
        return None
    x = np.asarray(curve.bpp, dtype=np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    order = np.argsort(x[keep], kind="stable")
    return x[keep][order], y[keep][order]


def _fit_y(ax, series: list[tuple[np.ndarray, np.ndarray]], zoom: tuple[float, float]) -> None:
    """Y limits that fit the points inside the zoomed rate range (interpolated at its edges)."""
    ys = []
    for x, y in series:
        inside = (x >= zoom[0]) & (x <= zoom[1])
        ys.extend(y[inside])
        if len(x) >= 2:
            ys.extend(np.interp([v for v in zoom if x[0] <= v <= x[-1]], x, y))
    if ys:
        lo, hi = min(ys), max(ys)
        pad = 0.05 * (hi - lo) or 0.5
        ax.set_ylim(lo - pad, hi + pad)


def plot_rd(
    curves: list[RDCurve],
    out_png: str | Path,
    zoom: tuple[float, float] | None = None,
    title: str | None = None,
) -> Path:
    """Write a two-panel RD plot (PSNR and MS-SSIM dB vs bpp) of ``curves`` to ``out_png``.

    ``zoom`` = (bpp_min, bpp_max) limits the rate axis and fits the quality axes to it. Curves without
    MS-SSIM values are left out of that panel only. Returns the path written.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("nothing to plot: no curves given")
    if zoom is not None and not 0 <= zoom[0] < zoom[1]:
        raise ValueError(f"zoom must be (bpp_min, bpp_max) with 0 <= bpp_min < bpp_max, got {zoom}")
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2)
    colors = _palette(len(curves))
    for ax, (metric, ylabel) in zip(axes, _PANELS, strict=True):
        series = []
        for curve, color, marker in zip(curves, colors, cycle(_MARKERS)):
            points = _points(curve, metric)
            if points is None or len(points[0]) == 0:
                continue
            series.append(points)
            ax.plot(*points, color=color, marker=marker, markersize=4.5, linewidth=1.6, label=curve.name)
        ax.set_xlabel("rate (bits per pixel)")
        ax.set_ylabel(ylabel)
        ax.grid(True, which="major", alpha=0.45)
        ax.grid(True, which="minor", alpha=0.15)
        ax.minorticks_on()
        if zoom is not None:
            ax.set_xlim(*zoom)
            _fit_y(ax, series, zoom)
        if not series:
            ax.text(0.5, 0.5, f"no {metric} values", transform=ax.transAxes, ha="center", color="gray")
    handles, labels = axes[0].get_legend_handles_labels()
    for h, label in zip(*axes[1].get_legend_handles_labels(), strict=True):
        if label not in labels:
            handles.append(h)
            labels.append(label)
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    if title:
        fig.suptitle(title)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=DPI)
    return out_png


def _palette(n: int) -> list[tuple]:
    """Distinct colours: tab10, then tab20's lighter shades for more than ten curves."""
    from matplotlib import colormaps

    colors = list(colormaps["tab10"].colors) + list(colormaps["tab20"].colors[1::2])
    return [colors[i % len(colors)] for i in range(n)]


def plot_latent_maps(maps, out_png: str | Path, title: str = "") -> Path:
    """Cheng 2020 Fig. 3 for one channel (a ``LatentMaps``): source, y_hat, per-component weight / mean /
    scale, normalized residual and bits, one panel each, in one PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = maps.weights.shape[0]
    panels = [("source image", maps.image, None), (f"y_hat (channel {maps.channel})", maps.y_hat, "coolwarm")]
    for i in range(k):
        family = maps.families[i]
        panels += [(f"weight {i + 1} ({family})", maps.weights[i], "viridis"),
                   (f"mean {i + 1}", maps.means[i], "coolwarm"),
                   (f"scale {i + 1}", maps.scales[i], "magma")]  # fmt: skip
    panels += [("(y_hat - mu) / sigma", maps.residual, "coolwarm"),
               (f"bits per element ({maps.channel_bits:.0f} in all)", maps.bits, "inferno")]  # fmt: skip
    cols = 3 if k > 1 else 4
    rows = -(-len(panels) // cols)
    aspect = maps.y_hat.shape[0] / maps.y_hat.shape[1]
    fig = Figure(figsize=(4.2 * cols, 4.2 * rows * aspect + 0.8), dpi=DPI)
    FigureCanvasAgg(fig)
    for i, (name, data, cmap) in enumerate(panels):
        ax = fig.add_subplot(rows, cols, i + 1)
        if cmap is None:
            ax.imshow(data)
        else:
            symmetric = cmap == "coolwarm"
            limit = float(np.abs(data).max()) or 1.0
            image = ax.imshow(data, cmap=cmap, vmin=-limit if symmetric else None, vmax=limit if symmetric else None)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png)
    return out_png
