import numpy as np
import pytest
import torch

from conftest import smooth_image, tiny_model
from licodec.checkpoint import export_weights, load_weights, model_from_checkpoint
from licodec.cli import main
from licodec.codec import decompress, encode, to_tensor, to_uint8
from licodec.losses import LAMBDAS, training_objective
from licodec.refine import RefineError, rd_cost, refine_latents

OBJECTIVE = {"metric": "mse", "lambdas": [0.004, 0.04]}


def trained_for(name: str = "cheng2020-anchor-ckbd"):
    model = tiny_model(name)
    model.objective = OBJECTIVE
    return model


def analysed(model, rgb, quality):
    x, _, _ = to_tensor(rgb, model.downsampling)
    with torch.no_grad():
        return x, model.analysis(x, torch.tensor([quality]))


@pytest.mark.parametrize("name", ["cheng2020-anchor-ckbd", "cheng2020-anchor"])
def test_refined_latent_has_lower_exact_cost(name):
    model = trained_for(name)
    rgb = smooth_image(64, 96)
    x, y = analysed(model, rgb, 1)
    refined = refine_latents(model, x, y, 1, steps=8, height=64, width=96)
    with torch.no_grad():
        before, after = rd_cost(model, x, y, 1, 64, 96), rd_cost(model, x, refined, 1, 64, 96)
    assert after < before and not torch.equal(refined, y)  # kept only because it is better
    assert all(p.grad is None for p in model.parameters())  # nothing is stored on the (shared) model


def test_refined_file_decodes_to_the_refined_latents_reconstruction():
    model = trained_for()
    rgb = smooth_image(50, 70)
    plain, refined = encode(rgb, model, 1), encode(rgb, model, 1, refine_steps=6)
    assert refined.data != plain.data
    with torch.no_grad():
        x_hat = model.synthesis(torch.round(refined.y), torch.tensor([1]))
    assert np.array_equal(decompress(refined.data, model), to_uint8(x_hat, 50, 70))


def test_distortion_ignores_the_padding_the_decoder_crops():
    model = trained_for()
    x, y = analysed(model, smooth_image(40, 50), 0)
    changed = x.clone()
    changed[..., 40:, :] = 0.0
    changed[..., :, 50:] = 1.0
    with torch.no_grad():
        assert rd_cost(model, x, y, 0, 40, 50) == rd_cost(model, changed, y, 0, 40, 50)


def test_refinement_needs_the_training_objective_and_a_context_model():
    model = tiny_model("cheng2020-anchor-ckbd")
    x, y = analysed(model, smooth_image(32, 32), 0)
    with pytest.raises(RefineError, match="lambdas"):
        refine_latents(model, x, y, 0, steps=2, height=32, width=32)
    octave = tiny_model("fu2022-octave")
    octave.objective = OBJECTIVE
    with pytest.raises(RefineError, match="context"):
        encode(smooth_image(32, 32), octave, 0, refine_steps=2)


def test_objective_travels_with_weights_and_checkpoints(tmp_path):
    model = trained_for()
    export_weights(model, tmp_path / "w.safetensors")
    assert load_weights(tmp_path / "w.safetensors").objective == OBJECTIVE
    state = {"config": model.config, "model": model.state_dict(), "train_config": {"metric": "mse"}}
    assert model_from_checkpoint(state).objective == {"metric": "mse", "lambdas": list(LAMBDAS["mse"][-2:])}
    assert training_objective({"metric": "ms-ssim", "lambdas": [1, 2]}, 2) == {"metric": "ms-ssim",
                                                                                "lambdas": [1.0, 2.0]}  # fmt: skip


def test_cli_refine_flag(tmp_path, capsys):
    from PIL import Image

    model = trained_for()
    export_weights(model, tmp_path / "w.safetensors")
    Image.fromarray(smooth_image(40, 60)).save(tmp_path / "a.png")
    weights, image = str(tmp_path / "w.safetensors"), str(tmp_path / "a.png")
    assert main(["encode", image, "--model", weights, "--refine", "2", "-o", str(tmp_path / "a.lic")]) == 0
    assert main(["decode", str(tmp_path / "a.lic"), "--model", weights, "-o", str(tmp_path / "b.png")]) == 0
    assert main(["encode", image, "--model", weights, "--refine", "-1", "-o", str(tmp_path / "c.lic")]) == 2
    assert "--refine needs" in capsys.readouterr().err
    export_weights(tiny_model("cheng2020-anchor-ckbd"), tmp_path / "bare.safetensors")  # no objective recorded
    bare = str(tmp_path / "bare.safetensors")
    assert main(["encode", image, "--model", bare, "--refine", "2", "-o", str(tmp_path / "d.lic")]) == 2
    assert "lambdas" in capsys.readouterr().err
    assert not (tmp_path / "c.lic").exists() and not (tmp_path / "d.lic").exists()


def test_evaluation_estimates_the_rate_of_the_latent_it_coded(tmp_path):
    from PIL import Image

    from licodec.evaluate import evaluate_image

    model = trained_for()
    Image.fromarray(smooth_image(128, 192)).save(tmp_path / "a.png")
    plain = evaluate_image(model, tmp_path / "a.png", 1)
    refined = evaluate_image(model, tmp_path / "a.png", 1, refine_steps=6)
    x, _, _ = to_tensor(smooth_image(128, 192), 64)
    with torch.no_grad():
        forward_bits = float(model(x, torch.tensor([1])).bits())
    assert plain.bpp_estimated == pytest.approx(forward_bits / (128 * 192), rel=1e-5)
    assert refined.bpp_estimated != plain.bpp_estimated  # the refined latent's own rate, not g_a's
    assert (refined.bpp - plain.bpp) * (refined.bpp_estimated - plain.bpp_estimated) > 0
