"""Pure functions from density parameters to the probability tables handed to the entropy coder.

Encoder and decoder call the same functions on the same parameters. To make the tables identical even when
the parameters come from different thread counts or CPUs, everything here runs in float64 on canonical
(quantized) parameters, and the final probabilities are rounded to 12 significant bits: a float64 wobble of
a few ulps cannot move a value across such a coarse grid except with vanishing probability.

A table covers a window of ``width`` consecutive integers starting at ``offset`` plus one escape bin
(the last column) that carries the mass outside the window; escaped symbols are coded separately, so any
integer round-trips. Symbols are grouped by window width (classes about 1.5x apart) to keep tables narrow.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from licodec.entropy.factorized import FactorizedDensity
from licodec.entropy.families import TAIL_SCALES, TWO_TAILS
from licodec.entropy.mixture import DiscretizedMixture, MixtureParams

MAX_WIDTH = 256
MIN_ESCAPE = 1e-6
MANTISSA_BITS = 12
NEGLIGIBLE_WEIGHT = 1e-3  # components lighter than this do not widen the window
PARALLEL_TABLES = 16_384  # symbols per step from which table building keeps the caller's threads
# torch.set_num_threads also sets the count that a thread adopts on its first parallel work: a decode starting
# in another thread while this one has set one thread would take that one as its own, restore it when it
# leaves and hand it on to the threads after it. Waiting for the lock, a thread reads the caller's count.
# Re-entrant because the models yield a stage from inside table_threads, and the thread that walks the stages
# could come back in before that generator resumes.
_THREADS_LOCK = threading.RLock()


@contextmanager
def table_threads(symbols: int):
    """Threads for building the tables of one step of ``symbols`` symbols (float64 elementwise work).

    Large steps (the checkerboard's two, the octave codec's levels) build 1.4-1.8x faster on two threads
    than on one (benchmarks/entropy_coding.py --threads 1 / 2); the serial wavefront's small steps gain
    nothing and run on one thread, which also spares them the collapse of OpenMP threads when another
    process competes for the cores. The thread count moves float64 results by a few ulps at most, which the
    canonical parameters and 12-bit tables absorb (above), as they absorb the float64 networks' (h_s,
    entropy parameters), which always keep the caller's threads.

    Callers in other threads wait for the body to finish (the bodies are short): see _THREADS_LOCK."""
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        if symbols < PARALLEL_TABLES:
            torch.set_num_threads(1)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@dataclass
class TableGroup:
    """Tables for the symbols at ``index`` (into the flat symbol array being coded)."""

    index: np.ndarray  # (n,) int64
    offset: np.ndarray  # (n,) int32: the value of bin 0
    probs: np.ndarray  # (n, width + 1) float32, C-contiguous; the last column is the escape bin

    @property
    def width(self) -> int:
        return self.probs.shape[1] - 1


def canonical_mixture(mp: MixtureParams) -> MixtureParams:
    """Quantize parameters to a coarse grid (means 1/64, scales 1/16 octave, weights 1/1024, renormalized) in
    float64. Weights are (B, K, ...) with components on dim 1."""
    mp = mp.to(torch.float64)
    means = torch.round(mp.means * 64) / 64
    scales = torch.exp2(torch.round(torch.log2(mp.scales) * 16) / 16)
    weights = torch.round(mp.weights * 1024)
    weights = weights / weights.sum(dim=1, keepdim=True)  # rounded weights must still sum to one (exact division)
    return MixtureParams(weights, means, scales)


def _round_mantissa(p: torch.Tensor) -> torch.Tensor:
    """Round non-negative float64 values to MANTISSA_BITS significant bits (bit arithmetic, no pow/frexp)."""
    drop = 52 - (MANTISSA_BITS - 1)
    bits = p.view(torch.int64)
    return ((bits + (1 << (drop - 1))) & ~((1 << drop) - 1)).view(torch.float64)


def _finish(mass: torch.Tensor) -> np.ndarray:
    """(n, W) float64 bin masses -> (n, W + 1) float32 table with the escape bin last."""
    escape = (1.0 - mass.sum(dim=1, keepdim=True)).clamp_min(MIN_ESCAPE)
    table = _round_mantissa(torch.cat([mass.clamp_min(0.0), escape], dim=1))
    return np.ascontiguousarray(table.numpy().astype(np.float32))


def two_bin_masses(family: str, edges: torch.Tensor, means: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """(n, W + 1) bin edges -> (n, W) twice the masses F(b) - F(a), one CDF evaluation per edge.

    Each edge is evaluated on its near tail, t = F(-|e - mu| / s), so masses far from the mean are
    differences of small numbers (accurate) rather than of numbers close to one. A bin on one side of the
    mean has mass |t_b - t_a|; the one bin holding the mean has 1 - t_a - t_b.
    """
    factor, two_tail = TWO_TAILS[family]
    t = two_tail((edges - means).abs_().mul_(factor / scales))  # 2 F(-|x|) at every edge
    mass = (t[:, 1:] - t[:, :-1]).abs_()
    centre = (torch.round(means) - edges[:, :1] - 0.5).to(torch.int64)  # column of the bin holding the mean
    inside = ((centre >= 0) & (centre < mass.shape[1])).reshape(-1)
    rows, cols = torch.nonzero(inside).reshape(-1), centre[inside].reshape(-1)
    mass[rows, cols] = 2.0 - t[rows, cols] - t[rows, cols + 1]
    return mass


_WIDTHS = torch.tensor([2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256])


def _width_classes(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """Window width of each symbol: the smallest class >= hi - lo + 1 (classes ~1.5x apart), at most 256."""
    span = (hi - lo + 1).clamp(2, MAX_WIDTH)
    return _WIDTHS[torch.searchsorted(_WIDTHS, span)]


def _by_width(width: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, slice]]]:
    """A permutation that sorts symbols by width class, and the (width, slice) of each class in it."""
    order = torch.argsort(width, stable=True)
    classes, counts = torch.unique_consecutive(width[order], return_counts=True)
    bounds = [0, *torch.cumsum(counts, 0).tolist()]
    return order, [(w, slice(a, b)) for w, a, b in zip(classes.tolist(), bounds[:-1], bounds[1:], strict=True)]


def mixture_tables(mixture: DiscretizedMixture, mp: MixtureParams) -> list[TableGroup]:
    """Tables for every element of mp, flattened in (K-excluded) C-major order of a (1, K, C, P) layout."""
    mp = canonical_mixture(mp)
    k = mixture.k
    weights, means, scales = (t.reshape(k, -1) for t in (mp.weights, mp.means, mp.scales))  # (K, n)
    reach = torch.tensor([TAIL_SCALES[f] for f in mixture.families], dtype=torch.float64)[:, None] * scales
    heavy = weights >= NEGLIGIBLE_WEIGHT
    inf = torch.tensor(float("inf"), dtype=torch.float64)
    lo = torch.floor(torch.where(heavy, means - reach, inf).amin(0)).to(torch.int64)
    hi = torch.ceil(torch.where(heavy, means + reach, -inf).amax(0)).to(torch.int64)
    width = _width_classes(lo, hi)
    centre = torch.round((weights * means).sum(0)).to(torch.int64)
    lo = torch.where(hi - lo + 1 > MAX_WIDTH, centre - MAX_WIDTH // 2, lo)
    order, classes = _by_width(width)
    half_weights, means, scales, lo = weights[:, order] * 0.5, means[:, order], scales[:, order], lo[order]
    groups = []
    for w, part in classes:
        edges = (lo[part, None] + torch.arange(w + 1)).to(torch.float64) - 0.5  # (n, W + 1)
        mass = torch.zeros(edges.shape[0], w, dtype=torch.float64)
        for c, family in enumerate(mixture.families):
            bm = two_bin_masses(family, edges, means[c, part, None], scales[c, part, None])
            mass.addcmul_(half_weights[c, part, None], bm)
        groups.append(TableGroup(order[part].numpy(), lo[part].numpy().astype(np.int32), _finish(mass)))
    return groups


ChannelTables = list[tuple[np.ndarray, np.ndarray, np.ndarray]]  # (channels, window start, table) per width


def factorized_tables(tables: ChannelTables, shape: tuple[int, int, int]) -> list[TableGroup]:
    """Tables for a (C, H, W) hyper-latent flattened C-major, from its density's ``channel_tables``."""
    c, h, w = shape
    groups = []
    for channels, lo, table in tables:
        index = (channels[:, None] * (h * w) + np.arange(h * w)).reshape(-1)
        groups.append(TableGroup(index, np.repeat(lo, h * w), np.ascontiguousarray(np.repeat(table, h * w, axis=0))))
    return groups


@torch.no_grad()
def channel_tables(density: FactorizedDensity) -> ChannelTables:
    """(channels, window start, table) per width class: each channel's window comes from its tails. They
    depend on the weights alone, so they are built once with the model's Prepared (models/prepared.py)."""
    lower, upper = density.tails()
    lo, hi = torch.floor(lower).to(torch.int64), torch.ceil(upper).to(torch.int64)
    width = _width_classes(lo, hi)
    centre = torch.round((lower + upper) / 2).to(torch.int64)
    lo = torch.where(hi - lo + 1 > MAX_WIDTH, centre - MAX_WIDTH // 2, lo)
    tables = []
    for wc in torch.unique(width).tolist():
        channels = torch.nonzero(width == wc).reshape(-1)
        values = (lo[channels, None] + torch.arange(wc)).to(torch.float64)  # (c', W)
        mass = FactorizedDensitySlice(density, channels).likelihood(values[None, :, None, :])[0, :, 0, :]
        tables.append((channels.numpy(), lo[channels].numpy().astype(np.int32), _finish(mass)))
    return tables


class FactorizedDensitySlice(FactorizedDensity):
    """A view of some channels of a FactorizedDensity (shares its parameters, float64 on use)."""

    def __init__(self, density: FactorizedDensity, channels: torch.Tensor):
        torch.nn.Module.__init__(self)
        self.channels = len(channels)
        self.matrices = [m[channels] for m in density.matrices]
        self.biases = [b[channels] for b in density.biases]
        self.factors = [f[channels] for f in density.factors]
