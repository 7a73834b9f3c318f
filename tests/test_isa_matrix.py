"""Decoding and encoding identical on every CPU level and thread count: the golden files and a fresh encode, in
child processes under ATEN_CPU_CAPABILITY=default, avx2 and the machine's best, with 1 and 2 threads. The
latents and the encoder's bytes must be identical everywhere; the pixels too with deterministic decoding.
(PyTorch picks its vectorized kernels by that variable, so no other hardware is needed to run the matrix.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

GOLDEN = Path(__file__).parent / "golden"

CHILD = r"""
import hashlib, json, sys
import numpy as np, torch
sys.path.insert(0, sys.argv[1])
from conftest import smooth_image
from licodec.codec import compress, decompress
from licodec.coding.container import unpack
from licodec.coding.latent_codec import decompress_latents
from licodec.zoo import load_weights

torch.set_num_threads(int(sys.argv[2]))
out = {"capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads()}
for name in ("cheng2020-anchor-ckbd", "cheng2020-anchor", "fu2023-gllmm-ckbd"):
    model = load_weights(f"{sys.argv[1]}/golden/{name}.safetensors")
    data = open(f"{sys.argv[1]}/golden/{name}.lic", "rb").read()
    header, sections = unpack(data)
    y_hat = decompress_latents(model, sections, header.height + header.pad_bottom, header.width + header.pad_right)
    pixels = decompress(data, model, deterministic=True)
    fresh = compress(smooth_image(70, 90, seed=5), model, quality=0)
    out[name] = [hashlib.sha256(t).hexdigest()[:16] for t in (y_hat.numpy().tobytes(), pixels.tobytes(), fresh)]
print(json.dumps(out))
"""


def run(capability: str | None, threads: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "ATEN_CPU_CAPABILITY"}
    if capability:
        env["ATEN_CPU_CAPABILITY"] = capability
    done = subprocess.run([sys.executable, "-c", CHILD, str(Path(__file__).parent), str(threads)], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_latents_pixels_and_bytes_are_identical_on_every_cpu_level_and_thread_count():
    # None: the machine's best level
    results = {(cap, threads): run(cap, threads) for cap in ("default", "avx2", None) for threads in (1, 2)}
    assert results[("default", 1)]["capability"] == "DEFAULT" and results[(None, 2)]["threads"] == 2
    reference = results[(None, 1)]
    for key, result in results.items():
        for name in ("cheng2020-anchor-ckbd", "cheng2020-anchor", "fu2023-gllmm-ckbd"):
            assert result[name] == reference[name], (key, result["capability"], name)
