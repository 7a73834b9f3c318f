"""Quantization proxies used in training."""

import torch


def noise_quantize(y: torch.Tensor) -> torch.Tensor:
    """Additive uniform noise U(-1/2, 1/2): the differentiable relaxation of rounding."""
    return y + torch.empty_like(y).uniform_(-0.5, 0.5)


def ste_round(y: torch.Tensor) -> torch.Tensor:
    """Rounding in the forward pass, identity gradient in the backward pass."""
    return y + (torch.round(y) - y).detach()
