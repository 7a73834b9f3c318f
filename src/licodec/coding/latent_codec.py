"""Entropy coding of a model's latents: one walk over the model's coding stages, shared by encoder and decoder.

    encoder: latents -> round ─┐
                               ├─ for stage in model.coding_stages(decoded so far): code(stage) -> values
    decoder:     sections ─────┘

The model (models/base.py) yields its stages in decode order, each with its tables computed from what the
stages before it decoded (the model's parameter networks run in float64 on those values, and tables come
from the same pure functions, entropy/tables.py). The walker writes each stage's values back before asking
for the next stage, so the encoder computes every table from exactly what the decoder will have; the two
differ only in ``code``, which writes symbols on one side and reads them on the other.
"""

from collections.abc import Callable

import numpy as np
import torch

from licodec.coding.coder import Decoder, Encoder
from licodec.models.base import CompressionModel, Latents, Stage
from licodec.models.prepared import Prepared, prepare

CodeStep = Callable[[Stage, int], np.ndarray]  # (stage, number of symbols) -> the stage's integer values


def walk(model: CompressionModel, shapes: dict[str, tuple[int, int, int]], code: CodeStep,
         prepared: Prepared | None = None) -> Latents:  # fmt: skip
    """Decode-order loop over ``model.coding_stages``; returns every latent, (1, C, h, w) float64.

    ``code(stage, n)`` returns the stage's n integer values, channel-major over its positions. ``prepared``:
    the model's Prepared, if the caller holds it already."""
    latents = {name: torch.zeros(1, *shape, dtype=torch.float64) for name, shape in shapes.items()}
    for stage in model.coding_stages(latents, prepared or prepare(model)):
        c, h, w = shapes[stage.latent]
        flat = latents[stage.latent].view(c, h * w)
        count = h * w if stage.positions is None else len(stage.positions)
        values = torch.from_numpy(code(stage, c * count)).to(torch.float64).reshape(c, count)
        if stage.positions is None:
            flat.copy_(values)
        else:
            flat[:, stage.positions] = values
    return latents


@torch.no_grad()
def compress_latents(model: CompressionModel, y, prepared: Prepared | None = None) -> list[bytes]:
    """The gain-scaled latent(s) from ``model.analysis`` -> one entropy-coded section per ``model.sections``."""
    coded = model.coded_latents(y)
    ints = {k: torch.round(v).to(torch.int64)[0].reshape(v.shape[1], -1).numpy() for k, v in coded.items()}
    encoders = [Encoder() for _ in model.sections]

    def code(stage: Stage, count: int) -> np.ndarray:
        values = ints[stage.latent]
        symbols = (values if stage.positions is None else values[:, stage.positions.numpy()]).reshape(-1)
        encoders[stage.section].encode(symbols, stage.groups)
        return symbols

    walk(model, {k: tuple(v.shape[1:]) for k, v in coded.items()}, code, prepared)
    return [e.finish() for e in encoders]


@torch.no_grad()
def decompress_latents(model: CompressionModel, sections: list[bytes], height: int, width: int,
                       prepared: Prepared | None = None):  # fmt: skip
    """Sections and the padded image size -> the y_hat that ``model.synthesis`` takes (float32)."""
    decoders = [Decoder(s) for s in sections]

    def code(stage: Stage, count: int) -> np.ndarray:
        return decoders[stage.section].decode(count, stage.groups)

    latents = walk(model, model.latent_shapes(height, width), code, prepared)
    return model.synthesis_input({k: v.float() for k, v in latents.items()})
