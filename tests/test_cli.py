import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image, tiny_model
from licodec.cli import main
from licodec.cli.common import EXIT_CORRUPT, EXIT_IO, EXIT_USAGE
from licodec.zoo import export_weights


def run(*argv: str) -> int:
    return main(list(argv))


def test_encode_decode_roundtrip_writes_png_of_same_size(tmp_path, weights, photo, capsys):
    lic, png = str(tmp_path / "a.lic"), str(tmp_path / "a.png")
    assert run("encode", photo, "-o", lic, "--model", weights, "--quality", "1", "--psnr") == 0
    assert "bpp" in capsys.readouterr().err
    assert run("decode", lic, "-o", png, "--model", weights) == 0
    assert Image.open(png).size == (70, 40)
    assert run("info", lic) == 0
    out = capsys.readouterr().out
    assert "70x40" in out and "cheng2020-anchor-ckbd" in out


def test_existing_output_is_refused_without_force(tmp_path, weights, photo, capsys):
    lic = tmp_path / "a.lic"
    lic.write_bytes(b"precious")
    assert run("encode", photo, "-o", str(lic), "--model", weights) == EXIT_IO
    assert "--force" in capsys.readouterr().err
    assert lic.read_bytes() == b"precious"
    assert run("encode", photo, "-o", str(lic), "--model", weights, "--force") == 0
    assert lic.read_bytes() != b"precious"


def test_several_inputs_go_to_a_directory(tmp_path, weights, photo):
    other = tmp_path / "other.png"
    Image.fromarray(smooth_image(20, 30, seed=2)).save(other)
    out = tmp_path / "out"
    out.mkdir()
    assert run("encode", photo, str(other), "-o", str(out), "--model", weights) == 0
    assert sorted(p.name for p in out.iterdir()) == ["other.lic", "photo.lic"]
    assert run("encode", photo, str(other), "-o", str(tmp_path / "x.lic"), "--model", weights) == EXIT_USAGE


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign", "empty"])
def test_damaged_files_give_one_line_and_corrupt_exit_code(tmp_path, weights, photo, damage, capsys):
    lic = tmp_path / "a.lic"
    assert run("encode", photo, "-o", str(lic), "--model", weights) == 0
    data = lic.read_bytes()
    damaged = {
        "truncate": data[: len(data) // 2],
        "flip": data[:40] + bytes([data[40] ^ 4]) + data[41:],
        "foreign": Path_png_bytes(),
        "empty": b"",
    }[damage]
    bad = tmp_path / "bad.lic"
    bad.write_bytes(damaged)
    capsys.readouterr()
    assert run("decode", str(bad), "-o", str(tmp_path / "out.png"), "--model", weights) == EXIT_CORRUPT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("licodec: error:")
    assert not (tmp_path / "out.png").exists()


def Path_png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(smooth_image(8, 8)).save(buf, format="PNG")
    return buf.getvalue()


def test_missing_and_unreadable_inputs_are_io_errors(tmp_path, weights, capsys):
    assert run("encode", str(tmp_path / "nope.png"), "--model", weights) == EXIT_IO
    assert "no such file" in capsys.readouterr().err
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"this is not an image")
    assert run("encode", str(junk), "--model", weights) == EXIT_IO
    err = capsys.readouterr().err
    assert "cannot read image: not a format" in err and "BytesIO" not in err
    assert run("decode", str(tmp_path / "nope.lic")) == EXIT_IO


def test_output_into_a_missing_directory_is_an_io_error_and_creates_nothing(tmp_path, weights, photo, capsys):
    target = tmp_path / "typo" / "a.lic"
    assert run("encode", photo, "-o", str(target), "--model", weights) == EXIT_IO
    assert "no such directory" in capsys.readouterr().err
    assert not (tmp_path / "typo").exists()


def test_usage_errors(weights, photo, capsys):
    assert run("encode", photo, "--model", weights, "--quality", "9") == EXIT_USAGE
    assert run("encode", photo, "--bogus") == EXIT_USAGE
    assert run("frobnicate") == EXIT_USAGE
    assert run("encode", photo, "--model", "no-such-model") == EXIT_USAGE
    assert all(line.startswith("licodec: error:") for line in capsys.readouterr().err.splitlines())


def test_wrong_model_is_reported_as_incompatible(tmp_path, weights, photo, capsys):
    lic = tmp_path / "a.lic"
    assert run("encode", photo, "-o", str(lic), "--model", weights) == 0
    other = tmp_path / "other.safetensors"
    export_weights(tiny_model("cheng2020-anchor-ckbd", K=1), other, half=False)
    assert run("decode", str(lic), "--model", str(other), "-o", str(tmp_path / "o.png")) == EXIT_CORRUPT
    assert "written by" in capsys.readouterr().err


def test_stdin_to_stdout_through_the_installed_command(tmp_path, weights, photo):
    image = open(photo, "rb").read()
    cmd = [sys.executable, "-m", "licodec"]
    enc = subprocess.run([*cmd, "encode", "-", "-o", "-", "--model", weights], input=image, capture_output=True)
    assert enc.returncode == 0, enc.stderr
    dec = subprocess.run([*cmd, "decode", "-", "-o", "-", "--model", weights], input=enc.stdout, capture_output=True)
    assert dec.returncode == 0, dec.stderr
    assert np.asarray(Image.open(io.BytesIO(dec.stdout))).shape == (40, 70, 3)
    bad = subprocess.run([*cmd, "decode", "-", "-o", "-"], input=b"garbage", capture_output=True)
    assert bad.returncode == EXIT_CORRUPT
    assert b"Traceback" not in bad.stderr and bad.stderr.count(b"\n") == 1


def test_info_names_the_installed_weights_a_file_needs(tmp_path, capsys):
    from licodec.codec import compress
    from licodec.zoo import load_model

    shipped = tmp_path / "shipped.lic"
    shipped.write_bytes(compress(smooth_image(32, 48), load_model(None), 0, 0))
    foreign = tmp_path / "foreign.lic"
    foreign.write_bytes(compress(smooth_image(32, 48), tiny_model("cheng2020-anchor"), 0, 0))
    assert run("info", str(shipped), str(foreign)) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if "weights" in ln]
    default = (Path(__file__).parents[1] / "src/licodec/weights/DEFAULT").read_text().strip()
    assert f"({default})" in lines[0] and "not installed" in lines[1]


def test_a_bad_file_in_a_batch_is_reported_and_the_rest_are_coded(tmp_path, weights, photo, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    out = tmp_path / "out"
    out.mkdir()
    assert run("encode", str(bad), photo, "-o", str(out), "--model", weights) == EXIT_IO
    err = capsys.readouterr().err
    assert "bad.png" in err and "1 of 2 inputs failed" in err and "Traceback" not in err
    assert (out / "photo.lic").exists() and not (out / "bad.lic").exists()


def test_animated_input_is_refused_not_cut_to_its_first_frame(tmp_path, weights, capsys):
    frames = [Image.fromarray(smooth_image(32, 32, seed=s)) for s in range(3)]
    gif = tmp_path / "anim.gif"
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    assert run("encode", str(gif), "-o", str(tmp_path / "a.lic"), "--model", weights) == EXIT_IO
    err = capsys.readouterr().err
    assert "animated image of 3 frames" in err and len(err.strip().splitlines()) == 1


def test_heic_input_is_read_through_pillow_heif(tmp_path):
    pillow_heif = pytest.importorskip("pillow_heif")
    from licodec.image import read_image

    rgb = smooth_image(32, 48)
    path = tmp_path / "photo.heic"
    pillow_heif.from_pillow(Image.fromarray(rgb)).save(str(path), quality=95)
    assert read_image(path).rgb.shape == (32, 48, 3)
