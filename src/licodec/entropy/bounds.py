"""The bounds of the entropy models: the smallest scale and likelihood they produce."""

from licodec.layers.bounds import lower_bound

__all__ = ["LIKELIHOOD_BOUND", "SCALE_BOUND", "lower_bound"]

SCALE_BOUND = 0.11
LIKELIHOOD_BOUND = 1e-9
