"""Write the state a long run carries to the next machine: its exported weights and a small JSON.

    python tools/carry.py runs/NAME/last.pt -o training/NAME

writes training/NAME/weights.safetensors (fp16, the file ``licodec export`` ships) and training/NAME/state.json
(step, elapsed and CPU time, RNG states, train config, command history). ``licodec train --out training/NAME
--resume`` (or a copy of the folder under runs/) resumes from them with a fresh Adam that warms up over
``--warmup-steps``; each carry adds the weights once (about 23 MB for an N=112 model) and a JSON of ~50 kB.
"""

import argparse
from pathlib import Path

from licodec.train.checkpoint import CARRY_STATE, CARRY_WEIGHTS, save_carry


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("-o", "--out", type=Path, required=True, help="the run's folder under training/")
    args = ap.parse_args()
    state = save_carry(args.checkpoint, args.out)
    sizes = {name: (args.out / name).stat().st_size / 1e6 for name in (CARRY_WEIGHTS, CARRY_STATE)}
    print(
        f"{args.out}: step {state['step']}, {state['elapsed'] / 3600:.2f} h, "
        + ", ".join(f"{name} {mb:.2f} MB" for name, mb in sizes.items())
    )


if __name__ == "__main__":
    main()
