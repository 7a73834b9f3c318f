"""Coverage-guided fuzzing of everything that reads untrusted bytes (fuzz/targets.py), with atheris.

    pip install atheris
    python fuzz/run.py sections [--seconds 300] [--rss-mb 4096]      # or: container, model, image

Starts from the target's seed inputs (a valid .lic, its sections, a real weights file, a PNG), lets libFuzzer
mutate them for the given time under a memory cap, and prints the inputs tried and their outcomes by class.
A misbehaviour (an exception other than licodec's documented errors, a hang, or memory beyond the cap) stops
the run with the input saved by libFuzzer as crash-*/timeout-*/oom-*; add it to tests/test_fuzz.py.
"""

import argparse
import collections
import io
import sys
import tempfile
import time
from pathlib import Path

import atheris
import numpy as np
from PIL import Image

with atheris.instrument_imports(include=["licodec", "targets"]):
    import targets


def seeds(name: str) -> list[bytes]:
    if name in ("container", "sections"):
        return [targets.SEED, b"".join(targets.SEED_SECTIONS)]
    if name == "model":
        from licodec.zoo import export_weights

        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "m.safetensors"
            export_weights(targets.MODEL, path)
            return [path.read_bytes()]
    buffer = io.BytesIO()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(buffer, format="PNG")
    return [buffer.getvalue()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", choices=sorted(targets.TARGETS))
    ap.add_argument("--seconds", type=int, default=300)
    ap.add_argument("--rss-mb", type=int, default=4096)
    args = ap.parse_args()
    counts: collections.Counter = collections.Counter()
    start = time.time()

    def report() -> None:
        total = sum(counts.values())
        print(f"{args.target}: {total} inputs in {time.time() - start:.0f} s; outcomes: "
              + ", ".join(f"{k} {v}" for k, v in counts.most_common()), file=sys.stderr, flush=True)  # fmt: skip

    def one(data: bytes) -> None:
        counts[targets.check(args.target, data)] += 1
        if time.time() - report.last > 10:  # libFuzzer leaves without Python's exit handlers: report as we go
            report.last = time.time()
            report()

    report.last = start

    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{args.target}-"))
    for i, seed in enumerate(seeds(args.target)):
        (corpus / f"seed{i}").write_bytes(seed)
    atheris.Setup([sys.argv[0], str(corpus), f"-max_total_time={args.seconds}", f"-rss_limit_mb={args.rss_mb}",
                   f"-timeout={int(targets.SLOW_SECONDS) + 1}", "-max_len=65536"], one)  # fmt: skip
    atheris.Fuzz()


if __name__ == "__main__":
    main()
