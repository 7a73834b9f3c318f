"""Print the ablation results (results/ablation/licodec-NAME.json, written by ablations/run.sh) as a
Markdown table, with each run's training budget read from its checkpoint.

    python ablations/table.py [NAME ...]
"""

import json
import sys
from pathlib import Path

import torch

NAMES = ["gmm-k3", "gaussian-k1", "gllmm", "octave", "asym", "asym-no-im", "asym-no-pqf", "asym-neither"]


def budget(name: str) -> dict | None:
    """Architecture, steps, hours and lambda of a run: from its checkpoint (runs/ are not committed), kept
    beside the results in results/ablation/NAME.budget.json so that the table can be printed again later."""
    saved = Path(f"results/ablation/{name}.budget.json")
    ckpt = Path(f"runs/ablation/{name}.pt")
    if ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        info = {"config": state["config"], "step": state["step"], "elapsed": state["elapsed"],
                "lambdas": list(state["train_config"]["lambdas"]), "commands": state.get("commands", [])}  # fmt: skip
        saved.write_text(json.dumps(info, indent=1))
        return info
    return json.loads(saved.read_text()) if saved.exists() else None


def main(names: list[str]) -> None:
    print("| run | architecture | options | steps | train h | bpp | PSNR (dB) | MS-SSIM | RD loss | encode s "
          "| decode s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        path = Path(f"results/ablation/licodec-{name}.json")
        state = budget(name)
        if not path.exists() or state is None:
            print(f"| {name} | (not run) |||||||||")
            continue
        result = json.loads(path.read_text())
        r = result["results"]
        config = dict(state["config"])
        arch = config.pop("arch")
        options = ", ".join(f"{k}={v}" for k, v in config.items() if k not in ("rates",))
        lam = state["lambdas"][0]
        bpp, psnr = r["bpp"][0], r["psnr-rgb"][0]
        # the loss the run minimized, lambda * 255^2 * MSE + bpp, averaged over the Kodak images
        loss = sum(lam * 255**2 * 10 ** (-v["psnr-rgb"][0] / 10) + v["bpp"][0] for v in result["per_image"].values())
        loss /= len(result["per_image"])
        print(f"| {name} | `{arch}` | {options} | {state['step']} | {state['elapsed'] / 3600:.2f} | {bpp:.4f} | "
              f"{psnr:.2f} | {r['ms-ssim'][0]:.4f} | {loss:.3f} | {r['encoding_time'][0]:.2f} | "
              f"{r['decoding_time'][0]:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main(sys.argv[1:] or NAMES)
