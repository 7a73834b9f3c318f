"""The arithmetic of the decoder's synthesis transform: what `decode --fast` and `--precision` choose.

The latents, and so the files, do not depend on it: the entropy decoding runs in float64 whatever is chosen,
and only the reconstruction changes (README "Speed" gives the cost in dB). Kept free of heavy imports so
that the command line can list the choices without loading PyTorch.
"""

PRECISIONS = ("float32", "bfloat16", "int8")


def synthesis_precision(precision: str | None, fast: bool, deterministic: bool) -> str:
    """The synthesis arithmetic that decompress() will use; ValueError for one it cannot."""
    from licodec.int8 import int8_available

    if precision is None:
        precision = ("int8" if int8_available() and not deterministic else "bfloat16") if fast else "float32"
    if precision not in PRECISIONS:
        raise ValueError(f"unknown synthesis precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if precision == "int8" and deterministic:
        raise ValueError("int8 synthesis runs on oneDNN; deterministic decoding does not use oneDNN")
    if precision == "int8" and not int8_available():
        raise ValueError("int8 synthesis needs oneDNN's int8 convolutions and a CPU with VNNI; this one lacks them")
    return precision
