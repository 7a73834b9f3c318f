"""The model contract (models/base.py): every family's forward gives the same result type, and training
precision follows the device the model runs on."""

import types
from contextlib import nullcontext

import pytest
import torch

from conftest import ALL_MODELS, tiny_model
from licodec.models.base import CompressionModel, RDOutput


@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_family_returns_an_rd_output_whose_bits_sum_its_likelihoods(name):
    model = tiny_model(name).train()
    out = model(torch.rand(2, 3, 64, 64), torch.tensor([0, 0]))
    assert isinstance(out, RDOutput) and isinstance(model, CompressionModel)
    assert set(out.likelihoods) == set(out.latents) and out.y_hats()
    expected = -sum(p.log2().flatten(1).sum(1) for p in out.likelihoods.values())
    assert torch.allclose(out.bits(), expected)


def _record_autocast(monkeypatch) -> list[str]:
    devices = []

    def autocast(device_type, dtype=None, enabled=True):
        devices.append(device_type)
        return nullcontext()

    monkeypatch.setattr(torch, "autocast", autocast)
    return devices


@pytest.mark.parametrize("name", ["cheng2020-anchor-ckbd", "fu2022-octave"])
def test_mixed_precision_autocasts_on_the_device_of_the_input(name, monkeypatch):
    model = tiny_model(name).train()
    devices = _record_autocast(monkeypatch)
    model(torch.rand(1, 3, 64, 64), mixed_precision=True)
    assert devices and set(devices) == {"cpu"}
    devices.clear()
    CompressionModel.autocast(types.SimpleNamespace(device=torch.device("cuda")), True)
    assert devices == ["cuda"]  # a model on a GPU trains in bfloat16 there, not silently in float32
