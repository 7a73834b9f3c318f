import pytest
from PIL import Image

from licodec import cli
from licodec.cli.common import EXIT_IO, EXIT_USAGE
from licodec.eval.results import RDCurve, save_curve

pytest.importorskip("matplotlib")
from licodec.eval.plot import DPI, FIGSIZE, plot_rd  # noqa: E402

EXPECTED_SIZE = (round(FIGSIZE[0] * DPI), round(FIGSIZE[1] * DPI))


def run_cli(argv: list[str]) -> int:
    return cli.main(argv)


def curves() -> list[RDCurve]:
    jpeg = RDCurve("JPEG 4:2:0", bpp=[0.2, 0.5, 1.0, 2.0], psnr_rgb=[25.0, 29.0, 32.0, 36.0],
                   ms_ssim=[0.9, 0.95, 0.98, 0.99], ms_ssim_db=[10.0, 13.0, 17.0, 20.0])  # fmt: skip
    reference = RDCurve("no MS-SSIM", bpp=[0.1, 0.4, 1.5], psnr_rgb=[27.0, 31.0, 37.0])
    return [jpeg, reference]


def test_plot_writes_a_png_of_the_expected_size(tmp_path):
    path = plot_rd(curves(), tmp_path / "sub" / "rd.png", title="Kodak")
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.size == EXPECTED_SIZE


def test_zoomed_plot_writes_a_png(tmp_path):
    path = plot_rd(curves(), tmp_path / "zoom.png", zoom=(0.3, 1.2))
    with Image.open(path) as im:
        assert im.size == EXPECTED_SIZE


def test_plot_rejects_an_empty_list_and_a_reversed_zoom(tmp_path):
    with pytest.raises(ValueError, match="no curves"):
        plot_rd([], tmp_path / "x.png")
    with pytest.raises(ValueError, match="zoom"):
        plot_rd(curves(), tmp_path / "x.png", zoom=(1.0, 0.5))


def test_plot_command_writes_the_png_and_fails_cleanly_on_a_missing_file(tmp_path, capsys):
    files = [str(save_curve(c, tmp_path / f"{i}.json")) for i, c in enumerate(curves())]
    out = tmp_path / "rd.png"
    assert run_cli(["plot", *files, "-o", str(out), "--zoom", "0.1", "1.0"]) == 0
    with Image.open(out) as im:
        assert im.size == EXPECTED_SIZE
    assert run_cli(["plot", files[0], str(tmp_path / "missing.json"), "-o", str(out)]) == EXIT_IO
    assert run_cli(["plot", *files, "-o", str(out), "--zoom", "1", "0.5"]) == EXIT_USAGE
    (tmp_path / "broken.json").write_text("{not json")
    assert run_cli(["plot", str(tmp_path / "broken.json"), "-o", str(out)]) == EXIT_IO
    err = capsys.readouterr().err
    assert "missing.json" in err and "broken.json" in err and "Traceback" not in err
