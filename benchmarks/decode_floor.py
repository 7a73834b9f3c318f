"""How close the checkerboard decoder is to this CPU's limit: the synthesis transform block by block against
the machine's own bfloat16 convolution peak, the lowest decode time that peak allows, and the same blocks
with their wide 3x3 convolutions in int8 (`decode --fast`, src/licodec/int8.py), which go below it.

    python benchmarks/decode_floor.py [--threads 2] [--repeat 3]

For `cheng2020-attn-ckbd` at N=128 on the 768x512 image of codec_speed.py (random weights), prints each
block of g_s with its GMACs, milliseconds and GMAC/s under bfloat16 autocast (`decode --fast`), the
throughput of one large 3x3 convolution (128 -> 128 channels at 192x128, bf16, channels_last) as the
peak, the time of the entropy decoding path (`decompress_latents`), and the floor: all synthesis MACs at
the peak plus that path. Compare the floor with a tenth of CompressAI's decode time from
`benchmarks/codec_speed.py`.
"""

import argparse

import torch
from codec_speed import load_image
from decoder_cost import synthesis_macs
from timing import best_of

from licodec.codec import compress
from licodec.coding.container import unpack
from licodec.fast.int8 import int8_available, int8_copy
from licodec.models import create_model


def conv_peak(repeat: int) -> float:
    """GMAC/s of one 3x3 convolution, 128 -> 128 channels at 192x128, bf16 channels_last."""
    x = torch.randn(1, 128, 128, 192).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(128, 128, 3, padding=1).to(torch.bfloat16)
    with torch.no_grad():
        seconds, _ = best_of(repeat, lambda: conv(x))
    return x[0, 0].numel() * 128 * 128 * 9 / seconds / 1e9


def block_times(model: torch.nn.Module, y_hat: torch.Tensor, repeat: int) -> list[tuple]:
    """(block, input size, GMACs, seconds in bf16, seconds with int8 convolutions) for each block of g_s."""
    rows = []
    x = y_hat.contiguous(memory_format=torch.channels_last)
    int8_blocks = int8_copy(model.g_s) if int8_available() else [None] * len(model.g_s)
    for block, int8_block in zip(model.g_s, int8_blocks, strict=True):
        macs = synthesis_macs_of(block, x)
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16):
            seconds, out = best_of(repeat, lambda b=block, inp=x: b(inp))
            int8_seconds = best_of(repeat, lambda b=int8_block, inp=x: b(inp))[0] if int8_block else float("nan")
        rows.append((type(block).__name__, tuple(x.shape[2:]), macs / 1e9, seconds, int8_seconds))
        x = out
    return rows


def synthesis_macs_of(block: torch.nn.Module, x: torch.Tensor) -> int:
    holder = torch.nn.Module()
    holder.g_s = block  # synthesis_macs counts the convolutions of model.g_s on a zero input
    holder.gain = torch.zeros(1, x.shape[1])
    return synthesis_macs(holder, tuple(x.shape[2:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = create_model("cheng2020-attn-ckbd", N=128, K=3).eval()
    rgb = load_image(None)  # kodim23 when ../shared is there, else a synthetic 768x512 image
    header, sections = unpack(compress(rgb, model))
    t_latents, y_hat = best_of(args.repeat, lambda: model.decompress_latents(sections, 512, 768))
    peak = conv_peak(args.repeat)
    rows = block_times(model, y_hat, args.repeat)
    print(f"cheng2020-attn-ckbd, N=128, 768x512, threads={args.threads}, bf16 synthesis, best of {args.repeat}")
    print(f"{'g_s block':24s} {'input':>10s} {'GMACs':>7s} {'bf16 ms':>8s} {'GMAC/s':>7s} {'int8 ms':>8s}")
    for name, size, gmacs, seconds, int8_seconds in rows:
        print(f"{name:24s} {f'{size[1]}x{size[0]}':>10s} {gmacs:7.2f} {seconds * 1e3:8.1f} {gmacs / seconds:7.0f} "
              f"{int8_seconds * 1e3:8.1f}")  # fmt: skip
    gmacs, seconds, int8_seconds = (sum(r[i] for r in rows) for i in (2, 3, 4))
    print(f"{'synthesis':24s} {'':>10s} {gmacs:7.2f} {seconds * 1e3:8.1f} {gmacs / seconds:7.0f} "
          f"{int8_seconds * 1e3:8.1f}")  # fmt: skip
    print(f"bf16 3x3 convolution peak: {peak:.0f} GMAC/s; synthesis at that peak: {gmacs / peak:.3f} s")
    print(f"entropy decoding path (decompress_latents): {t_latents:.3f} s")
    print(f"decode floor (synthesis at peak + entropy path): {gmacs / peak + t_latents:.3f} s; "
          f"measured synthesis + entropy path: {seconds + t_latents:.3f} s in bf16, "
          f"{int8_seconds + t_latents:.3f} s with int8 convolutions (decode --fast)")  # fmt: skip


if __name__ == "__main__":
    main()
