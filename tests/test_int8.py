import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import smooth_image, tiny_model
from licodec.codec import compress, decompress, synthesis_precision
from licodec.int8 import Int8Conv2d, Int8SubpelConv, int8_available, int8_copy, int8_synthesis
from licodec.layers import SubpelConv
from licodec.metrics import psnr

pytestmark = pytest.mark.skipif(not int8_available(), reason="this PyTorch build has no oneDNN int8 convolution")


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm())


def test_int8_convolution_matches_float_within_quantization_error():
    conv = nn.Conv2d(32, 48, 3, padding=1)
    x = torch.randn(1, 32, 20, 28)
    with torch.no_grad():
        out = Int8Conv2d(conv)(x)
        assert out.dtype == torch.bfloat16 and out.shape == (1, 48, 20, 28)
        assert relative_error(out, conv(x)) < 0.02
        wrong = Int8Conv2d(nn.Conv2d(32, 48, 3, padding=1))(x)
        assert relative_error(wrong, conv(x)) > 0.5  # the test can tell another convolution apart


def test_int8_subpixel_convolution_interleaves_like_pixel_shuffle():
    subpel = SubpelConv(16, 8)
    x = torch.relu(torch.randn(1, 16, 9, 13))  # one-sided, as after a leaky ReLU: zero point at 0
    with torch.no_grad():
        out = Int8SubpelConv(subpel)(x)
        assert out.shape == (1, 8, 18, 26)
        assert relative_error(out, subpel(x)) < 0.02
        swapped = F.pixel_shuffle(subpel[0](x)[:, torch.arange(32).view(8, 4)[:, [1, 0, 3, 2]].reshape(-1)], 2)
        assert relative_error(out, swapped) > 0.5  # another interleaving is far off


def test_int8_copy_replaces_only_wide_3x3_convolutions():
    model = tiny_model("cheng2020-attn-ckbd", N=16)
    copied = int8_copy(model.g_s, min_channels=16)
    kinds = {type(m).__name__ for m in copied.modules()}
    assert {"Int8Conv2d", "Int8SubpelConv"} <= kinds
    assert any(type(m) is nn.Conv2d and m.kernel_size == (1, 1) for m in copied.modules())  # 1x1 stay float
    assert not any(type(m).__name__.startswith("Int8") for m in int8_copy(model.g_s).modules())  # N=16 < 128
    assert any(type(m) is nn.Conv2d and m.kernel_size == (3, 3) for m in model.g_s.modules())  # original kept


def test_int8_decode_gives_the_float_image_up_to_quantization_noise(monkeypatch):
    model = tiny_model("cheng2020-anchor-ckbd", N=16)
    monkeypatch.setattr("licodec.int8.MIN_CHANNELS", 16)
    rgb = smooth_image(64, 96)
    data = compress(rgb, model)
    exact = decompress(data, model)
    fast = decompress(data, model, precision="int8")
    assert any(type(m).__name__.startswith("Int8") for m in int8_synthesis(model).modules())
    assert fast.shape == exact.shape and not np.array_equal(fast, exact)
    assert psnr(exact, fast) > 40


def test_int8_copy_is_remade_when_the_weights_change():
    model = tiny_model("cheng2020-anchor-ckbd")
    first = int8_synthesis(model)
    assert int8_synthesis(model) is first
    with torch.no_grad():
        next(model.g_s.parameters()).mul_(2)
    assert int8_synthesis(model) is not first


def test_precision_choice():
    assert synthesis_precision(None, fast=False, deterministic=False) == "float32"
    assert synthesis_precision(None, fast=True, deterministic=False) == "int8"
    assert synthesis_precision(None, fast=True, deterministic=True) == "bfloat16"
    with pytest.raises(ValueError, match="deterministic"):
        synthesis_precision("int8", fast=False, deterministic=True)
    with pytest.raises(ValueError, match="valid"):
        synthesis_precision("int4", fast=False, deterministic=False)
