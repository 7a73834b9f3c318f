"""The weights inside the package: within the size budget, each with its provenance and training objective."""

import json

from safetensors import safe_open
from safetensors.torch import load_file

from licodec.models.prepared import state_fingerprint
from licodec.zoo import WEIGHTS_DIR, available_weights, default_weights_name

BUDGET_BYTES = 40 * 1000 * 1000  # the limit for all shipped weights together


def test_shipped_weights_fit_the_budget_and_the_default_exists():
    weights = available_weights()
    assert weights, "no shipped weights"
    assert sum(w.path.stat().st_size for w in weights) <= BUDGET_BYTES
    assert default_weights_name() in {w.name for w in weights}


def test_each_shipped_weights_file_has_provenance_objective_and_true_fingerprint():
    for w in available_weights():
        provenance = json.loads((WEIGHTS_DIR / f"{w.name}.json").read_text())
        assert provenance["name"] == w.name and provenance["fingerprint"] == w.fingerprint
        assert provenance["steps"] > 0 and provenance["wall_clock_hours"] > 0 and provenance["commands"]
        assert "Kodak never used" in provenance["data"]
        assert state_fingerprint(load_file(str(w.path))).hex() == w.fingerprint
        with safe_open(str(w.path), "pt") as f:
            objective = json.loads(f.metadata()["objective"])
        assert len(objective["lambdas"]) == w.rates and objective["metric"] in ("mse", "ms-ssim")


def test_shipped_weights_are_the_released_ones_and_never_change_under_a_name():
    """A weights file, once released, keeps its name and fingerprint for good (weights/RELEASED.json): better
    weights ship under a new name, so every file names the weights that decode it."""
    released = json.loads((WEIGHTS_DIR / "RELEASED.json").read_text())["released"]
    installed = {(r["name"], r["fingerprint"]) for r in released if r["installed"]}
    assert {(w.name, w.fingerprint) for w in available_weights()} == installed
    current = {r["name"]: r["fingerprint"] for r in released if r["installed"]}
    assert len(current) == len(installed), "two installed releases share a name"
