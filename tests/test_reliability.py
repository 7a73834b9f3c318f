"""Hostile and careless inputs (issue 26): model files that would run code or do not load, crafted
entropy-coded sections, an output that is its own input, and decodes in several threads at once."""

import builtins
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from conftest import smooth_image, tiny_model
from licodec import codec, zoo
from licodec.cli import main
from licodec.cli.common import EXIT_IO
from licodec.coding.container import ContainerError, pack, unpack
from licodec.models import create_model
from licodec.models.prepared import freeze
from licodec.train.checkpoint import load_checkpoint
from licodec.train.loop import TrainConfig, train


class Payload:
    """Unpickles as ``call(*args)``: what a hostile .pt does to whoever loads it with full pickle."""

    def __init__(self, call, *args):
        self.call, self.args = call, args

    def __reduce__(self):
        return self.call, self.args


def one_line_error(err: str) -> bool:
    return err.count("\n") == 1 and err.startswith("licodec: error: ") and "Traceback" not in err


# --- model files that would run code -------------------------------------------------------------------------


def evil_checkpoint(tmp_path, how: str):
    marker = tmp_path / "pwned"
    payload = {
        "system": Payload(os.system, f"touch '{marker}'"),
        "exec": Payload(builtins.exec, f"open({str(marker)!r}, 'w').close()"),
    }[how]
    path = tmp_path / "evil.pt"
    torch.save({"config": payload, "model": {}}, path)
    return path, marker


@pytest.mark.parametrize("how", ["system", "exec"])
def test_checkpoint_holding_code_is_refused_without_running_it(tmp_path, how):
    path, marker = evil_checkpoint(tmp_path, how)
    with pytest.raises(zoo.ModelFileError, match="evil.pt"):
        zoo.load_model(str(path))
    assert not marker.exists()


def test_cli_refuses_checkpoint_holding_code_in_one_line(tmp_path, photo):
    path, marker = evil_checkpoint(tmp_path, "system")
    out = tmp_path / "out.lic"
    cmd = [sys.executable, "-m", "licodec", "encode", photo, "-o", str(out), "--model", str(path)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == EXIT_IO
    assert one_line_error(result.stderr), result.stderr
    assert "evil.pt" in result.stderr
    assert not marker.exists() and not out.exists()


def test_training_checkpoint_with_rng_states_still_loads(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(2):
        Image.fromarray(smooth_image(64, 64, seed=i)).save(folder / f"{i}.png")
    config = TrainConfig(data=str(folder), out=str(tmp_path / "run"), model_options={"N": 16}, steps=1, batch=2,
                         crop=64, workers=0, progress=False, mixed_precision=False, channels_last=False,
                         checkpoint_minutes=0.0)  # fmt: skip
    path = train(config)
    state = load_checkpoint(path)  # the training side reads it through zoo.read_checkpoint too
    assert state["optimizer"] is not None and state["rng"][0]["numpy"][1].dtype == np.uint32
    model = zoo.load_model(str(path))
    for key, value in model.state_dict().items():
        assert torch.equal(value, state["model"][key])


# --- model files that do not load ----------------------------------------------------------------------------


def bad_model_file(tmp_path, kind: str):
    rng = np.random.default_rng(0)
    real = tmp_path / "real.safetensors"
    zoo.export_weights(create_model("cheng2020-anchor", N=16), real)
    path = tmp_path / ("bad.pt" if kind.endswith("pt") else "bad.safetensors")
    if kind == "random safetensors":
        path.write_bytes(rng.bytes(3000))
    elif kind == "empty safetensors":
        path.write_bytes(b"")
    elif kind == "truncated safetensors":
        data = real.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "foreign safetensors":  # valid safetensors without a licodec model config
        save_file({"w": torch.zeros(3)}, path)
    elif kind == "unknown architecture safetensors":
        save_file({"w": torch.zeros(3)}, path, metadata={"config": '{"arch": "no-such-model"}'})
    elif kind == "wrong tensors safetensors":  # a real config, another model's tensors
        save_file({"w": torch.zeros(3)}, path, metadata={"config": '{"arch": "cheng2020-anchor", "N": 16}'})
    elif kind == "random pt":
        path.write_bytes(rng.bytes(3000))
    elif kind == "empty pt":
        path.write_bytes(b"")
    elif kind == "list pt":
        torch.save([1, 2, 3], path)
    elif kind == "truncated pt":
        torch.save({"config": {"arch": "cheng2020-anchor"}, "model": {"w": torch.zeros(1000)}}, path)
        path.write_bytes(path.read_bytes()[:600])
    elif kind == "broken config pt":
        torch.save({"config": {"arch": "cheng2020-anchor", "N": "sixteen"}, "model": {}}, path)
    return path


BAD_MODEL_FILES = [
    "random safetensors", "empty safetensors", "truncated safetensors", "foreign safetensors",
    "unknown architecture safetensors", "wrong tensors safetensors",
    "random pt", "empty pt", "list pt", "truncated pt", "broken config pt",
]  # fmt: skip


@pytest.mark.parametrize("kind", BAD_MODEL_FILES)
def test_bad_model_file_is_one_line_io_error(tmp_path, photo, kind, capsys):
    path = bad_model_file(tmp_path, kind)
    with pytest.raises(zoo.ModelFileError, match=path.name):
        zoo.load_model(str(path))
    out = tmp_path / "out.lic"
    assert main(["encode", photo, "-o", str(out), "--model", str(path)]) == EXIT_IO
    err = capsys.readouterr().err
    assert one_line_error(err), err
    assert path.name in err and not out.exists()


def test_bad_model_file_for_decode_is_one_line_io_error(tmp_path, weights, photo, capsys):
    lic = tmp_path / "a.lic"
    assert main(["encode", photo, "-o", str(lic), "--model", weights]) == 0
    path = bad_model_file(tmp_path, "truncated safetensors")
    capsys.readouterr()
    assert main(["decode", str(lic), "-o", str(tmp_path / "a.png"), "--model", str(path)]) == EXIT_IO
    assert one_line_error(capsys.readouterr().err)


# --- crafted entropy-coded sections --------------------------------------------------------------------------


def crafted(data: bytes, seed: int) -> bytes:
    """``data`` with one entropy-coded section partly or wholly replaced by random bytes, re-packed so that its
    header and checksum are valid: only the entropy decoder can notice."""
    rng = np.random.default_rng(seed)
    header, sections = unpack(data)
    sections = list(sections)
    i = int(rng.integers(len(sections)))
    s = sections[i]
    mode = seed % 4
    if mode == 0:  # a run of random bytes inside the section
        start = int(rng.integers(len(s)))
        n = int(rng.integers(1, len(s) - start + 1))
        s = s[:start] + rng.bytes(n) + s[start + n :]
    elif mode == 1:  # the whole section random, of the same length
        s = rng.bytes(len(s))
    elif mode == 2:  # random, of another length (whole 32-bit words, which the coder reads)
        s = rng.bytes(4 * int(rng.integers(0, 2 * len(s) // 4 + 2)))
    else:  # single bytes changed
        s = bytearray(s)
        for j in rng.integers(len(s), size=int(rng.integers(1, 4))):
            s[j] = int(rng.integers(256))
        s = bytes(s)
    sections[i] = s
    return pack(header, sections)


def test_crafted_entropy_coded_sections_raise_only_container_error():
    model = tiny_model("cheng2020-anchor-ckbd", rates=2)
    data = codec.compress(smooth_image(48, 64), model, quality=1, refine_steps=0)
    outcomes = {"decoded": 0, "refused": 0}
    for seed in range(100):
        variant = crafted(data, seed)
        start = time.perf_counter()
        try:
            pixels = codec.decompress(variant, model)
            assert pixels.shape == (48, 64, 3)
            outcomes["decoded"] += 1
        except ContainerError as e:
            assert "\n" not in str(e)  # the CLI prints it as its one-line error
            outcomes["refused"] += 1
        assert time.perf_counter() - start < 5, f"seed {seed} took {time.perf_counter() - start:.1f} s"
    assert outcomes["refused"] > 0, outcomes  # the variants do reach the entropy decoder's checks


# --- an output that is its own input -------------------------------------------------------------------------


@pytest.mark.parametrize("force", [False, True])
@pytest.mark.parametrize("case", ["encode same path", "encode hard link", "encode default output", "decode"])
def test_output_that_is_an_input_is_refused(tmp_path, weights, photo, case, force, capsys):
    lic = tmp_path / "a.lic"
    assert main(["encode", photo, "-o", str(lic), "--model", weights]) == 0
    if case == "encode same path":
        source, argv = photo, ["encode", photo, "-o", photo]
    elif case == "encode hard link":
        os.link(photo, tmp_path / "link.png")
        source, argv = photo, ["encode", photo, "-o", str(tmp_path / "link.png")]
    elif case == "encode default output":  # INPUT.lic of a file already named .lic
        source, argv = str(lic), ["encode", str(lic)]
    else:
        source, argv = str(lic), ["decode", str(lic), "-o", str(lic)]
    before = open(source, "rb").read()
    capsys.readouterr()
    assert main([*argv, "--model", weights] + (["--force"] if force else [])) == EXIT_IO
    err = capsys.readouterr().err
    assert one_line_error(err) and "is the input" in err, err
    assert open(source, "rb").read() == before


# --- decodes in several threads ------------------------------------------------------------------------------


def thread_count_of_a_new_thread() -> int:
    seen = []
    thread = threading.Thread(target=lambda: seen.append(torch.get_num_threads()))
    thread.start()
    thread.join()
    return seen[0]


def decode_together(start: threading.Barrier, data: bytes, model) -> tuple[np.ndarray, int]:
    start.wait()
    return codec.decompress(data, model, deterministic=True), torch.get_num_threads()


def test_concurrent_decodes_match_and_leave_the_thread_count():
    """torch.set_num_threads also sets the count a thread adopts on its first parallel work: a decoding thread
    that starts while another has set one thread for its tables must not keep that one, nor hand it on."""
    model = freeze(tiny_model("cheng2020-anchor-ckbd", rates=2))  # as licodec.zoo loads weights
    data = codec.compress(smooth_image(64, 96), model, quality=1, refine_steps=0)
    copies = [model] * 4  # one model object shared by every thread
    interval, before = sys.getswitchinterval(), torch.get_num_threads()
    sys.setswitchinterval(1e-4)  # switch threads often, so that their table steps interleave
    torch.set_num_threads(2)  # not the suite's one: a thread left on one is only visible from two
    try:
        # deterministic: the synthesis gives the same pixels on any thread count, so only the latents compare
        expected = codec.decompress(data, model, deterministic=True)
        for _ in range(8):  # fresh threads each round: the race is on their first parallel work
            start = threading.Barrier(len(copies))
            with ThreadPoolExecutor(len(copies)) as pool:
                results = list(pool.map(lambda m, start=start: decode_together(start, data, m), copies))
            for pixels, threads in results:
                np.testing.assert_array_equal(pixels, expected)
                assert threads == 2
            assert torch.get_num_threads() == 2 and thread_count_of_a_new_thread() == 2
    finally:
        sys.setswitchinterval(interval)
        torch.set_num_threads(before)
