"""Speed and memory of CTAM against plain fine-tuning of the same encoder (issue 7).

Usage::

    python bench/speed.py                                  # every suite, offline encoder + tiny config
    python bench/speed.py --suite train --model offline    # one suite, one model
    python bench/speed.py --quick                          # reduced grid, tiny config, < 1 minute (smoke check)
    python bench/speed.py --device cuda --dtype bf16       # on a GPU, bf16 autocast

Suites (``--suite``):

- ``train``: one optimisation step (forward + backward + AdamW step + zero_grad) of CTAM's dual-path training
  (``B`` target + ``B`` source examples, one joint encoder pass) against plain fine-tuning
  (``AutoModelForSequenceClassification`` on the same encoder, ``B`` examples): seconds per step, examples per
  second, and peak training memory, each configuration measured in a fresh subprocess (CPU: peak RSS over the
  model-loaded baseline; CUDA: ``torch.cuda.max_memory_allocated`` over the model-loaded baseline).
- ``inference``: latency at batch 1 and throughput at batch 32 of CTAM's student path (target keys only, eval mode,
  ``torch.inference_mode``) against the plain classifier.
- ``scaling``: both of the above over the whole grid (sequence length 64 / 128 / 256, batch 8 / 32), one table.
- ``all`` (default): train + inference over the whole grid, with the scaling table.

Definitions (all ratios are CTAM / plain, measured in one run, interleaved):

- ``train_cost_ratio``: CTAM seconds per processed example (a step processes ``2B``) / plain seconds per processed
  example (a step processes ``B``). ``train_step_ratio`` is the plain per-step ratio (same per-path batch ``B``).
- ``inference_latency_ratio``: batch-1 latency ratio; ``inference_throughput_ratio``: CTAM examples/s / plain
  examples/s at batch 32 (higher is better, 1.0 = parity); ``inference_batch_time_ratio`` is its inverse.
- ``peak_memory_ratio``: peak training memory over the model-loaded baseline, same per-path batch.
- ``--stage2``: CTAM's step is a stage-2 step of the two-stage recipe (docs/transfer.md): the frozen teacher's BiGRU
  states come cached in the batch (`teacher_states`), with soft pseudo-labels and `L_S` importance weights. The
  teacher itself is included by its amortised cost: its inference time per example, times
  ``--teacher-forwards-per-item`` forwards per stage-2 item (default 2: the English pair's states and the review's
  posterior), added to the step: ``train_cost_ratio_with_teacher``.

Headlines are taken on the offline encoder at sequence length 128: training at batch 32, inference at batch 1 / 32.
Writes ``<out-dir>/<name>.json`` and ``.md`` (``speed`` for a full run, ``speed_quick`` for ``--quick``).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from speed_report import (  # bench/speed_report.py
    HEADLINE_SEQ,
    HEADLINE_TRAIN_BATCH,
    INFERENCE_BATCHES,
    TARGETS,
    environment,
    fmt_inf_row,
    fmt_train_row,
    headline,
    load_average,
    markdown,
    scaling_rows,
    threads_default,
    wait_for_low_load,
)

REPO_ROOT = Path(__file__).resolve().parent.parent

TINY_ENCODER = dict(
    model_type="bert",
    hidden_size=32,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=37,
    vocab_size=1000,
    max_position_embeddings=512,
    type_vocab_size=2,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
)
CHILD_MARKER = "CTAM_BENCH_RESULT "


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def autocast(device: torch.device, dtype: str):
    if dtype == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


# ---------------------------------------------------------------------------------------------------- models, data
STAGE2_CONFIG = {"teacher_head": True, "align_reduction": "normalized"}


def build_models(model_kind: str, seed: int = 0, stage2: bool = False):
    """(CTAM, plain classifier, vocab size), both on CPU in train mode, the encoder weights identical."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from modeling_ctam import CTAMConfig, CTAMForSequenceClassification

    torch.manual_seed(seed)
    if model_kind == "offline":
        from modeling_ctam.offline_encoder import offline_encoder_path

        ctam = CTAMForSequenceClassification.from_encoder_pretrained(
            "ctam/e5-small-offline", num_labels=2, **(STAGE2_CONFIG if stage2 else {})
        )
        plain = AutoModelForSequenceClassification.from_pretrained(offline_encoder_path(), num_labels=2)
    elif model_kind == "tiny":
        ctam = CTAMForSequenceClassification(
            CTAMConfig(encoder_config=dict(TINY_ENCODER), num_labels=2, **(STAGE2_CONFIG if stage2 else {}))
        )
        g = torch.Generator().manual_seed(seed)  # word boundaries: about one token in three continues a word
        ctam.ctam.word_start_table.copy_((torch.rand(TINY_ENCODER["vocab_size"], generator=g) > 0.33).to(torch.int8))
        ctam.ctam.word_start_table[:3] = -1  # <s>, <pad>, </s>
        enc_config = AutoConfig.for_model(**{**TINY_ENCODER, "num_labels": 2})
        plain = AutoModelForSequenceClassification.from_config(enc_config)
        state = ctam.ctam.encoder.state_dict()
        missing, unexpected = plain.base_model.load_state_dict(state, strict=False)
        assert not unexpected and all(k.startswith("pooler.") for k in missing), (missing, unexpected)
    else:
        raise ValueError(f"unknown model {model_kind!r}")
    return ctam.train(), plain.train(), ctam.config.encoder_config.vocab_size


def make_batch(
    which: str,
    batch: int,
    seq: int,
    vocab: int,
    device: torch.device,
    seed: int = 0,
    teacher_shape: tuple[int, int] | None = None,
) -> dict:
    """Full-length random sequences `<s> ... </s>`: target (+ source for CTAM training) with labels.

    CTAM is trained as in the zero-shot setting: labelled source (English) batch, unlabelled target batch. With
    `teacher_shape=(M, k)`, a stage-2 batch: cached teacher states, soft pseudo-labels and `L_S` weights.
    """
    g = torch.Generator().manual_seed(seed)

    def ids_mask():
        ids = torch.randint(5, vocab, (batch, seq), generator=g)
        ids[:, 0], ids[:, -1] = 0, 2
        return ids.to(device), torch.ones(batch, seq, dtype=torch.long, device=device)

    labels = torch.randint(0, 2, (batch,), generator=g).to(device)
    ids, mask = ids_mask()
    if which == "plain":
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}
    if which == "ctam":
        sids, smask = ids_mask()
        out = {
            "input_ids": ids,
            "attention_mask": mask,
            "source_input_ids": sids,
            "source_attention_mask": smask,
            "source_labels": labels,
            "training_progress": 0.5,
        }
        if teacher_shape is not None:
            out.update(
                teacher_states=torch.randn(batch, *teacher_shape, generator=g).to(device) * 0.1,
                teacher_weights=torch.ones(batch, device=device),
                soft_labels=torch.softmax(torch.randn(batch, 2, generator=g), -1).to(device),
                source_weights=torch.ones(batch, device=device),
            )
        return out
    if which == "infer":
        return {"input_ids": ids, "attention_mask": mask}
    raise ValueError(which)


def make_optimizer(model):
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-5)


def train_step(model, optimizer, batch, device, dtype, path_by_path: bool = False) -> None:
    if (
        path_by_path and "source_input_ids" in batch
    ):  # CTAM: backward after each path (train.py --path_by_path_backward)
        parts = model.path_by_path_losses(**batch)
        while True:
            with autocast(device, dtype):
                step = next(parts, None)
            if step is None:
                break
            step[0].backward()
    else:
        with autocast(device, dtype):
            loss = model(**batch).loss
        loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


@torch.inference_mode()
def infer(model, batch, device, dtype):
    with autocast(device, dtype):
        return model(**batch).logits


def timed(fn, device: torch.device, n: int) -> float:
    """Mean seconds per call over `n` calls, synchronised on CUDA."""
    sync(device)
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync(device)
    return (time.perf_counter() - t0) / n


def interleaved(fns: dict, device: torch.device, repeats: int, calls: int) -> dict:
    """Median seconds per call of each function, blocks alternating ABBA so drift hits both alike."""
    names = list(fns)
    times = {k: [] for k in names}
    for r in range(repeats):
        for k in names if r % 2 == 0 else names[::-1]:
            times[k].append(timed(fns[k], device, calls))
    return {
        k: {"median_s": statistics.median(v), "min_s": min(v), "all_s": [round(x, 5) for x in v]}
        for k, v in times.items()
    }


# ---------------------------------------------------------------------------------------------------- memory (child)
def _rss_kb(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0); False where that is not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child_memory(spec: dict) -> dict:
    """Peak training memory of one (model, seq, batch) configuration in this fresh process."""
    import resource

    from transformers import AutoModelForSequenceClassification

    from modeling_ctam import CTAMForSequenceClassification

    torch.set_num_threads(spec["threads"])
    device = torch.device(spec["device"])
    cls = CTAMForSequenceClassification if spec["which"] == "ctam" else AutoModelForSequenceClassification
    model = cls.from_pretrained(spec["source"]).to(device).train()
    with torch.no_grad():  # weights may be loaded lazily (mmap): page them in so the baseline holds them
        for t in list(model.parameters()) + list(model.buffers()):
            float(t.float().sum())
    batch = make_batch(
        spec["which"],
        spec["batch"],
        spec["seq"],
        spec["vocab"],
        device,
        seed=1,
        teacher_shape=spec.get("teacher_shape"),
    )
    optimizer = make_optimizer(model)
    gc.collect()
    out = {"which": spec["which"], "seq": spec["seq"], "batch": spec["batch"], "model": spec["model"]}
    pbp = spec.get("path_by_path", False)
    if device.type == "cuda":
        sync(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        train_step(model, optimizer, batch, device, spec["dtype"], pbp)  # creates the AdamW state
        train_step(model, optimizer, batch, device, spec["dtype"], pbp)  # steady state: state + grads + activations
        sync(device)
        out.update(
            method="torch.cuda.max_memory_allocated",
            baseline_mb=base / 2**20,
            peak_mb=torch.cuda.max_memory_allocated(device) / 2**20,
        )
    else:
        # The AdamW state exists from step 2 on; create it with a zero-gradient step (cheap) so that the one
        # measured step shows the steady-state peak: weights + state + gradients + activations.
        base_kb = _rss_kb("VmRSS")
        exact = _reset_peak_rss()
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for p in model.parameters():
            if p.requires_grad:
                p.grad = torch.zeros_like(p)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        train_step(model, optimizer, batch, device, spec["dtype"], pbp)
        out["step_s"] = time.perf_counter() - t0
        if exact:
            peak_kb, method = _rss_kb("VmHWM"), "VmHWM after clear_refs (peak RSS)"
        else:  # peak since process start; correct while training peaks above loading
            peak_kb, method = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "ru_maxrss"
            if peak_kb <= maxrss_before:
                method += " (did not rise: delta is a lower bound)"
        out.update(method=method, baseline_mb=base_kb / 1024, peak_mb=peak_kb / 1024)
    out["delta_mb"] = out["peak_mb"] - out["baseline_mb"]
    return out


def measure_memory(spec: dict) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_child", json.dumps(spec)]
    env = {**os.environ, "OMP_NUM_THREADS": str(spec["threads"]), "TRANSFORMERS_VERBOSITY": "error"}
    proc = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    for line in proc.stdout.splitlines()[::-1]:
        if line.startswith(CHILD_MARKER):
            return json.loads(line[len(CHILD_MARKER) :])
    raise RuntimeError(
        f"memory child failed ({spec['which']}, seq {spec['seq']}, batch {spec['batch']}, exit code "
        f"{proc.returncode}{': killed' if proc.returncode == -9 else ''}):\n"
        f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    )


# ---------------------------------------------------------------------------------------------------- suites
def run_train(ctam, plain, vocab, grid, args, device, sources, model_kind) -> list[dict]:
    rows = []
    opt = {"ctam": make_optimizer(ctam), "plain": make_optimizer(plain)}
    models = {"ctam": ctam.train(), "plain": plain.train()}
    for seq, batch in grid:
        shape = teacher_shape(ctam) if args.stage2 else None
        batches = {k: make_batch(k, batch, seq, vocab, device, teacher_shape=shape) for k in models}
        fns = {
            k: (lambda k=k: train_step(models[k], opt[k], batches[k], device, args.dtype, args.path_by_path))
            for k in models
        }
        load = load_average()
        for k in fns:  # warm-up: allocator, kernels, AdamW state
            timed(fns[k], device, 1)
        t = interleaved(fns, device, args.train_repeats, args.train_calls)
        c, p = t["ctam"]["median_s"], t["plain"]["median_s"]
        row = {
            "model": model_kind,
            "seq": seq,
            "batch": batch,
            "ctam_step_s": c,
            "plain_step_s": p,
            "ctam_examples_per_step": 2 * batch,
            "plain_examples_per_step": batch,
            "ctam_examples_per_s": 2 * batch / c,
            "plain_examples_per_s": batch / p,
            "train_step_ratio": c / p,
            "train_cost_ratio": (c / (2 * batch)) / (p / batch),
            "ctam_all_s": t["ctam"]["all_s"],
            "plain_all_s": t["plain"]["all_s"],
            "load_average": [load, load_average()],
        }
        if args.stage2:  # the frozen teacher's amortised share: its forwards per stage-2 item, at inference speed
            ctam.eval()
            infer_batch = make_batch("infer", batch, seq, vocab, device)
            teacher_s = timed(lambda: infer(ctam, infer_batch, device, args.dtype), device, args.train_repeats) / batch
            ctam.train()
            with_teacher = c + args.teacher_forwards_per_item * batch * teacher_s
            row.update(
                teacher_s_per_example=teacher_s,
                teacher_forwards_per_item=args.teacher_forwards_per_item,
                train_cost_ratio_with_teacher=(with_teacher / (2 * batch)) / (p / batch),
            )
        if not args.no_memory:
            mem = {}
            for k in ["ctam", "plain"] if (seq + batch) % 2 == 0 else ["plain", "ctam"]:
                spec = {
                    "which": k,
                    "model": model_kind,
                    "source": sources[k],
                    "seq": seq,
                    "batch": batch,
                    "vocab": vocab,
                    "device": str(device),
                    "dtype": args.dtype,
                    "threads": args.threads,
                    "path_by_path": args.path_by_path,
                    "teacher_shape": shape,
                }
                try:
                    mem[k] = measure_memory(spec)
                except RuntimeError as err:  # e.g. the kernel's OOM killer: record it, keep the other rows
                    mem[k] = None
                    row.setdefault("memory_errors", []).append(str(err).splitlines()[0])
                    print(
                        f"warning: {str(err).splitlines()[0]} (killed for memory?); row kept without memory",
                        flush=True,
                    )
        if not args.no_memory and all(mem.values()):
            row.update(
                ctam_peak_mb=mem["ctam"]["delta_mb"],
                plain_peak_mb=mem["plain"]["delta_mb"],
                ctam_peak_abs_mb=mem["ctam"]["peak_mb"],
                plain_peak_abs_mb=mem["plain"]["peak_mb"],
                peak_memory_ratio=mem["ctam"]["delta_mb"] / mem["plain"]["delta_mb"],
                peak_memory_abs_ratio=mem["ctam"]["peak_mb"] / mem["plain"]["peak_mb"],
                memory_method=mem["ctam"]["method"],
            )
        rows.append(row)
        print(fmt_train_row(row), flush=True)
        batches = fns = None  # rebound, not deleted: the step lambdas read them
        gc.collect()
    head = [r for r in rows if r["seq"] == HEADLINE_SEQ and r["batch"] == HEADLINE_TRAIN_BATCH and "ctam_peak_mb" in r]
    if head:  # same processed examples per step: CTAM B/2 target + B/2 source against plain B
        spec = {
            "which": "ctam",
            "model": model_kind,
            "source": sources["ctam"],
            "seq": HEADLINE_SEQ,
            "batch": HEADLINE_TRAIN_BATCH // 2,
            "vocab": vocab,
            "device": str(device),
            "dtype": args.dtype,
            "threads": args.threads,
            "path_by_path": args.path_by_path,
        }
        half = measure_memory(spec)
        head[0].update(
            ctam_half_batch_peak_mb=half["delta_mb"],
            peak_memory_ratio_same_examples=half["delta_mb"] / head[0]["plain_peak_mb"],
        )
        print(
            f"memory {model_kind} seq {HEADLINE_SEQ}: CTAM {HEADLINE_TRAIN_BATCH // 2}+{HEADLINE_TRAIN_BATCH // 2} "
            f"{half['delta_mb']:.0f} MB vs plain {HEADLINE_TRAIN_BATCH} {head[0]['plain_peak_mb']:.0f} MB: "
            f"x{head[0]['peak_memory_ratio_same_examples']:.2f}",
            flush=True,
        )
    for o in opt.values():
        o.state.clear()
    return rows


def teacher_shape(ctam) -> tuple[int, int]:
    """(M, k): the teacher BiGRU states' shape per example."""
    return len(ctam.config.resolved_align_layers), 2 * ctam.config.resolved_gru_hidden_size


def run_inference(ctam, plain, vocab, seqs, args, device, model_kind) -> list[dict]:
    rows = []
    models = {"ctam": ctam.eval(), "plain": plain.eval()}
    for seq in seqs:
        for batch in INFERENCE_BATCHES:
            b = make_batch("infer", batch, seq, vocab, device)
            fns = {k: (lambda k=k: infer(models[k], b, device, args.dtype)) for k in models}
            load = load_average()
            for k in fns:
                timed(fns[k], device, 2)
            calls = args.latency_calls if batch == 1 else 1
            repeats = args.latency_repeats if batch == 1 else args.throughput_repeats
            t = interleaved(fns, device, repeats, calls)
            c, p = t["ctam"]["median_s"], t["plain"]["median_s"]
            row = {
                "model": model_kind,
                "seq": seq,
                "batch": batch,
                "ctam_s": c,
                "plain_s": p,
                "ctam_examples_per_s": batch / c,
                "plain_examples_per_s": batch / p,
                "time_ratio": c / p,
                "throughput_ratio": p / c,
                "ctam_all_s": t["ctam"]["all_s"],
                "plain_all_s": t["plain"]["all_s"],
                "load_average": [load, load_average()],
            }
            rows.append(row)
            print(fmt_inf_row(row), flush=True)
    ctam.train(), plain.train()
    return rows


# ---------------------------------------------------------------------------------------------------- main
def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--suite", choices=["train", "inference", "scaling", "all"], default="all")
    ap.add_argument(
        "--model",
        choices=["offline", "tiny", "both"],
        default=None,
        help="offline = multilingual-e5-small (offline build); tiny = hidden 32, 2 layers. "
        "Default: both (tiny with --quick).",
    )
    ap.add_argument("--quick", action="store_true", help="reduced grid (seq 64, batch 8, few repeats), < 1 minute")
    ap.add_argument("--seqs", type=int, nargs="+", default=None, help="default 64 128 256")
    ap.add_argument("--batches", type=int, nargs="+", default=None, help="training batches per path, default 8 32")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32", help="bf16 = torch.autocast bfloat16")
    ap.add_argument("--threads", type=int, default=threads_default(), help="torch.set_num_threads (CPU)")
    ap.add_argument("--train-repeats", type=int, default=None, help="timed blocks per model and config (default 3)")
    ap.add_argument("--train-calls", type=int, default=None, help="steps per timed block (default 1; 10 on CUDA)")
    ap.add_argument("--latency-repeats", type=int, default=None, help="batch-1 blocks per model (default 7)")
    ap.add_argument("--latency-calls", type=int, default=None, help="batch-1 calls per block (default 5; 20 on CUDA)")
    ap.add_argument("--throughput-repeats", type=int, default=None, help="batch-32 calls per model (default 5)")
    ap.add_argument("--no-memory", action="store_true", help="skip the per-configuration memory subprocesses")
    ap.add_argument(
        "--path-by-path",
        action="store_true",
        help="CTAM steps back-propagate after each path (train.py --path_by_path_backward)",
    )
    ap.add_argument(
        "--stage2",
        action="store_true",
        help="CTAM steps are two-stage stage-2 steps (cached teacher states), the teacher amortised",
    )
    ap.add_argument(
        "--teacher-forwards-per-item",
        type=float,
        default=2.0,
        help="--stage2: teacher inference forwards per stage-2 item (default 2)",
    )
    ap.add_argument(
        "--wait-for-load",
        type=float,
        default=None,
        metavar="L",
        help="before measuring, wait (up to --max-wait-s) until the 1-minute load average is below L",
    )
    ap.add_argument("--max-wait-s", type=float, default=900)
    ap.add_argument("--out-dir", default=str(REPO_ROOT / "bench" / "results"))
    ap.add_argument(
        "--name", default=None, help="output file stem (default speed, speed_quick, or speed_<suite>_<model>)"
    )
    ap.add_argument("--_child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    q = args.quick
    args.model = args.model or ("tiny" if q else "both")
    args.seqs = args.seqs or ([64] if q else [64, 128, 256])
    args.batches = args.batches or ([8] if q else [8, 32])
    args.train_repeats = args.train_repeats or (2 if q else 3)
    args.latency_repeats = args.latency_repeats or (3 if q else 7)
    cuda = (args.device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    args.train_calls = args.train_calls or (10 if cuda else 1)
    args.latency_calls = args.latency_calls or (20 if cuda else 3 if q else 5)
    args.throughput_repeats = args.throughput_repeats or (2 if q else 5)
    return args


def main(argv=None) -> dict | None:
    args = parse_args(argv)
    if args._child:
        print(CHILD_MARKER + json.dumps(child_memory(json.loads(args._child))), flush=True)
        return None
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    kinds = ["offline", "tiny"] if args.model == "both" else [args.model]
    grid = [(s, b) for s in args.seqs for b in args.batches]
    do_train = args.suite in ("train", "scaling", "all")
    do_inf = args.suite in ("inference", "scaling", "all")
    wait_for_low_load(args.wait_for_load, args.max_wait_s)
    result = {
        "command": "python bench/speed.py " + " ".join(a for a in (argv if argv is not None else sys.argv[1:])),
        "environment": environment(device, args.threads, args.dtype),
        "load_average_start": load_average(),
        "targets": TARGETS,
        "grid": {"seqs": args.seqs, "train_batches": args.batches, "inference_batches": list(INFERENCE_BATCHES)},
        "repeats": {
            "train_blocks": args.train_repeats,
            "train_steps_per_block": args.train_calls,
            "latency_blocks": args.latency_repeats,
            "latency_calls_per_block": args.latency_calls,
            "throughput": args.throughput_repeats,
        },
        "train": [],
        "inference": [],
        "headline": {},
    }
    t_start = time.perf_counter()
    for kind in kinds:
        ctam, plain, vocab = build_models(kind, stage2=args.stage2)
        with tempfile.TemporaryDirectory(prefix="ctam-bench-") as tmp:
            sources = {}
            if do_train and not args.no_memory:  # fresh-process memory runs load these copies
                for k, m in (("ctam", ctam), ("plain", plain)):
                    sources[k] = os.path.join(tmp, k)
                    m.save_pretrained(sources[k])
            ctam, plain = ctam.to(device), plain.to(device)
            if do_inf:
                result["inference"] += run_inference(ctam, plain, vocab, args.seqs, args, device, kind)
            if do_train:
                result["train"] += run_train(ctam, plain, vocab, grid, args, device, sources, kind)
        result["headline"][kind] = headline(result["train"], result["inference"], kind)
        del ctam, plain
        gc.collect()
    if args.suite in ("scaling", "all"):
        result["scaling"] = scaling_rows(result["train"], result["inference"])
    result["load_average_end"] = load_average()
    result["wall_s"] = time.perf_counter() - t_start
    h = result["headline"].get("offline", {})
    for key in (
        "train_cost_ratio",
        "inference_latency_ratio",
        "inference_throughput_ratio",
        "peak_memory_ratio",
        "train_step_ratio",
    ):
        if key in h:
            result[key] = h[key]  # top-level headline keys (offline encoder)
    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    name = args.name or (
        "speed_quick"
        if args.quick
        else "speed"
        if args.suite == "all" and args.model == "both"
        else f"speed_{args.suite}_{args.model}"
    )
    (out_dir / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    md = markdown(result)
    (out_dir / f"{name}.md").write_text(md)
    print("\n" + md)
    print(f"wrote {out_dir / name}.json and .md ({result['wall_s']:.0f} s)")
    return result


if __name__ == "__main__":
    main()
