"""Speed and rate of the entropy-coding path: K=3 Gaussian-mixture tables + range coding of 300,000 symbols
(one Kodak image's latent: 192 channels x 32 x 48), against constriction's built-in single-Gaussian model
on the same symbols as a side-by-side baseline.

    python benchmarks/entropy_coding.py [--threads 1] [--repeat 5]

Parameters are synthetic but shaped like a trained model's: half the channels are "dead" (scale at the
0.11 bound, mean ~0), the others have log-normal scales around 1 and means spread over a few units.
Targets: build tables + encode <= 0.3 s, build tables + decode <= 0.5 s.
"""

import argparse

import constriction
import numpy as np
import torch
from timing import best_of

from licodec.coding.coder import Decoder, Encoder
from licodec.entropy import DiscretizedMixture, MixtureParams
from licodec.entropy.tables import mixture_tables


def synthetic_latent(c: int, p: int, k: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    w = torch.softmax(torch.randn(1, k, c, p, generator=gen) * 2, 1)
    active = (torch.arange(c) < c // 2)[None, None, :, None]
    mu = torch.where(active, torch.randn(1, k, c, p, generator=gen) * 2, torch.randn(1, k, c, p, generator=gen) * 0.05)
    s = torch.where(
        active,
        torch.exp(torch.randn(1, k, c, p, generator=gen) * 0.7),
        0.11 + 0.1 * torch.rand(1, k, c, p, generator=gen),
    )
    comp = torch.multinomial(w.permute(0, 2, 3, 1).reshape(-1, k), 1, generator=gen).reshape(c, p)
    mean = torch.gather(mu[0], 0, comp[None])[0]
    scale = torch.gather(s[0], 0, comp[None])[0]
    y = torch.round(mean + scale * torch.randn(c, p, generator=gen))
    return MixtureParams(w, mu, s), y, mean, scale


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    c, p = 192, 32 * 48
    mixture = DiscretizedMixture.gaussian(3)
    mp, y, mean, scale = synthetic_latent(c, p, 3)
    symbols = y.reshape(-1).to(torch.int64).numpy()

    def encode() -> bytes:
        enc = Encoder()
        enc.encode(symbols, mixture_tables(mixture, mp))
        return enc.finish()

    t_enc, data = best_of(args.repeat, encode)
    t_dec, decoded = best_of(args.repeat, lambda: Decoder(data).decode(len(symbols), mixture_tables(mixture, mp)))
    assert np.array_equal(decoded, symbols)
    ideal = float(-torch.log2(mixture.likelihood(y[None], mp)).sum()) / 8

    # Baseline: constriction's QuantizedGaussian with each symbol's own component (what a single-Gaussian
    # codec does), no mixture tables.
    family = constriction.stream.model.QuantizedGaussian(-10_000, 10_000)
    m32, s32 = mean.reshape(-1).numpy().astype(np.float64), scale.reshape(-1).numpy().astype(np.float64)
    sym32 = symbols.astype(np.int32)

    def base_encode() -> np.ndarray:
        enc = constriction.stream.queue.RangeEncoder()
        enc.encode(sym32, family, m32, s32)
        return enc.get_compressed()

    t_benc, compressed = best_of(args.repeat, base_encode)
    t_bdec, _ = best_of(
        args.repeat, lambda: constriction.stream.queue.RangeDecoder(compressed).decode(family, m32, s32)
    )
    n = len(symbols)
    print(f"symbols: {n:,} ({c} channels x {p} positions), K=3 Gaussian mixture, threads={args.threads}")
    print(f"licodec  tables+encode {t_enc:.3f} s (target <= 0.3)   tables+decode {t_dec:.3f} s (target <= 0.5)")
    print(
        f"         size {len(data):,} B, ideal -sum log2 P {ideal:,.0f} B, "
        f"overhead {100 * (len(data) / ideal - 1):.3f} %"
    )
    print(
        f"baseline constriction QuantizedGaussian (one Gaussian/symbol): encode {t_benc:.3f} s, decode {t_bdec:.3f} s"
    )
    print(f"ratio licodec/baseline: encode x{t_enc / t_benc:.1f}, decode x{t_dec / t_bdec:.1f}")


if __name__ == "__main__":
    main()
