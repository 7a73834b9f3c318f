"""Discretized mixtures: K components of one family (Cheng et al. 2020) or the Gaussian-Laplacian-Logistic
mixture (GLLMM, Fu et al. 2023) with weights within and across families.

    P(y_hat) = sum_k w_k [F_k(y_hat + 1/2) - F_k(y_hat - 1/2)]
"""

from dataclasses import dataclass

import torch

from licodec.entropy.bounds import LIKELIHOOD_BOUND, SCALE_BOUND, lower_bound
from licodec.entropy.families import FAMILIES, discretized_likelihood


@dataclass
class MixtureParams:
    """Per-element mixture parameters, each (B, K, C, H, W); weights sum to one over K."""

    weights: torch.Tensor
    means: torch.Tensor
    scales: torch.Tensor

    def to(self, dtype: torch.dtype) -> "MixtureParams":
        return MixtureParams(self.weights.to(dtype), self.means.to(dtype), self.scales.to(dtype))

    def select(self, index: torch.Tensor) -> "MixtureParams":
        """Gather elements along the last (flattened spatial) axis: (B, K, C, P) -> (B, K, C, len(index))."""
        return MixtureParams(*(t[..., index] for t in (self.weights, self.means, self.scales)))


class DiscretizedMixture:
    """A mixture specification: the families of its components and how its weights are parametrized.

    ``families`` lists one family name per component. With ``family_weighted`` the components are grouped by
    family and the weight of component k is w_family(k) * w_k|family (GLLMM); otherwise one softmax over all K.
    This object holds no trainable state: its parameters come from the entropy-parameter network.
    """

    def __init__(self, families: tuple[str, ...], family_weighted: bool = False):
        unknown = [f for f in families if f not in FAMILIES]
        if unknown or not families:
            raise ValueError(f"unknown mixture families {unknown}; valid: {sorted(FAMILIES)}")
        self.families = tuple(families)
        self.family_weighted = family_weighted
        self.family_names = tuple(dict.fromkeys(families))  # distinct, in order of appearance

    @classmethod
    def gaussian(cls, k: int = 3) -> "DiscretizedMixture":
        return cls(("gaussian",) * k)

    @classmethod
    def gllmm(cls, per_family: int = 3) -> "DiscretizedMixture":
        return cls(("gaussian",) * per_family + ("laplace",) * per_family + ("logistic",) * per_family, True)

    @property
    def k(self) -> int:
        return len(self.families)

    @property
    def params_per_element(self) -> int:
        extra = len(self.family_names) if self.family_weighted else 0
        return 3 * self.k + extra

    def split(self, params: torch.Tensor) -> MixtureParams:
        """(B, P*C, ...) network output -> MixtureParams with (B, K, C, ...) tensors.

        Channel layout: [weight logits (K), family logits (F, GLLMM only), means (K), raw scales (K)], each a
        block of C channels.
        """
        b, pc = params.shape[:2]
        p = self.params_per_element
        blocks = params.reshape(b, p, pc // p, *params.shape[2:])
        k, f = self.k, p - 3 * self.k
        logits = blocks[:, :k]
        means = blocks[:, k + f : 2 * k + f]
        scales = lower_bound(blocks[:, 2 * k + f :], SCALE_BOUND)
        return MixtureParams(self._weights(logits, blocks[:, k : k + f]), means, scales)

    def _weights(self, logits: torch.Tensor, family_logits: torch.Tensor) -> torch.Tensor:
        if not self.family_weighted:
            return torch.softmax(logits, dim=1)
        family_w = torch.softmax(family_logits, dim=1)
        parts = []
        for i, name in enumerate(self.family_names):
            members = [j for j, f in enumerate(self.families) if f == name]
            within = torch.softmax(logits[:, members], dim=1)
            parts.append(within * family_w[:, i : i + 1])
        return torch.cat(parts, dim=1)

    def component_likelihoods(
        self, y_hat: torch.Tensor, mp: MixtureParams, bounds: tuple[int, int] | None = None
    ) -> torch.Tensor:
        """(B, K, C, ...) bin masses of each component, unweighted."""
        y = y_hat.unsqueeze(1)
        parts = [
            discretized_likelihood(f, y, mp.means[:, i : i + 1], mp.scales[:, i : i + 1], bounds)
            for i, f in enumerate(self.families)
        ]
        return torch.cat(parts, dim=1)

    def likelihood(self, y_hat: torch.Tensor, mp: MixtureParams, bounds: tuple[int, int] | None = None) -> torch.Tensor:
        """(B, C, ...) mixture bin mass of y_hat, lower-bounded so that -log2 stays finite."""
        mass = (mp.weights * self.component_likelihoods(y_hat, mp, bounds)).sum(dim=1)
        return lower_bound(mass, LIKELIHOOD_BOUND)
