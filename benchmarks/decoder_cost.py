"""Decoder multiply-accumulates and encode/decode seconds of the asymmetric codec (Fu et al. 2022) against
cheng2020-attn at the same N, side by side, on one 768x512 image (random weights).

    python benchmarks/decoder_cost.py [--N 128] [--threads 2]

MACs are counted with forward hooks on every convolution of g_s (the synthesis transform, which is what
differs between the two; both share the hyper-decoder and entropy-parameter network). Target:
the asymmetric decoder needs >= 3x fewer multiply-accumulates.
"""

import argparse
import time

import numpy as np
import torch

from licodec.codec import compress, decompress
from licodec.models import create_model


def synthesis_macs(model: torch.nn.Module, latent_hw: tuple[int, int]) -> int:
    total = 0

    def count(module: torch.nn.Conv2d, inputs, output) -> None:
        nonlocal total
        kh, kw = module.kernel_size
        total += output.numel() * (module.in_channels // module.groups) * kh * kw

    hooks = [m.register_forward_hook(count) for m in model.g_s.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        model.g_s(torch.zeros(1, model.gain.shape[1], *latent_hw))
    for h in hooks:
        h.remove()
    return total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--N", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (512, 768, 3), dtype=np.uint8)
    rows = []
    for name in ("cheng2020-attn", "fu2022-asym", "cheng2020-attn-ckbd", "fu2022-asym-ckbd"):
        torch.manual_seed(0)
        model = create_model(name, N=args.N).eval()
        macs = synthesis_macs(model, (32, 48))
        t = time.perf_counter()
        data = compress(rgb, model)
        t_enc = time.perf_counter() - t
        t = time.perf_counter()
        decompress(data, model)
        rows.append((name, macs, t_enc, time.perf_counter() - t))
    base = rows[0][1]
    print(f"768x512, N={args.N}, threads={args.threads}")
    print(f"{'model':22s} {'g_s GMACs':>10s} {'vs cheng2020-attn':>18s} {'encode s':>9s} {'decode s':>9s}")
    for name, macs, t_enc, t_dec in rows:
        print(f"{name:22s} {macs / 1e9:10.2f} {base / macs:17.2f}x {t_enc:9.2f} {t_dec:9.2f}")


if __name__ == "__main__":
    main()
