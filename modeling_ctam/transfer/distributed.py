"""The recipe's one-off computations across processes: computed once, on the main process, and broadcast.

Under DDP (`accelerate launch` with several processes) every process runs the recipe. What the frozen stage-1 teacher
gives stage 2 (its posteriors, the class prior, the pseudo-labels, the cached BiGRU states of the stage-2 items), the
prior-matching bias and the n-gram view's fit are not training steps: computed by every process they cost the
teacher's forward passes once per process, and every process would write the same posteriors cache file. The main
process computes them; the others receive the result ([`computed_once`], `torch.distributed.broadcast_object_list`)
and train on exactly the same items. Each process then records a digest of what it holds ([`rank_records`]), so a
run's `train_config.json` shows that the processes agreed, and how many texts each process ran through the model
outside training steps (`teacher.FORWARD_TEXTS`): all of them on the main process, none on the others.

On one process (no process group) every function here is the plain computation.
"""

from __future__ import annotations

import hashlib
import pickle
from typing import Any, Callable, TypeVar

import numpy as np
import torch

T = TypeVar("T")


def process_group() -> tuple[int, int]:
    """`(rank, world_size)` of the running process group, `(0, 1)` without one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def computed_once(compute: Callable[[], T]) -> T:
    """`compute()` on the main process, its result sent to every other process (pickled, over the process group's
    backend: gloo on CPU, NCCL on GPU). An error on the main process is raised on every process, so none waits.

    Args:
        compute (`Callable[[], T]`): the computation; called on rank 0 only when there are several processes.

    Returns:
        `T`: the main process's result, on every process (CPU tensors and NumPy arrays travel as they are).
    """
    rank, world_size = process_group()
    if world_size == 1:
        return compute()
    device = _broadcast_device()
    payload: list[Any] = [None]
    if rank == 0:
        try:
            payload = [("ok", compute())]
        except Exception as err:  # noqa: BLE001 - re-raised below, once the others have heard of it
            torch.distributed.broadcast_object_list([("error", f"{type(err).__name__}: {err}")], src=0, device=device)
            raise
    torch.distributed.broadcast_object_list(payload, src=0, device=device)
    status, value = payload[0]
    if status == "error":
        raise RuntimeError(f"the main process failed in a computation every process waits for: {value}")
    return value


def _broadcast_device():
    """The device a pickled object travels through: NCCL needs the process's GPU, gloo the CPU (None)."""
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return None


def gathered(value: Any) -> list[Any]:
    """`value` of every process, in rank order (`[value]` on one process)."""
    rank, world_size = process_group()
    if world_size == 1:
        return [value]
    out: list[Any] = [None] * world_size
    torch.distributed.all_gather_object(out, value)
    return out


def digest(value: Any) -> str:
    """A short SHA-256 of `value`'s content (dicts, lists, strings, numbers, NumPy arrays, tensors): two processes
    that hold the same items, labels or weights give the same digest."""
    h = hashlib.sha256()
    _feed(h, value)
    return h.hexdigest()[:16]


def _feed(h, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().contiguous().numpy()
    if isinstance(value, np.ndarray):
        h.update(f"array{value.dtype}{value.shape}".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, dict):
        h.update(b"{")
        for key in sorted(value, key=str):
            _feed(h, str(key))
            _feed(h, value[key])
        h.update(b"}")
    elif isinstance(value, (list, tuple)):
        h.update(b"[")
        for item in value:
            _feed(h, item)
        h.update(b"]")
    else:
        h.update(pickle.dumps(value, protocol=4))


def rank_records(**values: Any) -> list[dict]:
    """Per process, in rank order: its rank, the texts it ran through the model outside training steps so far (by
    kind, from `teacher.FORWARD_TEXTS`) and the digest of each named value. For `train_config.json`: equal digests on
    every rank mean the processes trained on the same thing."""
    from .teacher import FORWARD_TEXTS

    rank, _ = process_group()
    own = {"rank": rank, "forward_texts": dict(FORWARD_TEXTS)}
    own.update({f"{name}_digest": digest(value) for name, value in values.items()})
    return gathered(own)


__all__ = ["computed_once", "digest", "gathered", "process_group", "rank_records"]
