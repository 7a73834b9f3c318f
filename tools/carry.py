"""Write the checkpoint a long run carries to the next session: its weights and bookkeeping, no Adam state.

    python tools/carry.py runs/NAME/last.pt -o training/NAME/last.pt

About a third of the full checkpoint's size (licodec.train.checkpoint.save_carry says why that matters).
``licodec train --resume`` on the carried file starts a fresh Adam and warms it up over ``--warmup-steps``
from the resumed step; the step count, elapsed time, RNG states and command history go on.
"""

import argparse
from pathlib import Path

from licodec.train.checkpoint import save_carry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args()
    state = save_carry(args.checkpoint, args.out)
    mb = args.out.stat().st_size / 1e6
    print(f"{args.out}: step {state['step']}, {state['elapsed'] / 3600:.2f} h, {mb:.1f} MB (no optimizer state)")


if __name__ == "__main__":
    main()
