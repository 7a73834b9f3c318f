import numpy as np
import pytest
import torch

from conftest import smooth_image, tiny_model
from licodec.cli import main
from licodec.codec import decompress, encode, to_tensor, to_uint8
from licodec.losses import LAMBDAS, training_objective
from licodec.refine import DEFAULT_STEPS, RefineError, Target, _step_cost, auto_steps, rd_cost, refine_latents
from licodec.zoo import export_weights, load_weights, model_from_checkpoint

OBJECTIVE = {"metric": "mse", "lambdas": [0.004, 0.04]}


def trained_for(name: str = "cheng2020-anchor-ckbd"):
    """A tiny random model with a recorded objective, whose output stays inside [0, 1] like a trained one's
    (refinement judges the clamped image the decoder returns)."""
    model = tiny_model(name)
    model.objective = OBJECTIVE
    last = model.g_s[-1][0]
    with torch.no_grad():
        last.weight.mul_(0.1)
        last.bias.fill_(0.5)
    return model


def analysed(model, rgb, quality):
    """(Target, y) of an image for refinement."""
    x, _, _ = to_tensor(rgb, model.downsampling)
    with torch.no_grad():
        return Target(x, *rgb.shape[:2]), model.analysis(x, torch.tensor([quality]))


@pytest.mark.parametrize("name", ["cheng2020-anchor-ckbd", "cheng2020-anchor"])
def test_refined_latent_has_lower_exact_cost(name):
    model = trained_for(name)
    rgb = smooth_image(64, 96)
    target, y = analysed(model, rgb, 1)
    refined = refine_latents(model, target, y, 1, steps=8)
    with torch.no_grad():
        before, after = rd_cost(model, target, y, 1), rd_cost(model, target, refined, 1)
    assert after < before and not torch.equal(refined, y)  # kept only because it is better
    assert all(p.grad is None for p in model.parameters())  # nothing is stored on the (shared) model


@pytest.mark.parametrize("native", [True, False])
def test_steps_are_judged_in_bfloat16_only_where_the_cpu_computes_it(monkeypatch, native):
    monkeypatch.setattr("licodec.refine.bf16_native", lambda: native)
    model = trained_for()
    target, y = analysed(model, smooth_image(64, 96), 1)
    with torch.no_grad():
        judged, exact = _step_cost(model, target, y, 1)[1], float(rd_cost(model, target, y, 1))
    assert (judged == pytest.approx(exact, rel=1e-6)) is not native  # float32 is the exact cost


def test_refined_file_decodes_to_the_refined_latents_reconstruction():
    model = trained_for()
    rgb = smooth_image(50, 70)
    plain, refined = encode(rgb, model, 1, refine_steps=0), encode(rgb, model, 1, refine_steps=6)
    assert refined.data != plain.data
    with torch.no_grad():
        x_hat = model.synthesis(torch.round(refined.y), torch.tensor([1]))
    assert np.array_equal(decompress(refined.data, model), to_uint8(x_hat, 50, 70))


def test_a_step_that_does_not_help_is_not_kept():
    model = trained_for()
    target, y = analysed(model, smooth_image(64, 64), 1)
    assert refine_latents(model, target, y, 1, steps=2, lr=50.0) is y  # a wild step costs more: keep g_a's


def test_each_quality_is_refined_for_its_own_lambda():
    model = trained_for()
    model.objective = {"metric": "mse", "lambdas": [0.0, 1.0]}
    target, y = analysed(model, smooth_image(40, 50), 0)
    with torch.no_grad():
        bits = float(model.latent_bits(y)[0]) / (40 * 50)
        assert float(rd_cost(model, target, y, 0)) == pytest.approx(bits)  # lambda 0: rate only
        assert float(rd_cost(model, target, y, 1)) > bits + 1.0


def test_distortion_ignores_the_padding_the_decoder_crops():
    model = trained_for()
    target, y = analysed(model, smooth_image(40, 50), 0)
    changed = target.x.clone()
    changed[..., 40:, :] = 0.0
    changed[..., :, 50:] = 1.0
    with torch.no_grad():
        assert rd_cost(model, target, y, 0) == rd_cost(model, Target(changed, 40, 50), y, 0)


def test_greyscale_sources_are_judged_on_the_luma_the_decoder_returns():
    model = trained_for()
    target, y = analysed(model, smooth_image(40, 50), 0)
    grey = Target(target.x[:, :1].repeat(1, 3, 1, 1), 40, 50, channels=1)
    with torch.no_grad():
        x_hat = model.synthesis(torch.round(y), torch.tensor([0])).clamp(0, 1)[..., :40, :50]
    luma = 0.299 * x_hat[:, 0] + 0.587 * x_hat[:, 1] + 0.114 * x_hat[:, 2]
    expected = 255.0**2 * ((luma - grey.x[:, 0, :40, :50]) ** 2).mean()
    assert float(grey.distortion(x_hat, "mse")) == pytest.approx(float(expected), rel=1e-5)


def test_refinement_needs_the_training_objective_and_a_context_model():
    model = tiny_model("cheng2020-anchor-ckbd")
    target, y = analysed(model, smooth_image(32, 32), 0)
    with pytest.raises(RefineError, match="lambdas"):
        refine_latents(model, target, y, 0, steps=2)
    for bad in ({"metric": "mse", "lambdas": [0.1]}, {"metric": "psnr", "lambdas": [0.1, 0.2]}, {}):
        model.objective = bad
        with pytest.raises(RefineError, match="not valid"):
            refine_latents(model, target, y, 0, steps=2)
    model.objective = {"metric": "ms-ssim", "lambdas": [1.0, 2.0]}
    with pytest.raises(RefineError, match="MS-SSIM"):
        refine_latents(model, target, y, 0, steps=2)
    octave = tiny_model("fu2022-octave")
    octave.objective = OBJECTIVE
    with pytest.raises(RefineError, match="context"):
        encode(smooth_image(32, 32), octave, 0, refine_steps=2)
    model.objective = OBJECTIVE
    with torch.inference_mode(), pytest.raises(RefineError, match="inference_mode"):
        refine_latents(model, target, y, 0, steps=2)


def test_objective_travels_with_weights_and_checkpoints(tmp_path):
    model = trained_for()
    export_weights(model, tmp_path / "w.safetensors")
    assert load_weights(tmp_path / "w.safetensors").objective == OBJECTIVE
    state = {"config": model.config, "model": model.state_dict(), "train_config": {"metric": "mse"}}
    assert model_from_checkpoint(state).objective == {"metric": "mse", "lambdas": list(LAMBDAS["mse"][-2:])}
    del state["train_config"]  # a checkpoint that does not say how it was trained: no guessed objective
    assert model_from_checkpoint(state).objective is None
    assert training_objective({"metric": "ms-ssim", "lambdas": [1, 2]}, 2) == {"metric": "ms-ssim",
                                                                                "lambdas": [1.0, 2.0]}  # fmt: skip


def test_cli_refine_flag(tmp_path, capsys):
    from PIL import Image

    model = trained_for()
    export_weights(model, tmp_path / "w.safetensors")
    Image.fromarray(smooth_image(40, 60)).save(tmp_path / "a.png")
    weights, image = str(tmp_path / "w.safetensors"), str(tmp_path / "a.png")
    assert main(["encode", image, "--model", weights, "--refine", "2", "-o", str(tmp_path / "a.lic")]) == 0
    assert main(["encode", image, "--model", weights, "--refine", "0", "-o", str(tmp_path / "plain.lic")]) == 0
    assert (tmp_path / "a.lic").read_bytes() != (tmp_path / "plain.lic").read_bytes()
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

    from licodec.eval.evaluate import evaluate_image

    model = trained_for()
    Image.fromarray(smooth_image(128, 192)).save(tmp_path / "a.png")
    plain = evaluate_image(model, tmp_path / "a.png", 1, refine_steps=0)
    refined = evaluate_image(model, tmp_path / "a.png", 1, refine_steps=6)
    x, _, _ = to_tensor(smooth_image(128, 192), 64)
    with torch.no_grad():
        forward_bits = float(model(x, torch.tensor([1])).bits())
    assert plain.bpp_estimated == pytest.approx(forward_bits / (128 * 192), rel=1e-5)
    assert refined.bpp_estimated != plain.bpp_estimated  # the refined latent's own rate, not g_a's
    assert (refined.bpp - plain.bpp) * (refined.bpp_estimated - plain.bpp_estimated) > 0


def test_cli_refine_errors_are_one_line_with_exit_2(tmp_path, capsys):
    from PIL import Image

    Image.fromarray(smooth_image(40, 60)).save(tmp_path / "a.png")
    ssim = trained_for()
    ssim.objective = {"metric": "ms-ssim", "lambdas": [1.0, 2.0]}
    export_weights(ssim, tmp_path / "ssim.safetensors")
    argv = ["encode", str(tmp_path / "a.png"), "--model", str(tmp_path / "ssim.safetensors"), "--refine", "2"]
    assert main([*argv, "-o", str(tmp_path / "a.lic")]) == 2
    assert "MS-SSIM" in capsys.readouterr().err and not (tmp_path / "a.lic").exists()
    export_weights(tiny_model("cheng2020-anchor-ckbd"), tmp_path / "bare.safetensors")
    argv = ["eval", str(tmp_path), "--model", str(tmp_path / "bare.safetensors"), "--refine", "2", "--no-progress"]
    assert main([*argv, "--out", str(tmp_path / "results")]) == 2
    assert "lambdas" in capsys.readouterr().err


def test_cli_eval_refine_with_two_workers(tmp_path, capsys):
    import json

    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.fromarray(smooth_image(64, 64)).save(tmp_path / "images" / "a.png")
    export_weights(trained_for(), tmp_path / "w.safetensors")
    argv = ["eval", str(tmp_path / "images"), "--model", str(tmp_path / "w.safetensors"), "--no-progress"]
    assert main([*argv, "--refine", "3", "--workers", "2", "--out", str(tmp_path / "r")]) == 0
    curve = json.loads((tmp_path / "r" / "licodec-w-refine3.json").read_text())
    assert len(curve["results"]["bpp"]) == 2 and "refine 3" in curve["description"]


def test_default_encode_refines_where_the_weights_allow_and_not_otherwise(monkeypatch):
    rgb = smooth_image(48, 64)
    model = trained_for()
    default, plain = encode(rgb, model, 1), encode(rgb, model, 1, refine_steps=0)
    assert default.refine_steps == DEFAULT_STEPS and plain.refine_steps == 0
    assert default.data == encode(rgb, model, 1, refine_steps=DEFAULT_STEPS).data  # the same search each time
    bare = tiny_model("cheng2020-anchor-ckbd")  # no recorded objective: no refinement, and no error
    assert encode(rgb, bare, 1).refine_steps == 0 and encode(rgb, bare, 1).data == encode(rgb, bare, 1, 0).data
    octave = tiny_model("fu2022-octave")
    octave.objective = OBJECTIVE
    assert encode(rgb, octave, 1).refine_steps == 0
    monkeypatch.setattr("licodec.refine.AUTO_MAX_PIXELS", 48 * 64 - 1)  # large images: the plain encoder
    assert encode(rgb, model, 1).data == plain.data
    target, _ = analysed(model, rgb, 1)
    assert auto_steps(model, 1, target) == 0


def test_refinement_keeps_the_best_iterate_by_the_decoders_clamped_image():
    model = trained_for()
    target, y = analysed(model, smooth_image(64, 96), 1)
    refined = refine_latents(model, target, y, 1, steps=4)
    with torch.no_grad():
        costs = [float(rd_cost(model, target, v, 1)) for v in (y, refined)]
    assert costs[1] < costs[0]


def test_cli_default_encode_and_eval_name_the_refinement_they_did(tmp_path, capsys):
    import json

    from PIL import Image

    (tmp_path / "images").mkdir()
    Image.fromarray(smooth_image(64, 64)).save(tmp_path / "images" / "a.png")
    export_weights(trained_for(), tmp_path / "w.safetensors")
    weights = str(tmp_path / "w.safetensors")
    assert main(["encode", str(tmp_path / "images" / "a.png"), "--model", weights, "-o", str(tmp_path / "a.lic")]) == 0
    assert f"({DEFAULT_STEPS} refinement steps)" in capsys.readouterr().err
    argv = ["eval", str(tmp_path / "images"), "--model", weights, "--no-progress", "--qualities", "1"]
    assert main([*argv, "--out", str(tmp_path / "r")]) == 0
    assert (tmp_path / "r" / f"licodec-w-refine{DEFAULT_STEPS}.json").exists()
    assert main([*argv, "--refine", "0", "--out", str(tmp_path / "r")]) == 0
    curve = json.loads((tmp_path / "r" / "licodec-w.json").read_text())
    assert "refine" not in curve["description"]
