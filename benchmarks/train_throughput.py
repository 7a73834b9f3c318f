"""Training throughput (images/s) of an architecture on this machine under different settings.

python benchmarks/train_throughput.py --arch cheng2020-anchor-ckbd --N 64 --crop 128 --batch 16
"""

import argparse
import time

import torch

from licodec.losses import rate_distortion
from licodec.models import create_model


def measure(arch, options, crop, batch, threads, mixed, channels_last, iters, compile_=False):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = create_model(arch, **options).train()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    fwd = torch.compile(model) if compile_ else model
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    lam = torch.full((batch,), 0.01)
    x = torch.rand(batch, 3, crop, crop)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    q = torch.randint(model.rates, (batch,))
    times = []
    for i in range(iters + 2):
        t = time.perf_counter()
        terms = rate_distortion(fwd(x, q, mixed_precision=mixed), x, lam)
        opt.zero_grad()
        terms.loss.backward()
        opt.step()
        if i >= 2:  # warm-up
            times.append(time.perf_counter() - t)
    sec = sorted(times)[len(times) // 2]
    return batch / sec


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="cheng2020-anchor-ckbd")
    ap.add_argument("--N", type=int, default=64)
    ap.add_argument("--rates", type=int, default=6)
    ap.add_argument("--crop", type=int, nargs="+", default=[128, 256])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--compile", action="store_true", help="also measure torch.compile")
    args = ap.parse_args()
    options = {"N": args.N, "rates": args.rates}
    settings = [("fp32", False, False), ("fp32 + channels_last", False, True), ("bf16 autocast", True, False),
                ("bf16 autocast + channels_last", True, True)]  # fmt: skip
    for crop in args.crop:
        batch = args.batch if crop <= 128 else max(1, args.batch // 4)
        base = None
        for name, mixed, cl in settings:
            ips = measure(args.arch, options, crop, batch, args.threads, mixed, cl, args.iters)
            base = base or ips
            print(
                f"{args.arch} N={args.N} crop={crop} batch={batch} threads={args.threads} {name:32s} "
                f"{ips:7.1f} img/s  x{ips / base:.2f}",
                flush=True,
            )
        if args.compile:
            ips = measure(args.arch, options, crop, batch, args.threads, True, True, args.iters, compile_=True)
            print(f"{'':60s} + torch.compile {ips:7.1f} img/s  x{ips / base:.2f}", flush=True)


if __name__ == "__main__":
    main()
