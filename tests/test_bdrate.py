import math
import warnings

import numpy as np
import pytest

from licodec import cli
from licodec.cli.common import EXIT_IO, EXIT_USAGE
from licodec.eval.bdrate import bd_psnr, bd_quality, bd_rate, bd_table, format_table
from licodec.eval.results import RDCurve, save_curve

bjontegaard = pytest.importorskip("bjontegaard")


def run_cli(argv: list[str]) -> int:
    return cli.main(argv)


def synthetic_curve(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Concave, increasing PSNR over log-spaced rates, with random bends."""
    rng = np.random.default_rng(seed)
    rate = np.sort(np.exp(rng.uniform(np.log(0.05), np.log(2.0), n)))
    rate = rate * (1 + 0.01 * np.arange(n))  # no ties
    psnr = 32 + rng.uniform(3, 6) * np.log2(rate / 0.3) - rng.uniform(0, 0.4) * np.log2(rate / 0.3) ** 2
    return rate, psnr + rng.normal(0, 0.05, n).cumsum() * 0.1


@pytest.mark.parametrize("seed", range(8))
def test_bd_rate_and_bd_psnr_agree_with_the_bjontegaard_package(seed):
    n_anchor, n_test = 4 + seed % 4, 5 + (seed * 3) % 5
    ra, qa = synthetic_curve(seed, n_anchor)
    rt, qt = synthetic_curve(100 + seed, n_test)
    qt = qt + 0.3 * (seed - 3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package warns on small overlaps; the numbers still count
        want_rate = bjontegaard.bd_rate(ra, qa, rt, qt, method="pchip", require_matching_points=False)
        want_psnr = bjontegaard.bd_psnr(ra, qa, rt, qt, method="pchip", require_matching_points=False)
    if math.isnan(want_rate):
        assert math.isnan(bd_rate(ra, qa, rt, qt))
    else:
        assert bd_rate(ra, qa, rt, qt) == pytest.approx(want_rate, rel=1e-3, abs=1e-6)
    assert bd_psnr(ra, qa, rt, qt) == pytest.approx(want_psnr, rel=1e-3, abs=1e-6)


def test_points_given_in_any_order_give_the_same_result():
    ra, qa = synthetic_curve(1, 6)
    rt, qt = synthetic_curve(2, 6)
    order = np.random.default_rng(0).permutation(6)
    assert bd_rate(ra[order], qa[order], rt, qt) == pytest.approx(bd_rate(ra, qa, rt, qt))


def test_a_constant_rate_factor_gives_exactly_that_bd_rate():
    rate, psnr = synthetic_curve(3, 6)
    assert bd_rate(rate, psnr, 0.8 * rate, psnr) == pytest.approx(-20.0)
    assert bd_quality(rate, psnr, rate, psnr + 1.0) == pytest.approx(1.0)
    assert bd_rate(rate, psnr, rate, psnr) == pytest.approx(0.0, abs=1e-12)


def test_non_increasing_points_are_dropped_and_disjoint_curves_give_nan():
    rate, psnr = np.array([0.1, 0.2, 0.4, 0.8]), np.array([25.0, 28.0, 27.9, 32.0])
    clean = [0.1, 0.2, 0.8], [25.0, 28.0, 32.0]
    assert bd_rate(rate, psnr, rate * 0.9, psnr) == pytest.approx(bd_rate(*clean, np.array(clean[0]) * 0.9, clean[1]))
    assert math.isnan(bd_rate(rate, psnr, rate, psnr + 100))
    with pytest.raises(ValueError, match="at least 2 points"):
        bd_rate([0.1], [25.0], rate, psnr)


def curve(name: str, rate, psnr) -> RDCurve:
    return RDCurve(name=name, bpp=list(rate), psnr_rgb=list(psnr), ms_ssim_db=[p / 3 for p in psnr])


def test_bd_table_puts_the_anchor_at_zero_and_matches_bd_rate():
    ra, qa = synthetic_curve(4, 6)
    rt, qt = synthetic_curve(5, 7)
    rows = bd_table([curve("JPEG", ra, qa), curve("VVC", rt, qt)], "jpeg")
    assert rows[0].name == "JPEG" and rows[0].bd_rate == pytest.approx(0.0, abs=1e-12)
    assert rows[1].bd_rate == pytest.approx(bd_rate(ra, qa, rt, qt))
    assert rows[1].bd_quality == pytest.approx(bd_psnr(ra, qa, rt, qt))
    assert "VVC" in format_table(rows, "JPEG")
    with pytest.raises(ValueError, match="'JPEG'"):
        bd_table([curve("JPEG", ra, qa)], "webp")


def test_bdrate_command_prints_a_table_and_fails_cleanly(tmp_path, capsys):
    ra, qa = synthetic_curve(6, 6)
    a = save_curve(curve("JPEG 4:2:0", ra, qa), tmp_path / "jpeg.json")
    b = save_curve(curve("WebP", ra * 0.7, qa), tmp_path / "webp.json")
    assert run_cli(["bdrate", str(a), str(b), "--anchor", "jpeg"]) == 0
    out = capsys.readouterr().out
    assert "WebP" in out and "-30.00%" in out
    assert run_cli(["bdrate", str(a), str(b), "--anchor", "JPEG 4:2:0", "--metric", "ms-ssim-db"]) == 0
    assert run_cli(["bdrate", str(a), str(tmp_path / "missing.json"), "--anchor", "jpeg"]) == EXIT_IO
    assert run_cli(["bdrate", str(a), str(b), "--anchor", "avif"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "missing.json" in err and "Traceback" not in err
