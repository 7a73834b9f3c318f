import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from conftest import smooth_image, tiny_model
from licodec.codec import compress, decompress
from licodec.eval.metrics import psnr
from licodec.fast.int8 import (
    Int8Conv2d,
    Int8SubpelConv,
    int8_available,
    int8_copy,
    int8_synthesis,
    quantize_activation,
)
from licodec.fast.precision import synthesis_precision
from licodec.layers import SubpelConv
from licodec.models.prepared import freeze

needs_int8 = pytest.mark.skipif(not int8_available(), reason="no oneDNN int8 convolution with VNNI here")


def relative_error(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a.float() - b.float()).norm() / b.float().norm())


@needs_int8
def test_int8_convolution_matches_float_within_quantization_error():
    conv = nn.Conv2d(32, 48, 3, padding=1)
    x = torch.randn(1, 32, 20, 28)
    with torch.no_grad():
        out = Int8Conv2d(conv)(x)
        assert out.dtype == torch.bfloat16 and out.shape == (1, 48, 20, 28)
        assert relative_error(out, conv(x)) < 0.02
        wrong = Int8Conv2d(nn.Conv2d(32, 48, 3, padding=1))(x)
        assert relative_error(wrong, conv(x)) > 0.5  # the test can tell another convolution apart


@needs_int8
def test_int8_convolution_equalizes_channels_of_very_different_ranges(monkeypatch):
    conv = nn.Conv2d(32, 48, 3, padding=1)
    x = torch.randn(1, 32, 20, 28)
    with torch.no_grad():
        x[:, 0] *= 100  # one channel 100x wider than the rest, as next to a dequantized latent...
        conv.weight[:, 0] /= 100  # ...that contributes no more than the others
        reference = conv(x)
        equalized = relative_error(Int8Conv2d(conv)(x), reference)
        monkeypatch.setattr("licodec.fast.int8.UNEQUAL", float("inf"))  # one activation scale for all channels
        per_tensor = relative_error(Int8Conv2d(conv)(x), reference)
    assert equalized < 0.02 < per_tensor and equalized < per_tensor / 5


@needs_int8
def test_int8_subpixel_convolution_interleaves_like_pixel_shuffle():
    subpel = SubpelConv(16, 8)
    x = torch.relu(torch.randn(1, 16, 9, 13))  # one-sided, as after a leaky ReLU: zero point at 0
    with torch.no_grad():
        out = Int8SubpelConv(subpel)(x)
        assert out.shape == (1, 8, 18, 26)
        assert relative_error(out, subpel(x)) < 0.02
        swapped = F.pixel_shuffle(subpel[0](x)[:, torch.arange(32).view(8, 4)[:, [1, 0, 3, 2]].reshape(-1)], 2)
        assert relative_error(out, swapped) > 0.5  # another interleaving is far off


@needs_int8
def test_int8_copy_replaces_only_wide_3x3_convolutions():
    model = tiny_model("cheng2020-attn-ckbd", N=16)
    copied = int8_copy(model.g_s, min_channels=16)
    kinds = {type(m).__name__ for m in copied.modules()}
    assert {"Int8Conv2d", "Int8SubpelConv"} <= kinds
    assert any(type(m) is nn.Conv2d and m.kernel_size == (1, 1) for m in copied.modules())  # 1x1 stay float
    assert not any(type(m).__name__.startswith("Int8") for m in int8_copy(model.g_s).modules())  # N=16 < 128
    assert any(type(m) is nn.Conv2d and m.kernel_size == (3, 3) for m in model.g_s.modules())  # original kept


@needs_int8
def test_int8_decode_gives_the_float_image_up_to_quantization_noise(monkeypatch):
    model = tiny_model("cheng2020-anchor-ckbd", N=16)
    monkeypatch.setattr("licodec.fast.int8.MIN_CHANNELS", 16)
    rgb = smooth_image(64, 96)
    data = compress(rgb, model)
    exact = decompress(data, model)
    fast = decompress(data, model, precision="int8")
    assert any(type(m).__name__.startswith("Int8") for m in int8_synthesis(model).modules())
    assert fast.shape == exact.shape and not np.array_equal(fast, exact)
    assert psnr(exact, fast) > 40


@needs_int8
def test_int8_copy_is_made_once_for_frozen_weights_and_follows_weights_that_still_change():
    frozen = freeze(tiny_model("cheng2020-anchor-ckbd"))
    assert int8_synthesis(frozen) is int8_synthesis(frozen)
    model = tiny_model("cheng2020-anchor-ckbd")
    first = int8_synthesis(model)
    with torch.no_grad():
        next(model.g_s.parameters()).mul_(2)
    second = int8_synthesis(model)
    assert not torch.equal(next(first.parameters()), next(second.parameters()))


@needs_int8
def test_fast_decoding_picks_int8_where_available_and_bfloat16_for_deterministic_decoding(monkeypatch):
    monkeypatch.setattr("licodec.fast.precision.bf16_native", lambda: True)
    assert synthesis_precision(None, fast=False, deterministic=False) == "float32"
    assert synthesis_precision(None, fast=True, deterministic=False) == "int8"
    assert synthesis_precision(None, fast=True, deterministic=True) == "bfloat16"
    with pytest.raises(ValueError, match="deterministic"):
        synthesis_precision("int8", fast=False, deterministic=True)


def test_without_int8_fast_decoding_falls_back_to_bfloat16_or_float32_and_int8_is_refused(monkeypatch):
    monkeypatch.setattr("licodec.fast.int8.int8_available", lambda: False)
    monkeypatch.setattr("licodec.fast.precision.bf16_native", lambda: True)
    assert synthesis_precision(None, fast=True, deterministic=False) == "bfloat16"
    monkeypatch.setattr("licodec.fast.precision.bf16_native", lambda: False)  # emulated bf16 is slower than fp32
    assert synthesis_precision(None, fast=True, deterministic=False) == "float32"
    assert synthesis_precision("bfloat16", fast=False, deterministic=False) == "bfloat16"  # asked for: given
    with pytest.raises(ValueError, match="VNNI"):
        synthesis_precision("int8", fast=False, deterministic=False)
    with pytest.raises(ValueError, match="valid"):
        synthesis_precision("int4", fast=False, deterministic=False)
    model = tiny_model("cheng2020-anchor-ckbd")
    data = compress(smooth_image(20, 30), model)
    assert decompress(data, model, fast=True).shape == (20, 30, 3)


def test_activation_codes_round_once_whatever_the_input_dtype():
    x = (torch.randn(1, 8, 6, 7) * 3).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    codes, scale, zero_point = quantize_activation(x)
    reference = torch.round(x.float() / scale + zero_point).clamp(0, 255)
    assert torch.equal(codes.float(), reference)
    with pytest.raises(FloatingPointError):
        quantize_activation(torch.full((1, 2, 3, 3), float("nan")))


@needs_int8
def test_int8_copy_follows_the_channel_threshold(monkeypatch):
    model = freeze(tiny_model("cheng2020-anchor-ckbd", N=16))
    monkeypatch.setattr("licodec.fast.int8.MIN_CHANNELS", 16)
    assert any(type(m).__name__.startswith("Int8") for m in int8_synthesis(model).modules())
    monkeypatch.setattr("licodec.fast.int8.MIN_CHANNELS", 128)
    assert not any(type(m).__name__.startswith("Int8") for m in int8_synthesis(model).modules())


@needs_int8
def test_int8_decode_of_the_octave_codec(monkeypatch):
    model = tiny_model("fu2022-octave", N=16)
    monkeypatch.setattr("licodec.fast.int8.MIN_CHANNELS", 8)
    data = compress(smooth_image(48, 40), model)
    exact, fast = decompress(data, model), decompress(data, model, precision="int8")
    assert any(type(m).__name__.startswith("Int8") for m in int8_synthesis(model).modules())
    assert psnr(exact, fast) > 35
