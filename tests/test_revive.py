"""Reviving dead latent channels: they carry values again, and nothing else about the codec changes."""

import torch
from revive import revive

from licodec.models import create_model
from licodec.train.init import widen_latents

NARROW, WIDE = 8, 24


def widened() -> torch.nn.Module:
    torch.manual_seed(0)
    old = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=2).eval()
    with torch.no_grad():
        old.gain.mul_(30.0)  # random transforms give tiny latents; spread them so they carry bits
    new = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=2, M=WIDE).eval()
    new.load_state_dict(widen_latents(old.state_dict(), new, NARROW))
    return new


def test_revived_channels_carry_values_and_the_reconstruction_and_live_channels_stay():
    model = widened()
    x = torch.rand(2, 3, 128, 128)
    with torch.no_grad():
        y = model.g_a(x).permute(1, 0, 2, 3).flatten(1)
        before = [model(x[:1], torch.tensor([q])) for q in (0, 1)]
        state = model.state_dict()
        dead = revive(state, y, NARROW, alpha=0.5, beta=0.05, k_mixture=3)
        model.load_state_dict(state)
        after = [model(x[:1], torch.tensor([q])) for q in (0, 1)]
    assert dead.tolist() == list(range(NARROW, WIDE))
    assert not before[1].latents["y"][:, NARROW:].any() and after[1].latents["y"][:, NARROW:].ne(0).float().mean() > 0.1
    for a, b in zip(before, after, strict=True):
        assert torch.equal(a.latents["y"][:, :NARROW], b.latents["y"][:, :NARROW])
        assert torch.allclose(a.x_hat, b.x_hat, atol=1e-5)
        assert torch.allclose(a.likelihoods["y"][:, :NARROW], b.likelihoods["y"][:, :NARROW], rtol=1e-4)
        scales = b.mixture.scales[:, :, NARROW:]
        assert scales.min() > 0.11  # off the lower bound, where a non-zero value costs ~18 bits


def test_channels_in_use_are_left_alone():
    model = widened()
    state = model.state_dict()
    y = torch.zeros(WIDE, 100)
    y[NARROW] = torch.linspace(-50, 50, 100)  # this new channel reaches non-zero values at the top rate
    gain_before = state["gain"].clone()
    dead = revive(state, y + torch.randn(WIDE, 100) * 0.01, NARROW, alpha=0.5, beta=0.05, k_mixture=3)
    assert NARROW not in dead.tolist() and len(dead) == WIDE - NARROW - 1
    assert torch.equal(state["gain"][:, NARROW], gain_before[:, NARROW])
