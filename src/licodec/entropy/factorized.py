"""The non-parametric factorized density of the hyper-latent z (Ballé et al. 2018, appendix 6.1)."""

import math

import torch
import torch.nn.functional as F
from torch import nn

from licodec.entropy.bounds import LIKELIHOOD_BOUND, lower_bound


class FactorizedDensity(nn.Module):
    """A per-channel univariate density, learned as the derivative of a monotone MLP c(x) = logit(CDF).

    Its coding range is derived from the density itself (``tails``): no auxiliary loss, no learned quantiles.
    """

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0):
        super().__init__()
        self.channels = channels
        dims = (1, *filters, 1)
        scale = init_scale ** (1 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for i in range(len(filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, dims[i + 1], 1).uniform_(-0.5, 0.5)))
            if i < len(filters):
                self.factors.append(nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def logits_cdf(self, x: torch.Tensor) -> torch.Tensor:
        """x: (C, 1, n) -> logit of the CDF at x, (C, 1, n). Monotone in x by construction."""
        dtype = x.dtype
        for i, matrix in enumerate(self.matrices):
            x = torch.matmul(F.softplus(matrix.to(dtype)), x) + self.biases[i].to(dtype)
            if i < len(self.factors):
                x = x + torch.tanh(self.factors[i].to(dtype)) * torch.tanh(x)
        return x

    def likelihood(self, z_hat: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> mass of the unit bin around each value, lower-bounded."""
        b, c = z_hat.shape[:2]
        values = z_hat.transpose(0, 1).reshape(c, 1, -1)
        lower = self.logits_cdf(values - 0.5)
        upper = self.logits_cdf(values + 0.5)
        # Evaluate on the side where both sigmoids are small, as with the parametric families.
        sign = -torch.sign(lower + upper).detach()
        mass = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        mass = mass.reshape(c, b, *z_hat.shape[2:]).transpose(0, 1)
        return lower_bound(mass, LIKELIHOOD_BOUND)

    @torch.no_grad()
    def tails(self, tail_mass: float = 1e-6, steps: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-channel (lower, upper) points where the CDF equals tail_mass/2 and 1 - tail_mass/2.

        Found by bisection on the monotone logit-CDF in float64, so encoder and decoder agree.
        """
        target = math.log(tail_mass / 2) - math.log1p(-tail_mass / 2)  # logit(tail_mass / 2)
        found = []
        for goal in (target, -target):
            lo = torch.full((self.channels, 1, 1), -1e5, dtype=torch.float64)
            hi = torch.full((self.channels, 1, 1), 1e5, dtype=torch.float64)
            for _ in range(steps):
                mid = (lo + hi) / 2
                above = self.logits_cdf(mid) > goal
                hi = torch.where(above, mid, hi)
                lo = torch.where(above, lo, mid)
            found.append(((lo + hi) / 2).reshape(-1))
        return found[0], found[1]
