"""Discretized location-scale families: P(k) = F((k + 1/2 - mu)/s) - F((k - 1/2 - mu)/s).

Each family is described by its CDF on standardized values. Bin masses are evaluated on the side of the
mean where both CDF values are small (all three densities are symmetric), so a bin hundreds of scales into
the tail gets a tiny positive mass instead of 1 - 1 = 0, and gradients stay finite.
"""

import math
from collections.abc import Callable

import torch


def gaussian_cdf(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * torch.special.erfc(x * (-1.0 / math.sqrt(2.0)))


def laplace_cdf(x: torch.Tensor) -> torch.Tensor:
    half_tail = 0.5 * torch.exp(-x.abs())
    return torch.where(x <= 0, half_tail, 1.0 - half_tail)


def logistic_cdf(x: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(x)


FAMILIES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "gaussian": gaussian_cdf,
    "laplace": laplace_cdf,
    "logistic": logistic_cdf,
}

# Tails in bulk: 2 F(-x) for x = factor * |v - mu| / s >= 0, as (factor, function of x). Twice the mass beyond
# a point, written so that building coding tables costs one multiply and one special function per edge.
TWO_TAILS: dict[str, tuple[float, Callable[[torch.Tensor], torch.Tensor]]] = {
    "gaussian": (1.0 / math.sqrt(2.0), torch.special.erfc),
    "laplace": (1.0, lambda x: torch.exp(x.neg_())),
    "logistic": (1.0, lambda x: torch.sigmoid(x.neg_()).mul_(2.0)),
}

# How many scales a coding window reaches on each side: the mass left outside is about 1e-4, whose
# escapes cost ~0.002 bit per symbol on average, while narrow windows keep table building fast.
TAIL_SCALES: dict[str, float] = {"gaussian": 4.0, "laplace": 9.5, "logistic": 9.5}


def discretized_likelihood(
    family: str,
    y_hat: torch.Tensor,
    means: torch.Tensor,
    scales: torch.Tensor,
    bounds: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Mass of the unit bin around each integer y_hat under family(means, scales).

    With ``bounds=(lo, hi)`` the outermost bins take the whole tail (Cheng et al. 2020): y_hat <= lo gets
    F(lo + 1/2) and y_hat >= hi gets 1 - F(hi - 1/2). Scales must already be positive.
    """
    cdf = FAMILIES[family]
    distance = (y_hat - means).abs()
    upper = cdf((0.5 - distance) / scales)
    lower = cdf((-0.5 - distance) / scales)
    mass = upper - lower
    if bounds is not None:
        lo, hi = bounds
        # Only one tail of a boundary bin is open; by symmetry both cases are one CDF value.
        left_tail = cdf((y_hat + 0.5 - means) / scales)
        right_tail = cdf((means - y_hat + 0.5) / scales)
        mass = torch.where(y_hat <= lo, left_tail, torch.where(y_hat >= hi, right_tail, mass))
    return mass
