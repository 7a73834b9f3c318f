"""What licodec does with untrusted bytes, as fuzz targets: each takes bytes and returns the outcome class, and
raises only when licodec misbehaves (anything but its documented errors).

- ``container``: the bytes as a .lic file, decoded with the model its header could name;
- ``sections``: the bytes cut into entropy-coded sections behind a valid header and CRC (so mutations reach
  the entropy decoder instead of stopping at the checksum), decoded;
- ``model``: the bytes as a model file (.safetensors or .pt) given to ``--model``;
- ``image``: the bytes as an input image.

Used by ``fuzz/run.py`` (atheris, coverage-guided) and by tests/test_fuzz.py (a short seeded run).
"""

import io
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from licodec.codec import IncompatibleError, compress, decompress
from licodec.coding.container import ContainerError, pack, unpack
from licodec.image import ImageError, read_image
from licodec.models import create_model
from licodec.models.prepared import freeze
from licodec.zoo import ModelFileError, load_model

SLOW_SECONDS = 5.0  # an input that takes longer is a hang as far as a user is concerned


class Misbehaviour(AssertionError):
    """licodec did something other than decode or refuse with its documented error."""


def _tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return freeze(create_model("cheng2020-anchor-ckbd", N=16, rates=2).eval())


MODEL = _tiny_model()


def _seed_file() -> bytes:
    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([(x * 4) % 256, (y * 5) % 256, ((x + y) * 3) % 256], axis=-1).astype(np.uint8)
    return compress(rgb, MODEL, quality=1, refine_steps=0)


SEED = _seed_file()
HEADER, SEED_SECTIONS = unpack(SEED)


def container(data: bytes) -> str:
    try:
        decompress(data, MODEL)
    except ContainerError:
        return "refused: damaged file"
    except IncompatibleError:
        return "refused: other model"
    return "decoded"


def sections(data: bytes) -> str:
    """Bytes split at the seed's section boundaries (scaled to the input's length), repacked validly."""
    cut = max(1, len(data) * len(SEED_SECTIONS[0]) // max(1, sum(len(s) for s in SEED_SECTIONS)))
    parts = [data[:cut], data[cut:]]
    try:
        file = pack(HEADER, parts)
    except ContainerError:
        return "refused: container"
    try:
        decompress(file, MODEL)
    except ContainerError:
        return "refused: damaged sections"
    return "decoded"


def model(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        outcomes = []
        for suffix in (".safetensors", ".pt"):
            path = Path(folder) / f"model{suffix}"
            path.write_bytes(data)
            try:
                load_model(str(path))
                outcomes.append("loaded")
            except ModelFileError:
                outcomes.append("refused")
        return "model file " + "/".join(outcomes)


def image(data: bytes) -> str:
    try:
        read_image(io.BytesIO(data).getvalue())
    except ImageError:
        return "refused: not an image"
    return "read"


TARGETS = {"container": container, "sections": sections, "model": model, "image": image}


def check(name: str, data: bytes) -> str:
    """The outcome of target ``name`` on ``data``; Misbehaviour for a traceback-worthy error or a hang."""
    start = time.perf_counter()
    try:
        outcome = TARGETS[name](data)
    except Exception as e:  # anything else is a bug: say which input class raised what
        raise Misbehaviour(f"{name}: {type(e).__name__}: {e}") from e
    if time.perf_counter() - start > SLOW_SECONDS:
        raise Misbehaviour(f"{name}: took {time.perf_counter() - start:.1f} s")
    return outcome
