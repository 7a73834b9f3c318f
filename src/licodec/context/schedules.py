"""Decode schedules: the order in which latent positions become known, as groups coded in one batched step.

A schedule is a list of 1-D int64 tensors of flat positions (i * width + j); encoder and decoder walk the same
list, so they compute the same entropy parameters from the same decoded neighbours.
"""

import torch


def causal_mask(k: int = 5) -> torch.Tensor:
    """Type-A mask: every row above the centre, and the positions left of the centre in its row."""
    mask = torch.zeros(k, k, dtype=torch.bool)
    mask[: k // 2] = True
    mask[k // 2, : k // 2] = True
    return mask


def checkerboard_mask(k: int = 5) -> torch.Tensor:
    """The neighbours of the other colour: offsets (di, dj) with di + dj odd."""
    i, j = torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij")
    return (i + j) % 2 == 1


def wavefront(height: int, width: int) -> list[torch.Tensor]:
    """Serial 5x5 causal context as a wavefront: position (i, j) is decodable at step j + 3i.

    Every neighbour under the type-A mask, (i', j') with i' < i and |j' - j| <= 2 or i' = i and j' < j, has
    a smaller step, so all positions of one step can be decoded together: 3h + w - 3 steps instead of h * w.
    """
    i, j = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    step = (j + 3 * i).reshape(-1)
    order = torch.argsort(step, stable=True)
    counts = torch.bincount(step).tolist()
    return [part for part in torch.split(order, counts) if len(part)]


def anchor_map(height: int, width: int) -> torch.Tensor:
    """(height, width) bool map of checkerboard anchors: positions with i + j even."""
    i, j = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    return (i + j) % 2 == 0


def checkerboard(height: int, width: int) -> list[torch.Tensor]:
    """He et al. 2021: anchors first (from the hyperprior alone), then the rest from the decoded anchors."""
    anchors = anchor_map(height, width).reshape(-1)
    steps = [torch.nonzero(anchors).reshape(-1), torch.nonzero(~anchors).reshape(-1)]
    return [s for s in steps if len(s)]
