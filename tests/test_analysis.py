import json

import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image, tiny_model
from licodec.cli import main
from licodec.codec import compress, read_image
from licodec.eval.latent_maps import latent_maps
from licodec.eval.plot import DPI, plot_latent_maps
from licodec.zoo import export_weights


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis")
    weights = root / "tiny.safetensors"
    export_weights(tiny_model("cheng2020-anchor-ckbd"), weights, half=False)
    images = root / "images"
    images.mkdir()
    for i, size in enumerate([(40, 70), (33, 17)]):
        Image.fromarray(smooth_image(*size, seed=i)).save(images / f"img{i}.png")
    return root, str(weights), images


def test_eval_reports_real_bytes_equal_to_encode(setup, tmp_path, capsys):
    root, weights, images = setup
    assert main(["eval", str(images), "--model", weights, "--out", str(tmp_path), "--no-progress"]) == 0
    result = json.loads((tmp_path / "licodec-tiny.json").read_text())
    assert result["results"]["bpp"] and len(result["results"]["psnr-rgb"]) == 2  # the model's 2 rate points
    lic = tmp_path / "img0.lic"
    assert main(["encode", str(images / "img0.png"), "-o", str(lic), "--model", weights, "--quality", "1"]) == 0
    assert result["per_image"]["img0.png"]["bytes"][0] == lic.stat().st_size
    expected_bpp = 8 * lic.stat().st_size / (40 * 70)
    assert result["per_image"]["img0.png"]["bpp"][0] == pytest.approx(expected_bpp)
    assert (tmp_path / "licodec-tiny.csv").read_text().count("\n") == 5  # header + 2 images x 2 qualities


def test_latent_maps_pick_the_costliest_channel():
    model = tiny_model("cheng2020-anchor")
    source = read_image(Image.fromarray(smooth_image(64, 96)))
    maps = latent_maps(source, model)
    assert maps.y_hat.shape == (4, 6) and maps.weights.shape == (3, 4, 6)
    assert np.allclose(maps.weights.sum(0), 1, atol=1e-5)
    totals = maps.channel_bits
    assert totals > 0 and np.isclose(maps.bits.sum(), totals, rtol=1e-4)


def test_inspect_writes_one_png_with_every_panel(setup, tmp_path):
    root, weights, images = setup
    out = tmp_path / "fig3.png"
    assert main(["inspect", str(images / "img0.png"), "-o", str(out), "--model", weights]) == 0
    with Image.open(out) as img:
        assert img.format == "PNG"
        assert img.width == round(4.2 * 3 * DPI)  # 3 columns: 2 + 3K + 2 = 13 panels for K = 3 -> 5 rows
        assert img.height > 4 * img.width // 3 * 0.5


def test_plot_latent_maps_panel_count_follows_k(tmp_path):
    model = tiny_model("cheng2020-anchor-ckbd", K=1)
    maps = latent_maps(read_image(Image.fromarray(smooth_image(64, 64))), model)
    path = plot_latent_maps(maps, tmp_path / "k1.png")
    with Image.open(path) as img:
        assert img.width == round(4.2 * 4 * DPI)  # K = 1: 7 panels in 4 columns


def test_compress_is_what_eval_measures(setup):
    _, weights, images = setup
    from licodec.zoo import load_model

    model = load_model(weights)
    data = compress(read_image(images / "img1.png"), model, 0)
    assert len(data) > 60


def test_compare_writes_labelled_crops_at_matched_size(setup, tmp_path, capsys):
    root, weights, images = setup
    out = tmp_path / "cmp.png"
    argv = ["compare", str(images / "img0.png"), "-o", str(out), "--model", weights, "--codecs", "jpeg", "webp",
            "--crop", "10", "5", "32", "24", "--zoom", "2"]  # fmt: skip
    assert main(argv) == 0
    with Image.open(out) as img:
        assert img.size == (4 * 64 + 3 * 6, 48 + 34)  # original, licodec, JPEG, WebP; 2x crops, label strip
    printed = capsys.readouterr().out
    assert "JPEG" in printed and "WEBP" in printed
    assert main([*argv[:-6], "--crop", "60", "30", "32", "24"]) == 2  # the region must fit in the image


def test_octave_model_evaluates_and_inspect_refuses_it_clearly(setup, tmp_path, capsys):
    root, _, images = setup
    weights = tmp_path / "octave.safetensors"
    export_weights(tiny_model("fu2022-octave"), weights, half=False)
    assert main(["eval", str(images), "--model", str(weights), "--out", str(tmp_path), "--no-progress"]) == 0
    result = json.loads((tmp_path / "licodec-octave.json").read_text())
    assert all(b > 0 for b in result["results"]["bpp"])
    capsys.readouterr()
    assert main(["inspect", str(images / "img0.png"), "-o", str(tmp_path / "x.png"), "--model", str(weights)]) == 2
    err = capsys.readouterr().err
    assert "no context model" in err and err.count("\n") == 1


def test_evaluate_gives_back_the_callers_thread_count(setup):
    import torch

    from licodec.eval.evaluate import evaluate

    _, weights, images = setup
    before = torch.get_num_threads()
    results = evaluate(weights, images, qualities=[1], threads=before + 1, progress=False, limit=1, refine_steps=0)
    assert len(results) == 1 and torch.get_num_threads() == before
