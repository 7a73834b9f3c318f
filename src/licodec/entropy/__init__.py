"""Differentiable densities for training, and the pure functions that turn them into coding tables."""

from licodec.entropy.factorized import FactorizedDensity
from licodec.entropy.families import FAMILIES, discretized_likelihood
from licodec.entropy.mixture import DiscretizedMixture, MixtureParams
from licodec.entropy.quantize import noise_quantize, ste_round

__all__ = [
    "FAMILIES",
    "DiscretizedMixture",
    "FactorizedDensity",
    "MixtureParams",
    "discretized_likelihood",
    "noise_quantize",
    "ste_round",
]
