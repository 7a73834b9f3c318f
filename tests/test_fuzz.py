"""A short, seeded run of the fuzz targets (fuzz/targets.py): mutated .lic files, entropy-coded sections behind
a valid header and CRC, model files and images must each decode or be refused with licodec's own error,
quickly. The coverage-guided run is fuzz/run.py."""

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).parents[1] / "fuzz"))
import targets  # noqa: E402

from licodec.zoo import export_weights  # noqa: E402


def mutations(seed: bytes, count: int, rng: np.random.Generator):
    """Bit flips, random byte runs, truncations and insertions of ``seed``."""
    for _ in range(count):
        data = bytearray(seed)
        kind = rng.integers(4)
        if kind == 0:
            for i in rng.integers(len(data), size=rng.integers(1, 8)):
                data[i] ^= 1 << int(rng.integers(8))
        elif kind == 1:
            at = int(rng.integers(len(data)))
            data[at : at + 16] = rng.integers(256, size=min(16, len(data) - at), dtype=np.uint8).tobytes()
        elif kind == 2:
            data = data[: int(rng.integers(len(data)))]
        else:
            at = int(rng.integers(len(data) + 1))
            data[at:at] = rng.integers(256, size=int(rng.integers(1, 64)), dtype=np.uint8).tobytes()
        yield bytes(data)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.arange(8 * 8 * 3, dtype=np.uint8).reshape(8, 8, 3)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(targets.TARGETS))
def test_mutated_inputs_are_decoded_or_refused_cleanly(name, tmp_path):
    if name == "model":
        export_weights(targets.MODEL, tmp_path / "m.safetensors")
        seed, count = (tmp_path / "m.safetensors").read_bytes(), 40
    elif name == "image":
        seed, count = _png(), 150
    else:
        seed, count = targets.SEED if name == "container" else b"".join(targets.SEED_SECTIONS), 150
    outcomes = [targets.check(name, data) for data in mutations(seed, count, np.random.default_rng(7))]
    assert len(outcomes) == count
    assert any(o.startswith("refused") or "refused" in o for o in outcomes)


def test_the_unmutated_seeds_decode():
    assert targets.check("container", targets.SEED) == "decoded"
    assert targets.check("sections", b"".join(targets.SEED_SECTIONS)) == "decoded"
    assert targets.check("image", _png()) == "read"
