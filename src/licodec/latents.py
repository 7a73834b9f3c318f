"""Entropy coding of a context + hyperprior model's latents: one schedule loop shared by encoder and decoder.

    encoder: y -> round -> [z section] z_hat -> h_s -> hyper ─┐
                                                              ├─ walk schedule: params(step) -> tables -> code
    decoder:          [z section] -> z_hat -> h_s -> hyper ──┘

Both sides run the hyper-synthesis, context and entropy-parameter networks in float64 on the same decoded
values, step by step along the model's decode schedule, and build tables with the same pure function; the
encoder only differs in that its ``code`` step writes symbols where the decoder's reads them.
"""

from collections.abc import Callable
from contextlib import contextmanager

import numpy as np
import torch
from torch.func import functional_call

from licodec.coding.coder import Decoder, Encoder
from licodec.entropy.tables import TableGroup, factorized_tables, mixture_tables
from licodec.layers import pointwise
from licodec.models.hyperprior import ContextHyperprior

CodeStep = Callable[[list[TableGroup], torch.Tensor], np.ndarray]


PARALLEL_TABLES = 16_384  # symbols per step from which table building keeps the caller's threads


@contextmanager
def table_threads(symbols: int):
    """Threads for building the tables of one step of ``symbols`` symbols (float64 elementwise work).

    Large steps (the checkerboard's two, the octave codec's levels) build 1.4-1.8x faster on two threads
    than on one (benchmarks/entropy_coding.py --threads 1 / 2); the serial wavefront's small steps gain
    nothing and run on one thread, which also spares them the collapse of OpenMP threads when another
    process competes for the cores (FIELD-NOTES). The thread count moves float64 results by a few ulps at
    most, which the canonical parameters and 12-bit tables absorb (entropy/tables.py), as they absorb the
    float64 networks' (h_s, entropy parameters), which always keep the caller's threads."""
    before = torch.get_num_threads()
    if symbols < PARALLEL_TABLES:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _float64_call(module: torch.nn.Module, *inputs: torch.Tensor) -> torch.Tensor:
    params = {k: v.to(torch.float64) for k, v in module.state_dict().items()}
    return functional_call(module, params, tuple(t.to(torch.float64) for t in inputs))


def walk_schedule(model: ContextHyperprior, hyper: torch.Tensor, code: CodeStep) -> torch.Tensor:
    """Decode-order loop. hyper: (1, C_h, h, w) float64 -> y_hat (1, M, h, w) float64.

    At each step the entropy parameters of the step's positions are computed from ``hyper`` and the buffer
    of already coded latents; ``code(groups, positions)`` returns those positions' integer values, (M * P,)
    in channel-major order.
    """
    _, c_h, h, w = hyper.shape
    m = model.gain.shape[1]
    y_buffer = torch.zeros(1, m, h, w, dtype=torch.float64)
    flat = y_buffer.view(m, h * w)
    hyper_flat = hyper.reshape(c_h, h * w)
    for positions in model.context.schedule(h, w):
        ctx = model.context.gather(y_buffer, positions)  # (P, C_ctx)
        features = torch.cat([hyper_flat[:, positions].t(), ctx], dim=1)  # (P, C_h + C_ctx)
        params = pointwise(model.entropy_parameters, features).t()[None]  # (1, Pe*M, P)
        with table_threads(m * len(positions)):
            groups = mixture_tables(model.mixture, model.mixture.split(params))
        values = code(groups, positions)
        flat[:, positions] = torch.from_numpy(values).reshape(m, len(positions)).to(torch.float64)
    return y_buffer


@torch.no_grad()
def compress_latents(model: ContextHyperprior, y: torch.Tensor) -> tuple[list[bytes], torch.Tensor]:
    """(1, M, h, w) latent -> ([z section, y section], y_hat as float32)."""
    z_hat = torch.round(model.h_a(y))
    z_int = z_hat.to(torch.int64).reshape(-1).numpy()
    y_int = torch.round(y).to(torch.int64)[0].reshape(y.shape[1], -1).numpy()
    z_coder, y_coder = Encoder(), Encoder()

    def code(groups: list[TableGroup], positions: torch.Tensor) -> np.ndarray:
        symbols = y_int[:, positions.numpy()].reshape(-1)
        y_coder.encode(symbols, groups)
        return symbols

    with table_threads(len(z_int)):
        z_coder.encode(z_int, factorized_tables(model.density_z, tuple(z_hat.shape[1:])))
    y_hat = walk_schedule(model, hyper=_float64_call(model.h_s, z_hat), code=code)
    return [z_coder.finish(), y_coder.finish()], y_hat.float()


@torch.no_grad()
def decompress_latents(model: ContextHyperprior, sections: list[bytes], y_shape: tuple[int, int, int]):
    """Inverse of compress_latents: sections and y's (M, h, w) -> y_hat (1, M, h, w) float32."""
    m, h, w = y_shape
    z_shape = (model.density_z.channels, h // 4, w // 4)
    n_z = z_shape[0] * z_shape[1] * z_shape[2]
    y_coder = Decoder(sections[1])

    def code(groups: list[TableGroup], positions: torch.Tensor) -> np.ndarray:
        return y_coder.decode(m * len(positions), groups)

    with table_threads(n_z):
        z_int = Decoder(sections[0]).decode(n_z, factorized_tables(model.density_z, z_shape))
    z_hat = torch.from_numpy(z_int.astype(np.float32)).reshape(1, *z_shape)
    return walk_schedule(model, _float64_call(model.h_s, z_hat), code).float()
