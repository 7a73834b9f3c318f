import pytest
import torch

from licodec.layers.octave import GoConv, GoTConv, octave_channels
from licodec.models import create_model


@pytest.mark.parametrize("size", [(1, 1), (5, 7), (8, 12), (17, 33)])
def test_octave_layers_keep_low_at_half_the_high_resolution(size):
    h, w = size
    n = octave_channels(8, 0.5)
    high, low = torch.randn(1, n[0], h, w), torch.randn(1, n[1], -(-h // 2), -(-w // 2))
    for stride in (1, 2):
        out_h, out_l = GoConv(n, n, stride, "gdn")(high, low)
        assert out_h.shape[-2:] == (-(-h // stride), -(-w // stride))
        assert out_l.shape[-2:] == (-(-out_h.shape[-2] // 2), -(-out_h.shape[-1] // 2))
    up_h, up_l = GoTConv(n, n, "igdn")(high, low)
    assert up_h.shape[-2:] == (2 * h, 2 * w) and up_l.shape[-2:] == (h, w)
    image, none = GoTConv(n, (3, 0))(high, low)
    assert image.shape == (1, 3, 2 * h, 2 * w) and none is None


def test_octave_latent_shapes_match_the_transforms():
    model = create_model("fu2022-octave", N=16, alpha=0.25).eval()
    x = torch.rand(1, 3, 192, 320)
    with torch.no_grad():
        y = model.analysis(x, torch.tensor([0]))
        z1 = model.h_a1(*y)
        z2 = model.h_a2(*z1)
    shapes = model.latent_shapes(192, 320)
    for name, t in zip(("y_h", "y_l", "z1_h", "z1_l", "z2_h", "z2_l"), (*y, *z1, *z2), strict=True):
        assert tuple(t.shape[1:]) == shapes[name], name
    assert shapes["y_h"][0] == 12 and shapes["y_l"][0] == 4  # alpha = 0.25 of 16 channels at low resolution
