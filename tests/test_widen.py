"""Widening a trained model's latent (train --init with a larger M): same codec at the start, all of it
trainable."""

import json

import pytest
import torch

from licodec.models import create_model
from licodec.train.checkpoint import export_release, load_checkpoint
from licodec.train.init import widen_latents, widen_transforms
from licodec.train.loop import train
from test_train import config, folder  # noqa: F401  (fixture)

NARROW, WIDE = 8, 24


def narrow_and_wide(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    old = create_model(name, N=8, K=3, rates=2).eval()
    with torch.no_grad():
        old.gain.mul_(3.0)  # random transforms give tiny latents; spread them so they carry bits
    new = create_model(name, N=8, K=3, rates=2, M=WIDE).eval()
    new.load_state_dict(widen_latents(old.state_dict(), new, NARROW))
    return old, new


@pytest.mark.parametrize("name", ["cheng2020-anchor-ckbd", "cheng2020-attn"])
def test_widened_model_codes_like_the_old_one(name):
    old, new = narrow_and_wide(name)
    x = torch.rand(1, 3, 128, 192)
    with torch.no_grad():
        for q in (0, 1):
            a, b = old(x, torch.tensor([q])), new(x, torch.tensor([q]))
            assert torch.equal(a.latents["y"], b.latents["y"][:, :NARROW]) and not b.latents["y"][:, NARROW:].any()
            assert torch.allclose(a.x_hat, b.x_hat, atol=1e-5)
            assert a.bits() > 100 and torch.allclose(a.bits(), b.bits(), rtol=1e-3)


def test_every_new_weight_learns():
    """Zero-initialized weights must sit on non-zero features, or they would never move."""
    old, new = narrow_and_wide("cheng2020-anchor-ckbd")
    narrow_shapes = {k: v.shape for k, v in old.state_dict().items()}
    new.train()
    out = new(torch.rand(2, 3, 64, 64), torch.tensor([0, 1]), noisy_rate=True)
    (out.bits().sum() + 1e4 * (out.x_hat - 0.5).pow(2).sum()).backward()
    for name, p in new.named_parameters():
        if p.shape != narrow_shapes[name]:
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert new.g_s[1].subpel[0].weight.grad[:, NARROW:].abs().sum() > 0  # the columns zeroed for new inputs
    assert new.entropy_parameters[4].weight.grad.abs().sum() > 0


def test_narrowing_is_refused():
    wide = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=2, M=WIDE)
    narrow = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=2)
    with pytest.raises(ValueError, match="narrow"):
        widen_latents(wide.state_dict(), narrow, WIDE)


def test_train_init_widens_and_export_keeps_the_history(folder, tmp_path):  # noqa: F811
    first = train(config(folder, tmp_path / "narrow", steps=2, arch="cheng2020-anchor-ckbd"))
    second = train(config(folder, tmp_path / "wide", steps=2, arch="cheng2020-anchor-ckbd", init=str(first),
                          model_options={"N": 8, "rates": 2, "M": 16}))  # fmt: skip
    state = load_checkpoint(second)
    assert state["step"] == 2 and state["config"]["M"] == 16 and state["model"]["gain"].shape == (2, 16)
    assert state["init"]["step"] == 2 and state["init"]["path"] == str(first)
    provenance = export_release(second, tmp_path / "w.safetensors", "synthetic")
    assert provenance["initialized_from"]["steps"] == 2
    assert provenance["total_wall_clock_hours"] >= provenance["wall_clock_hours"]
    assert json.loads((tmp_path / "w.json").read_text())["initialized_from"]["model"]["N"] == 8
    with pytest.raises(ValueError, match="does not fit"):
        train(config(folder, tmp_path / "bad", steps=1, init=str(first), model_options={"N": 16, "rates": 2}))


def narrow_and_wide_transforms(name: str) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    old = create_model(name, N=8, K=3, rates=2).eval()
    with torch.no_grad():
        old.gain.mul_(3.0)
    new = create_model(name, N=16, K=3, rates=2, M=8, N_hyper=8).eval()
    new.load_state_dict(widen_transforms(old.state_dict(), new))
    return old, new


@pytest.mark.parametrize("name", ["cheng2020-anchor-ckbd", "cheng2020-attn"])
def test_wider_transforms_code_like_the_old_ones(name):
    old, new = narrow_and_wide_transforms(name)
    assert new.g_s[-1][0].in_channels == 16 and new.h_a[0].out_channels == 8
    x = torch.rand(1, 3, 128, 192)
    with torch.no_grad():
        for q in (0, 1):
            a, b = old(x, torch.tensor([q])), new(x, torch.tensor([q]))
            assert torch.equal(a.latents["y"], b.latents["y"]) and torch.equal(a.latents["z"], b.latents["z"])
            assert torch.allclose(a.x_hat, b.x_hat, atol=1e-6)
            assert a.bits() > 100 and torch.allclose(a.bits(), b.bits())


def test_every_new_transform_weight_learns():
    old, new = narrow_and_wide_transforms("cheng2020-anchor-ckbd")
    narrow_shapes = {k: v.shape for k, v in old.state_dict().items()}
    new.train()
    out = new(torch.rand(2, 3, 64, 64), torch.tensor([0, 1]), noisy_rate=True)
    (out.bits().sum() + 1e4 * (out.x_hat - 0.5).pow(2).sum()).backward()
    widened = {name: p for name, p in new.named_parameters() if p.shape != narrow_shapes[name]}
    assert any(n.startswith("g_a.") for n in widened) and any(n.startswith("g_s.") for n in widened)
    for name, p in widened.items():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert new.g_s[-1][0].weight.grad[:, 8:].abs().sum() > 0  # the last layer's zeroed columns for new inputs


def test_widening_the_hyperprior_or_narrowing_is_refused():
    small = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=2)
    with pytest.raises(ValueError, match="outside the transforms"):
        widen_transforms(small.state_dict(), create_model("cheng2020-anchor-ckbd", N=16, K=3, rates=2, M=8))
    wide = create_model("cheng2020-anchor-ckbd", N=16, K=3, rates=2, M=8, N_hyper=8)
    with pytest.raises(ValueError, match="narrow"):
        widen_transforms(wide.state_dict(), small)


def test_train_init_widens_the_transforms(folder, tmp_path):  # noqa: F811
    first = train(config(folder, tmp_path / "narrow", steps=2, arch="cheng2020-anchor-ckbd"))
    second = train(config(folder, tmp_path / "wide", steps=2, arch="cheng2020-anchor-ckbd", init=str(first),
                          model_options={"N": 16, "rates": 2, "M": 8, "N_hyper": 8}))  # fmt: skip
    state = load_checkpoint(second)
    assert state["step"] == 2 and state["config"]["N"] == 16 and state["init"]["config"]["N"] == 8
    assert state["model"]["g_s.7.0.weight"].shape[1] == 16
    with pytest.raises(ValueError, match="does not fit"):  # a wider hyperprior cannot start from the old one
        train(config(folder, tmp_path / "bad", steps=1, arch="cheng2020-anchor-ckbd", init=str(first),
                     model_options={"N": 16, "rates": 2, "M": 8}))  # fmt: skip
