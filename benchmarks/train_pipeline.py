"""End-to-end training throughput of the real trainer (`licodec train`: data loading, JPEG decoding, crops,
forward, backward, Adam, logging) under settings the model-only benchmark (train_throughput.py) cannot
see: data-loading worker processes overlapping the step (workers 0 vs 1) and the memory allocator
(glibc malloc vs jemalloc vs tcmalloc, preloaded with LD_PRELOAD).

    apt-get install libjemalloc2 libgoogle-perftools4      # the allocators, from Debian
    python benchmarks/train_pipeline.py --data ../shared/data/train [--steps 40]

Each variant is one single-thread process training cheng2020-anchor-ckbd N=64, 6 rate points, 16 crops of
128² per step; images/s is measured from the trainer's own log over the steps after a warm-up.
"""

import argparse
import csv
import os
import subprocess
import sys
import tempfile
from pathlib import Path

LIBS = Path("/usr/lib/x86_64-linux-gnu")
ALLOCATORS = {"glibc": None, "jemalloc": LIBS / "libjemalloc.so.2", "tcmalloc": LIBS / "libtcmalloc_minimal.so.4"}


def run(data: str, steps: int, workers: int, allocator: str, batch: int) -> float | None:
    lib = ALLOCATORS[allocator]
    if lib is not None and not lib.exists():
        return None
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if lib is not None:
        env["LD_PRELOAD"] = str(lib)
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "licodec", "train", "--data", data, "--out", out, "--N", "64", "--rates", "6",
               "--steps", str(steps), "--batch-size", str(batch), "--crop", "128", "--threads", "1",
               "--workers", str(workers), "--no-progress", "--checkpoint-minutes", "600"]  # fmt: skip
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        with open(Path(out) / "log.csv") as f:
            rows = list(csv.DictReader(f))
    warm = len(rows) // 4
    seconds = float(rows[-1]["seconds"]) - float(rows[warm]["seconds"])
    return (len(rows) - 1 - warm) * batch / seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=16)
    args = ap.parse_args()
    print(f"licodec train, cheng2020-anchor-ckbd N=64, {args.batch} crops of 128², 1 thread, {args.steps} steps")
    base = None
    for workers, allocator in [(0, "glibc"), (1, "glibc"), (1, "jemalloc"), (1, "tcmalloc")]:
        rate = run(args.data, args.steps, workers, allocator, args.batch)
        if rate is None:
            print(f"workers={workers} {allocator:9s}: not installed")
            continue
        base = base or rate
        print(f"workers={workers} {allocator:9s}: {rate:6.2f} img/s  x{rate / base:.2f}")


if __name__ == "__main__":
    main()
