"""Entropy coding of the octave codec's latents: four parallel levels, one walk shared by encoder and decoder.

    section z2: z2_h, z2_l   factorized densities
    section z1: z1_h, z1_l   single Gaussians from h_s2(z2_hat)
    section y:  y_l          mixture from h_s1(z1_hat)              (cross-resolution: down(hyper_h))
                y_h          mixture from h_s1(z1_hat) and y_l_hat  (cross-resolution: up(hyper_l), crpe)

As in latents.py, both sides run the parameter networks in float64 on the same decoded integers and build
tables with the same pure functions, so they cannot disagree; ``code`` writes symbols on the encoder's side
and reads them on the decoder's.
"""

import copy
import math
from collections.abc import Callable

import numpy as np
import torch

from licodec.coding.coder import Decoder, Encoder
from licodec.entropy.tables import TableGroup, factorized_tables, mixture_tables
from licodec.latents import table_threads
from licodec.models.registry import weights_fingerprint

# code(section, name, groups) -> the integer values of latent ``name``, flattened C-major
OctaveCodeStep = Callable[[int, str, list[TableGroup]], np.ndarray]
Pair = tuple[torch.Tensor, torch.Tensor]


def _float64_entropy(model) -> torch.nn.Module:
    """A float64 copy of the parameter networks, cached on the model until its weights change."""
    key = weights_fingerprint(model)
    cached = getattr(model, "_float64_entropy", None)
    if cached is None or cached[0] != key:
        cached = (key, copy.deepcopy(model.entropy).to(torch.float64))
        object.__setattr__(model, "_float64_entropy", cached)  # not a submodule: stays out of state_dict
    return cached[1]


def walk_levels(model, shapes: dict[str, tuple[int, int, int]], code: OctaveCodeStep) -> Pair:
    """Decode order z2 -> z1 -> y_l -> y_h; returns (y_h_hat, y_l_hat) as float32."""
    net = _float64_entropy(model)

    def level(section: int, name: str, groups: list[TableGroup]) -> torch.Tensor:
        return torch.from_numpy(code(section, name, groups)).to(torch.float64).reshape(1, *shapes[name])

    def like(name: str) -> torch.Tensor:  # carries a spatial size for cropping
        return torch.empty(0, 0, *shapes[name][1:])

    def size(name: str) -> int:
        return math.prod(shapes[name])

    with table_threads(size("z2_h")):
        z2_h = level(0, "z2_h", factorized_tables(model.density_z2_h, shapes["z2_h"]))
        z2_l = level(0, "z2_l", factorized_tables(model.density_z2_l, shapes["z2_l"]))
    mp_h, mp_l = net.z1_params((z2_h, z2_l), (like("z1_h"), like("z1_l")))
    with table_threads(size("z1_h")):
        z1_h = level(1, "z1_h", mixture_tables(net.z1_model, mp_h))
        z1_l = level(1, "z1_l", mixture_tables(net.z1_model, mp_l))
    hyper = net.hyper_features((z1_h, z1_l), (like("y_h"), like("y_l")))
    mp_y_l = net.y_l_params(hyper)
    with table_threads(size("y_l")):
        y_l = level(2, "y_l", mixture_tables(net.mixture, mp_y_l))
    mp_y_h = net.y_h_params(hyper, y_l)
    with table_threads(size("y_h")):
        y_h = level(2, "y_h", mixture_tables(net.mixture, mp_y_h))
    return y_h.float(), y_l.float()


@torch.no_grad()
def compress_octave(model, y: Pair) -> tuple[list[bytes], Pair]:
    """(y_h, y_l) gain-scaled latents -> ([z2, z1, y sections], (y_h_hat, y_l_hat))."""
    z1 = model.h_a1(*y)
    z2 = model.h_a2(*z1)
    values = dict(zip(("y_h", "y_l", "z1_h", "z1_l", "z2_h", "z2_l"), (*y, *z1, *z2), strict=True))
    ints = {k: torch.round(v).to(torch.int64)[0].reshape(-1).numpy() for k, v in values.items()}
    coders = [Encoder() for _ in model.sections]

    def code(section: int, name: str, groups: list[TableGroup]) -> np.ndarray:
        coders[section].encode(ints[name], groups)
        return ints[name]

    shapes = {k: tuple(v.shape[1:]) for k, v in values.items()}
    y_hat = walk_levels(model, shapes, code)
    return [c.finish() for c in coders], y_hat


@torch.no_grad()
def decompress_octave(model, sections: list[bytes], height: int, width: int) -> Pair:
    """Sections and the padded image size -> (y_h_hat, y_l_hat)."""
    shapes = model.latent_shapes(height, width)
    decoders = [Decoder(s) for s in sections]

    def code(section: int, name: str, groups: list[TableGroup]) -> np.ndarray:
        return decoders[section].decode(int(np.prod(shapes[name])), groups)

    return walk_levels(model, shapes, code)
