import argparse
import csv
import importlib.util
import json
import math

import numpy as np
import pytest
from PIL import Image

from licodec import cli
from licodec.cli import eval as cli_eval
from licodec.cli.common import EXIT_IO, EXIT_USAGE
from licodec.eval import baselines, baselines_run
from licodec.eval.baselines import CODECS, Codec, Jpeg420, WebP, get_codec, measure
from licodec.eval.baselines_run import run_baselines
from licodec.eval.metrics import bpp, psnr
from licodec.eval.results import Measurement, RDCurve, curve_from_measurements, load_curve, save_curve

# The library each codec needs beyond Pillow: its test is skipped only when that is not importable.
LIBRARY = {"heic": "pillow_heif", "jpegxl": "imagecodecs", "vvc": "imageio_ffmpeg"}


def gradient(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    """A random smooth colour image: bilinear ramps with random slopes plus a little noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    planes = [rng.uniform(40, 200) + rng.uniform(-80, 80) * xx + rng.uniform(-80, 80) * yy for _ in range(3)]
    rgb = np.stack(planes, axis=-1) + rng.normal(0, 2, (height, width, 3))
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def run_cli(argv: list[str]) -> int:
    return cli.main(argv)


@pytest.fixture(params=list(CODECS))
def codec(request) -> Codec:
    library = LIBRARY.get(request.param)
    if library and importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed")
    return get_codec(request.param)


def test_every_codec_round_trips_a_small_image(codec):
    assert codec.available(), codec.unavailable_reason()
    rgb = gradient()
    # A high setting: at mid rates JPEG 2000's target is mostly header on a 64x48 image.
    num_bytes, decoded = codec.encode_decode(rgb, codec.settings[-2])
    assert num_bytes > 0
    assert decoded.shape == rgb.shape and decoded.dtype == np.uint8
    assert psnr(rgb, decoded) > 33


def test_every_codec_spends_more_bytes_at_its_last_setting(codec):
    rgb = gradient(seed=1)
    low, _ = codec.encode_decode(rgb, codec.settings[0])
    high, decoded = codec.encode_decode(rgb, codec.settings[-1])
    assert low < high
    assert psnr(rgb, decoded) > 33


def test_every_codec_sweeps_enough_settings(codec):
    assert len(codec.settings) >= 8
    assert codec.description().startswith(codec.label)


def test_odd_sized_images_round_trip():
    rgb = gradient(49, 67)
    for name in ("jpeg", "vvc"):
        if name in LIBRARY and importlib.util.find_spec(LIBRARY[name]) is None:
            continue
        _, decoded = get_codec(name).encode_decode(rgb, get_codec(name).settings[-1])
        assert decoded.shape == rgb.shape


def test_vvc_without_ffmpeg_reports_unavailable_instead_of_raising(monkeypatch):
    vvc = baselines.Vvc()
    monkeypatch.setattr(vvc, "_ffmpeg", lambda: "/nonexistent/ffmpeg")
    assert not vvc.available()
    assert "ffmpeg" in vvc.unavailable_reason()


def test_codec_failing_its_probe_is_unavailable_with_the_error():
    class Broken(Jpeg420):
        name = "broken"

        def encode(self, rgb, setting):
            raise RuntimeError("encoder exploded")

    assert "encoder exploded" in Broken().unavailable_reason()


def test_encode_decode_rejects_non_uint8_images():
    with pytest.raises(ValueError, match="uint8"):
        Jpeg420().encode_decode(gradient().astype(np.float32), 50)


def test_unknown_codec_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match="webp"):
        get_codec("jpeg3000")


def test_psnr_and_bpp_match_hand_computed_values():
    a = np.zeros((2, 2, 3), np.uint8)
    b = a.copy()
    b[0, 0, 0] = 10  # squared error 100 over 12 values
    assert psnr(a, b) == pytest.approx(10 * math.log10(255**2 * 12 / 100))
    assert psnr(a, a + 1) == pytest.approx(20 * math.log10(255))
    assert psnr(a, a) == math.inf
    assert bpp(100, 10, 20) == 4.0
    assert bpp(3, 2, 2) == 6.0


def test_measure_reports_bpp_of_the_real_bytes():
    rgb = gradient()
    m = measure(Jpeg420(), rgb, 50)
    num_bytes, decoded = Jpeg420().encode_decode(rgb, 50)
    assert m.num_bytes == num_bytes
    assert m.bpp == pytest.approx(8 * num_bytes / (48 * 64))
    assert m.psnr_rgb == pytest.approx(psnr(rgb, decoded))
    assert 0 < m.ms_ssim <= 1


def test_curve_means_match_hand_computed_values(tmp_path):
    def point(nbytes, p, s):
        return Measurement(nbytes, nbytes / 10, p, s, 0.1, 0.2)

    per_image = {"a.png": [point(10, 30.0, 0.9), point(20, 40.0, 0.99)],
                 "b.png": [point(30, 32.0, 0.95), point(40, 44.0, 0.97)]}  # fmt: skip
    curve = curve_from_measurements("x", "d", [1, 2], per_image)
    assert curve.bpp == pytest.approx([2.0, 3.0])
    assert curve.psnr_rgb == pytest.approx([31.0, 42.0])
    assert curve.ms_ssim == pytest.approx([0.925, 0.98])
    assert curve.ms_ssim_db[0] == pytest.approx(-10 * math.log10(0.075))
    assert curve.per_image["b.png"]["bytes"] == [30, 40]
    loaded = load_curve(save_curve(curve, tmp_path / "x.json"))
    assert loaded == curve


def test_reference_library_result_files_load(tmp_path):
    path = tmp_path / "ref.json"
    path.write_text(json.dumps({"name": "bpg", "results": {"bpp": [0.1, 0.5], "psnr": [28.0, 33.0],
                                                           "ms-ssim": [0.9, 0.99]}}))  # fmt: skip
    curve = load_curve(path)
    assert curve.metric("psnr-rgb") == [28.0, 33.0]
    assert curve.metric("ms-ssim-db") == pytest.approx([10.0, 20.0])
    with pytest.raises(ValueError, match="encoding_time"):
        curve.metric("encoding_time")


def test_malformed_results_file_raises_value_error_naming_it(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"name": "x", "results": {"bpp": [0.1], "psnr-rgb": [1.0, 2.0]}}))
    with pytest.raises(ValueError, match="bad.json"):
        load_curve(path)


@pytest.fixture
def image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for seed in range(2):
        Image.fromarray(gradient(seed=seed)).save(folder / f"img{seed}.png")
    (folder / "notes.txt").write_text("not an image")
    return folder


def test_run_baselines_writes_json_and_csv_then_reuses_the_cache(image_folder, tmp_path, monkeypatch):
    out = tmp_path / "out"
    codecs = [Jpeg420(settings=(10, 60)), WebP(settings=(20, 80))]
    curves = run_baselines(image_folder, codecs, out_dir=out, progress=False)
    assert [c.name for c in curves] == ["JPEG 4:2:0", "WebP"]
    jpeg = load_curve(out / "jpeg.json")
    assert jpeg.settings == [10, 60] and len(jpeg.bpp) == 2 and jpeg.bpp[0] < jpeg.bpp[1]
    assert sorted(jpeg.per_image) == ["img0.png", "img1.png"]
    rows = list(csv.DictReader((out / "webp.csv").open()))
    assert len(rows) == 4 and {r["image"] for r in rows} == {"img0.png", "img1.png"}

    def no_measuring(*args):
        raise AssertionError("a cached measurement was recomputed")

    monkeypatch.setattr(baselines_run, "measure", no_measuring)
    again = run_baselines(image_folder, [Jpeg420(settings=(10, 60)), WebP(settings=(20, 80))], out_dir=out,
                          progress=False)  # fmt: skip
    assert [c.to_dict() for c in again] == [c.to_dict() for c in curves]


def test_run_baselines_skips_an_unavailable_codec(image_folder, tmp_path, capsys):
    vvc = baselines.Vvc()
    vvc._checked, vvc._reason = True, "no ffmpeg here"
    curves = run_baselines(image_folder, [vvc, Jpeg420(settings=(50,))], out_dir=tmp_path / "o", progress=False)
    assert [c.name for c in curves] == ["JPEG 4:2:0"]
    assert "skipping vvc: no ffmpeg here" in capsys.readouterr().err


def test_a_codec_failing_mid_run_names_the_codec_setting_and_image(image_folder, tmp_path):
    class FailsAt99(Jpeg420):
        def encode(self, rgb, setting):
            if setting == 99:
                raise OSError("disk on fire")
            return super().encode(rgb, setting)

    with pytest.raises(RuntimeError, match="jpeg failed at quality 99 on img0.png: disk on fire"):
        run_baselines(image_folder, [FailsAt99(settings=(50, 60, 99))], out_dir=tmp_path / "o", progress=False)


def test_baselines_command_succeeds_and_reports_missing_folder_and_unknown_codec(image_folder, tmp_path):
    out = tmp_path / "cli"
    assert run_cli(["baselines", str(image_folder), "--codecs", "jpeg", "--out", str(out), "--no-progress"]) == 0
    assert isinstance(load_curve(out / "jpeg.json"), RDCurve)
    assert run_cli(["baselines", str(tmp_path / "missing"), "--out", str(out)]) == EXIT_IO
    assert run_cli(["baselines", str(image_folder), "--codecs", "jpeg3000"]) == EXIT_USAGE


def test_baselines_help_lists_every_codec():
    parser = argparse.ArgumentParser(prog="licodec")
    sub = parser.add_subparsers(dest="command")
    cli_eval.add_commands(sub)
    (codecs,) = [a for a in sub.choices["baselines"]._actions if a.dest == "codecs"]
    assert codecs.help.endswith(": " + " ".join(CODECS))
