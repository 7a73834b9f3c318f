"""licodec in a host program: importing it changes no process-wide setting."""

import subprocess
import sys

CHILD = """
import signal, torch
from PIL import Image
state = lambda: (Image.MAX_IMAGE_PIXELS, torch.get_num_threads(), signal.getsignal(signal.SIGINT),
                 signal.getsignal(signal.SIGTERM), torch._C._get_mkldnn_enabled())
before = state()
import licodec.codec, licodec.zoo, licodec.pillow, licodec.cli, licodec.train.loop, licodec.eval.evaluate
assert state() == before, (before, state())
print("ok")
"""


def test_importing_licodec_changes_no_process_wide_setting():
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
