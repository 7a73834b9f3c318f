"""Format stability: a file written by this version must decode the same way in every later version of
format 1. The table construction is part of the format, so any change to it shows up here.

Regenerate (only with a format version bump): LICODEC_REGENERATE_GOLDEN=1 pytest tests/test_golden.py
"""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image, tiny_model
from licodec.codec import compress, decompress
from licodec.zoo import export_weights, load_weights

GOLDEN = Path(__file__).parent / "golden"
CASES = ["cheng2020-anchor-ckbd", "cheng2020-anchor", "fu2023-gllmm-ckbd"]


@pytest.mark.parametrize("name", CASES)
def test_golden_file_decodes_and_encodes_identically(name):
    rgb = smooth_image(37, 70, seed=11)
    lic, png, weights = GOLDEN / f"{name}.lic", GOLDEN / f"{name}.png", GOLDEN / f"{name}.safetensors"
    if os.environ.get("LICODEC_REGENERATE_GOLDEN"):
        export_weights(tiny_model(name), weights)
    model = load_weights(weights)  # stored, so that changes to initialisation do not move the golden files
    if os.environ.get("LICODEC_REGENERATE_GOLDEN"):
        data = compress(rgb, model, quality=1)
        lic.write_bytes(data)
        Image.fromarray(decompress(data, model)).save(png)
    assert compress(rgb, model, quality=1) == lic.read_bytes()
    expected = np.asarray(Image.open(io.BytesIO(png.read_bytes())))
    assert np.array_equal(decompress(lic.read_bytes(), model), expected)
