import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import ALL_MODELS, smooth_image
from licodec.train.checkpoint import load_checkpoint
from licodec.train.loop import TrainConfig, train


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("images")
    for i in range(4):
        Image.fromarray(smooth_image(80, 96, seed=i)).save(path / f"{i}.png")
    Image.fromarray(smooth_image(90, 90, seed=9)).save(path / "j.jpg", quality=90)
    return path


def config(folder, out, **kw) -> TrainConfig:
    base = dict(
        data=str(folder),
        out=str(out),
        model_options={"N": 8, "rates": 2},
        steps=4,
        batch=2,
        crop=64,
        workers=0,
        progress=False,
        mixed_precision=False,
        channels_last=False,
        checkpoint_minutes=0.0,
        lr_drop_step=10**6,
    )
    return TrainConfig(**{**base, **kw})


def test_training_reduces_loss_and_logs(folder, tmp_path):
    path = train(config(folder, tmp_path / "run", steps=30, lr=1e-3))
    state = load_checkpoint(path)
    assert state["step"] == 30
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()
    assert rows[0].startswith("step,") and len(rows) == 31
    losses = [float(r.split(",")[3]) for r in rows[1:]]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])


@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_registered_model_trains(folder, tmp_path, name, monkeypatch):
    """Two steps of the real trainer (bf16 autocast, channels_last, as by default) change the weights."""
    monkeypatch.setattr("licodec.train.loop.bf16_native", lambda: True)  # the bf16 path, on any CPU
    path = train(config(folder, tmp_path / "run", arch=name, steps=2, mixed_precision=True, channels_last=True,
                        model_options={"N": 16, "rates": 2}))  # fmt: skip
    state = load_checkpoint(path)
    assert state["step"] == 2 and state["config"]["arch"] == name
    rows = (tmp_path / "run" / "log.csv").read_text().splitlines()[1:]
    assert all(np.isfinite(float(r.split(",")[3])) for r in rows)


def test_octave_information_fidelity_term_enters_the_loss():
    from licodec.losses import rate_distortion
    from licodec.models import create_model

    torch.manual_seed(0)
    x = torch.rand(2, 3, 64, 64)
    losses = {}
    for fidelity in (0.0, 1.0):
        torch.manual_seed(1)
        model = create_model("fu2022-octave", N=16, fidelity=fidelity).train()
        torch.manual_seed(2)
        out = model(x)
        assert bool(out.auxiliary) == (fidelity > 0)
        losses[fidelity] = float(rate_distortion(out, x, torch.full((2,), 0.01)).loss.detach())
    assert losses[1.0] > losses[0.0]


@pytest.mark.parametrize("native", [True, False])
def test_bf16_autocast_only_where_the_cpu_computes_bf16(folder, tmp_path, monkeypatch, capsys, native):
    monkeypatch.setattr("licodec.train.loop.bf16_native", lambda: native)
    state = load_checkpoint(train(config(folder, tmp_path / "run", steps=1, mixed_precision=True)))
    assert state["train_config"]["mixed_precision"] is native  # recorded as it ran
    assert ("training in float32" in capsys.readouterr().err) is not native


def test_validation_measures_real_files(folder, tmp_path):
    train(config(folder, tmp_path / "run", steps=2, val_holdout=1, val_every=2))
    rows = (tmp_path / "run" / "val.csv").read_text().splitlines()
    assert rows[0] == "step,quality,bpp,bpp_estimated,psnr_rgb,ms_ssim"
    assert [r.split(",")[:2] for r in rows[1:]] == [["2", "1"], ["2", "2"]]
    assert all(float(r.split(",")[2]) > 0 for r in rows[1:])


def test_resume_continues_exactly(folder, tmp_path):
    straight = load_checkpoint(train(config(folder, tmp_path / "a", steps=6)))
    train(config(folder, tmp_path / "b", steps=3))
    resumed = load_checkpoint(train(config(folder, tmp_path / "b", steps=6), resume=True))
    for key, value in straight["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    log = (tmp_path / "b" / "log.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in log] == [1, 2, 3, 4, 5, 6]


def test_resume_from_carried_weights_and_json_restarts_adam_with_a_warmup(folder, tmp_path):
    from licodec.train.checkpoint import save_carry

    full = train(config(folder, tmp_path / "a", steps=3))
    save_carry(full, tmp_path / "b")
    assert not (tmp_path / "b" / "last.pt").exists()
    carried = load_checkpoint(tmp_path / "b" / "last.pt")  # read from weights.safetensors + state.json
    assert "optimizer" not in carried
    assert (tmp_path / "b" / "state.json").stat().st_size < 100_000
    for key, value in load_checkpoint(full)["model"].items():  # the weights as shipped: fp16
        assert torch.equal(value.half().float(), carried["model"][key]), key
    state = load_checkpoint(train(config(folder, tmp_path / "b", steps=5, warmup_steps=4), resume=True))
    assert state["step"] == 5 and state["train_config"]["warmup_start"] == 3
    assert state["commands"][-1]["fresh_optimizer"] is True
    adam_steps = {int(s["step"]) for s in state["optimizer"]["state"].values()}
    assert adam_steps == {2}  # Adam counted only the steps after the resume
    rows = (tmp_path / "b" / "log.csv").read_text().splitlines()[1:]
    assert [float(r.split(",")[2]) for r in rows] == pytest.approx([1e-4 / 4, 2e-4 / 4])  # warm-up from step 3
    # A full checkpoint written during that warm-up resumes it exactly where it was
    again = load_checkpoint(train(config(folder, tmp_path / "b", steps=6, warmup_steps=4), resume=True))
    assert again["train_config"]["warmup_start"] == 3
    rows = (tmp_path / "b" / "log.csv").read_text().splitlines()[1:]
    assert float(rows[-1].split(",")[2]) == pytest.approx(3e-4 / 4)


def test_resume_keeps_the_lambdas_of_the_checkpoint_unless_given(folder, tmp_path):
    train(config(folder, tmp_path, steps=2, lambdas=(0.001, 0.1)))
    kept = load_checkpoint(train(config(folder, tmp_path, steps=3), resume=True))
    assert kept["train_config"]["lambdas"] == (0.001, 0.1)
    changed = load_checkpoint(train(config(folder, tmp_path, steps=4, lambdas=(0.002, 0.2)), resume=True))
    assert changed["train_config"]["lambdas"] == (0.002, 0.2)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "licodec", "train", *args]


def test_kill_minus_nine_loses_at_most_one_checkpoint_interval(folder, tmp_path):
    out = tmp_path / "run"
    args = ["--data", str(folder), "--out", str(out), "--N", "8", "--rates", "2", "--steps", "100000",
            "--batch-size", "2", "--crop", "64", "--workers", "0", "--no-progress", "--fp32",
            "--checkpoint-minutes", "0.01"]  # fmt: skip
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    log = out / "log.csv"
    deadline = time.time() + 120
    while time.time() < deadline and not (out / "last.pt").exists():
        time.sleep(0.5)
    time.sleep(3)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    logged = len(log.read_text().splitlines()) - 1
    saved = load_checkpoint(out / "last.pt")["step"]
    assert 0 < saved <= logged
    resume = subprocess.run(_cli(*args[:9], str(saved + 3), *args[10:], "--resume"), capture_output=True, text=True)
    assert resume.returncode == 0, resume.stderr
    steps = [int(r.split(",")[0]) for r in log.read_text().splitlines()[1:]]
    assert steps == list(range(1, saved + 4))  # rows logged after the checkpoint are redone, not duplicated
    assert load_checkpoint(out / "last.pt")["step"] == saved + 3


@pytest.mark.parametrize("workers", ["0", "1"])
def test_sigterm_writes_a_checkpoint_at_the_current_step(folder, tmp_path, workers):
    """The signal goes to the whole process group, as `pkill -f` or Ctrl-C would: data-loading workers
    receive it too and must not take the trainer down before it checkpoints."""
    out = tmp_path / "run"
    args = ["--data", str(folder), "--out", str(out), "--N", "8", "--rates", "2", "--steps", "100000",
            "--batch-size", "2", "--crop", "64", "--workers", workers, "--no-progress", "--fp32",
            "--checkpoint-minutes", "60"]  # fmt: skip
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # fmt: skip
    log = out / "log.csv"
    deadline = time.time() + 120
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 4):
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    logged = len(log.read_text().splitlines()) - 1
    assert load_checkpoint(out / "last.pt")["step"] == logged  # nothing lost


def test_two_gloo_processes_stay_identical_and_match_one_process(folder, tmp_path):
    common = ["--data", str(folder), "--N", "8", "--rates", "2", "--steps", "3", "--batch-size", "4", "--crop",
              "64", "--workers", "0", "--no-progress", "--fp32", "--no-channels-last", "--quantization", "ste",
              "--lr", "1e-3"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ddp = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "licodec",
         "train", *common, "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert ddp.returncode == 0, ddp.stderr[-3000:]
    single = subprocess.run(_cli(*common, "--out", str(tmp_path / "one")), capture_output=True, text=True, env=env)
    assert single.returncode == 0, single.stderr[-3000:]
    a, b = load_checkpoint(tmp_path / "ddp" / "last.pt"), load_checkpoint(tmp_path / "one" / "last.pt")
    assert a["world"] == 2
    initial = load_initial()
    for key, value in b["model"].items():
        moved = float((value - initial[key]).abs().max())
        differ = float((a["model"][key] - value).abs().max())
        assert differ <= 1e-5 + 1e-2 * moved, (key, differ, moved)  # float reduction order only


def load_initial() -> dict:
    """The weights both runs started from (same seed, same builder)."""
    from licodec.models import create_model

    torch.manual_seed(0)
    return create_model("cheng2020-anchor-ckbd", N=8, rates=2).state_dict()


def test_learning_rate_warms_up_then_drops():
    from licodec.train.loop import learning_rate

    cfg = TrainConfig(data="unused", lr=1.0, warmup_steps=4, lr_drop_step=6)
    assert [learning_rate(cfg, s) for s in range(8)] == pytest.approx([0.25, 0.5, 0.75, 1, 1, 1, 0.1, 0.1])
    later = TrainConfig(data="unused", lr=1.0, warmup_steps=2, warmup_start=5, lr_drop_step=8)
    assert [learning_rate(later, s) for s in range(5, 10)] == pytest.approx([0.5, 1, 1, 0.1, 0.1])


def test_train_leaves_the_signal_handlers_and_thread_count_as_it_found_them(folder, tmp_path):
    import signal

    def mine(signum, frame):
        pass

    before_int, before_term = signal.signal(signal.SIGINT, mine), signal.getsignal(signal.SIGTERM)
    threads = torch.get_num_threads()
    try:
        train(config(folder, tmp_path / "run", steps=1, threads=threads + 1))
        assert signal.getsignal(signal.SIGINT) is mine and signal.getsignal(signal.SIGTERM) == before_term
        assert torch.get_num_threads() == threads
    finally:
        signal.signal(signal.SIGINT, before_int)
