"""The arithmetic of the decoder's synthesis transform: what `decode --fast` and `--precision` choose.

The latents, and so the files, do not depend on it: the entropy decoding runs in float64 whatever is chosen,
and only the reconstruction changes (docs/results.md, "Speed", gives the cost in dB). Kept free of heavy imports so
that the command line can list the choices without loading PyTorch.
"""

from functools import cache

PRECISIONS = ("float32", "bfloat16", "int8")


@cache
def bf16_native() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX). Without it oneDNN emulates
    bfloat16, and autocast is far slower than float32: on a 2-core AMD EPYC with AVX2 only, a training
    step of the shipped model took 9x longer and its 3-step latent refinement 151 s against 8 s in float32
    (measured December 2026). Every bfloat16 default in licodec asks this first."""
    import torch

    probes = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(probe is not None and probe() for probe in probes)


def synthesis_precision(precision: str | None, fast: bool, deterministic: bool) -> str:
    """The synthesis arithmetic that decompress() will use; ValueError for one it cannot."""
    from licodec.fast.int8 import int8_available

    if precision is None and fast:  # the fastest approximation this CPU has; float32 if none is faster
        precision = "int8" if int8_available() and not deterministic else "bfloat16" if bf16_native() else "float32"
    elif precision is None:
        precision = "float32"
    if precision not in PRECISIONS:
        raise ValueError(f"unknown synthesis precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if precision == "int8" and deterministic:
        raise ValueError("int8 synthesis runs on oneDNN; deterministic decoding does not use oneDNN")
    if precision == "int8" and not int8_available():
        raise ValueError("int8 synthesis needs oneDNN's int8 convolutions and a CPU with VNNI; this one lacks them")
    return precision
