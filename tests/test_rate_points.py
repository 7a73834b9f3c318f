"""A new rate point above a trained model's top one: the old points unchanged, the new one above them."""

import pytest
import torch
from add_rate import add_rate_point

from licodec.models import create_model


def test_new_top_rate_point_extends_the_old_ones():
    torch.manual_seed(0)
    old = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=2).eval()
    with torch.no_grad():
        old.gain.mul_(torch.tensor([[2.0], [6.0]]))  # random transforms give tiny latents; spread the rates
    new = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=3).eval()
    new.load_state_dict(add_rate_point(old.state_dict()))
    assert torch.allclose(new.gain[2] * old.gain[0], old.gain[1] ** 2)
    assert torch.allclose(new.inv_gain[2] * old.inv_gain[0], old.inv_gain[1] ** 2)
    x = torch.rand(1, 3, 64, 128)
    with torch.no_grad():
        bits = []
        for q in (0, 1):
            a, b = old(x, torch.tensor([q])), new(x, torch.tensor([q]))
            assert torch.equal(a.x_hat, b.x_hat) and torch.equal(a.bits(), b.bits())
            bits.append(b.bits())
        bits.append(new(x, torch.tensor([2])).bits())
    assert bits[0] < bits[1] < bits[2]


def test_a_fixed_rate_model_gets_a_clear_error():
    single = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=1).state_dict()
    with pytest.raises(ValueError, match="continues the top two"):
        add_rate_point(single)
    two = create_model("cheng2020-anchor-ckbd", N=8, K=3, rates=2).state_dict()
    two["gain"][0, 3] = 0.0
    with pytest.raises(ValueError, match="non-finite"):
        add_rate_point(two)
    with pytest.raises(ValueError, match="no gain vectors"):
        add_rate_point({"g_a.0.weight": torch.zeros(1)})
