import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from licodec.models import create_model, default_config, list_models

# The checkpoint-surgery and run scripts live in tools/, outside the package; their tests import them from there.
sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))

TINY = {"N": 16, "K": 3, "rates": 2}


# One thread: two OpenMP threads collapse when anything else runs on a 2-core machine (as measured here).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seeded():
    torch.manual_seed(0)
    np.random.seed(0)


def tiny_model(name: str, **overrides) -> torch.nn.Module:
    """A randomly initialised small model whose latents still carry a few bits per element."""
    torch.manual_seed(1)
    options = {k: v for k, v in TINY.items() if k in default_config(name)}
    model = create_model(name, **{**options, **overrides}).eval()
    with torch.no_grad():
        model.gain.mul_(3.0)  # random transforms give tiny latents; spread them so coding is exercised
    return model


def smooth_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A synthetic photo-like image: smooth colour gradients plus mild noise, (h, w, 3) uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([np.sin(xx / 9 + c) * 60 + np.cos(yy / 13 - c) * 50 + 128 for c in range(3)], -1)
    return np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)


ALL_MODELS = list_models()


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    """A tiny model's weights file, for the CLI's --model."""
    from licodec.zoo import export_weights

    path = tmp_path_factory.mktemp("w") / "tiny.safetensors"
    export_weights(tiny_model("cheng2020-anchor-ckbd"), path, half=False)
    return str(path)


@pytest.fixture
def photo(tmp_path) -> str:
    """A small PNG photo on disk."""
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray(smooth_image(40, 70)).save(path)
    return str(path)
