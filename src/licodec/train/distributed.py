"""Data-parallel processes (torch.distributed: gloo on CPU, NCCL on GPU), the signals that stop a run, and the
thread count a run sets: all process-wide state, each restored when the run returns."""

import os
import signal
from contextlib import contextmanager

import torch
import torch.distributed as dist


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (joining the process group torchrun describes)."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def ignore_stop_signals(worker_id: int) -> None:
    """Data-loading workers share the trainer's command line and process group, so `pkill -f` or a
    terminal's Ctrl-C reaches them too; if they died, the trainer would crash instead of checkpointing.
    They leave when the trainer does (the DataLoader's watchdog), so they can ignore both signals."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class StopRequest:
    """While entered, SIGTERM / SIGINT ask the loop to write a checkpoint and leave after the current step;
    the handlers that were installed before come back on exit (a host program keeps its Ctrl-C)."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.requested = False
        self._before: dict = {}

    def __enter__(self) -> "StopRequest":
        self._before = {sig: signal.signal(sig, self._request) for sig in self.SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._before.items():
            signal.signal(sig, handler)

    def _request(self, signum, frame) -> None:
        self.requested = True


@contextmanager
def torch_threads(threads: int):
    """torch's intra-op thread count set for the run, and put back after it."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def agree(flag: bool, world: int) -> bool:
    """Rank 0's decision, shared so that every rank enters collective calls together."""
    if world == 1:
        return flag
    t = torch.tensor([int(flag)])
    dist.broadcast(t, 0)
    return bool(t.item())
