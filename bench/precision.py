"""The main job in several precisions (and process counts), side by side in one invocation (issue 22).

Usage::

    python bench/precision.py                                      # fp32 then bf16, 1 process, the main job
    python bench/precision.py --precisions no --num-processes 2 --tag ddp_main   # the main job under 2-process DDP
    python bench/precision.py --device cuda --precisions bf16 --tag gpu_check/main_bf16   # on a GPU

Each run is, from the repository root,
``accelerate launch --num_processes N --mixed_precision P train.py --config CONFIG --seed S`` (with
``--config_file configs/accelerate/cpu_2proc.yaml`` for several CPU processes, ``multi_gpu.yaml`` for several GPUs),
into its own folder under ``--work-dir``, one after the other with the same seed and config. What a run reports is
read from its own records: ``dev_metrics.json`` (dev macro-F1, the negative class's F1, ``train_runtime_s``: the two
stages, without loading) and ``train_config.json`` (the ``mixed_precision`` and ``world_size`` that ran); the wall
time is the launcher's, start to exit. Ratios are each run's against the first one (``--precisions`` order). On the
CPU each process gets ``--threads`` threads (default: the CPU count over the processes): ``accelerate launch`` itself
sets ``OMP_NUM_THREADS=1`` unless told otherwise, so a 1-process run on 2 cores would use one.

Writes ``<results-dir>/<tag>.json`` and ``<tag>.md``. On a shared machine run it alone (the figures are times).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
NAMES = {"no": "fp32", "bf16": "bf16", "fp16": "fp16"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/precision.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", default="configs/zero-shot-ctam.yaml", help="train.py config (default: the main job)")
    p.add_argument("--precisions", nargs="+", choices=list(NAMES), default=["no", "bf16"], help="accelerate's names")
    p.add_argument("--num-processes", type=int, default=1, help="processes per run (DDP when more than 1)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="CPU threads per process (accelerate's --num_cpu_threads_per_process; without it accelerate sets "
        "OMP_NUM_THREADS=1); default: the CPU count over the processes",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--work-dir",
        default="runs/precision",
        help="a folder per run in it (relative: to the repository)",
    )
    p.add_argument("--results-dir", default=str(REPO_ROOT / "bench" / "results"))
    p.add_argument("--tag", default="precision", help="results file name (may hold a sub-folder: gpu_check/x)")
    p.add_argument("--timeout-s", type=float, default=3600, help="per run")
    p.add_argument("train_args", nargs=argparse.REMAINDER, help="after --: more train.py arguments, for every run")
    return p.parse_args(argv)


def launch_command(args: argparse.Namespace, precision: str, output_dir: Path) -> list[str]:
    """The `accelerate launch` command of one run."""
    accelerate = shutil.which("accelerate")
    if accelerate is None:
        raise SystemExit("bench/precision.py: the accelerate CLI is not on PATH (pip install accelerate)")
    cmd = [accelerate, "launch"]
    if args.num_processes > 1:
        shipped = "cpu_2proc.yaml" if args.device == "cpu" else "multi_gpu.yaml"
        cmd += ["--config_file", f"configs/accelerate/{shipped}"]
    cmd += ["--num_processes", str(args.num_processes), "--mixed_precision", precision]
    if args.device == "cpu":
        threads = args.threads or max(1, (os.cpu_count() or 1) // args.num_processes)
        cmd += ["--num_cpu_threads_per_process", str(threads)]
    cmd += ["train.py", "--config", args.config, "--output-dir", str(output_dir)]
    cmd += ["--seed", str(args.seed), "--overwrite_output_dir", "true", "--disable_tqdm", "true"]
    if args.device == "cpu":
        cmd += ["--use_cpu", "true"]
    extra = [a for a in args.train_args if a != "--"]
    return cmd + extra


def run_one(args: argparse.Namespace, precision: str) -> dict:
    """One run: its command, wall time and what its records say."""
    output_dir = Path(args.work_dir) / f"{NAMES[precision]}-{args.num_processes}proc"  # relative: to the repository
    cmd = launch_command(args, precision, output_dir)
    print("$ " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=REPO_ROOT, timeout=args.timeout_s)
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"bench/precision.py: the {NAMES[precision]} run failed (exit {result.returncode})")
    metrics = json.loads((REPO_ROOT / output_dir / "dev_metrics.json").read_text())
    resolved = json.loads((REPO_ROOT / output_dir / "train_config.json").read_text())
    per_class = metrics["per_class"]
    negative = per_class.get("negative", {}).get("f1")
    row = {
        "precision": NAMES[precision],
        "mixed_precision_recorded": resolved.get("mixed_precision"),
        "world_size": resolved.get("world_size"),
        "macro_f1": round(metrics["macro_f1"], 4),
        "negative_f1": None if negative is None else round(negative, 4),
        "accuracy": round(metrics["accuracy"], 4),
        "train_runtime_s": metrics.get("train_runtime_s"),
        "wall_s": round(wall, 1),
        "global_step": metrics.get("global_step"),
        "output_dir": str(output_dir),
        "command": " ".join(["accelerate"] + cmd[1:]),
    }
    views = metrics.get("views") or {}
    if "student" in views:
        row["student_view_macro_f1"] = round(views["student"]["macro_f1"], 4)
    transfer = resolved.get("transfer") or {}
    rounds = transfer.get("stage2_rounds") or [{}]
    processes = rounds[0].get("processes")
    if processes:  # under DDP: did every process train on the same items? (modeling_ctam/transfer/distributed.py)
        row["items_digests_equal"] = len({p["items_digest"] for p in processes}) == 1
        row["forward_texts_per_rank"] = [p["forward_texts"] for p in processes]
    print(json.dumps(row), flush=True)
    return row


def markdown(record: dict) -> str:
    rows = record["runs"]
    lines = [
        f"# {record['tag']}: the main job by precision ({record['num_processes']} process(es), {record['device']})",
        "",
        f"`python bench/precision.py {' '.join(record['argv'])}`, seed {record['seed']}, config `{record['config']}`,"
        f" runs one after the other in one invocation ({record['environment']['cpu_count']} CPU cores,"
        f" torch {record['environment']['torch']}).",
        "",
        "| run | recorded | processes | dev macro-F1 | negative F1 | train s | wall s | train ratio | wall ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['precision']} | {r['mixed_precision_recorded']} | {r['world_size']} | {r['macro_f1']:.4f} | "
            f"{r['negative_f1']:.4f} | {r['train_runtime_s']} | {r['wall_s']} | {r['train_time_ratio']:.3f} | "
            f"{r['wall_ratio']:.3f} |"
        )
    lines += ["", "Ratios are each run's against the first row (lower is faster)."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> dict:
    args = parse_args(argv)
    import torch

    runs = [run_one(args, p) for p in args.precisions]
    first = runs[0]
    for r in runs:
        r["train_time_ratio"] = round(r["train_runtime_s"] / first["train_runtime_s"], 3)
        r["wall_ratio"] = round(r["wall_s"] / first["wall_s"], 3)
    record = {
        "tag": args.tag,
        "argv": sys.argv[1:] if argv is None else list(argv),
        "config": args.config,
        "seed": args.seed,
        "num_processes": args.num_processes,
        "device": args.device,
        "environment": {
            "torch": torch.__version__,
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "cuda_device": torch.cuda.get_device_name(0) if args.device == "cuda" else None,
            "threads_per_process": None
            if args.device != "cpu"
            else args.threads or max(1, (os.cpu_count() or 1) // args.num_processes),
        },
        "runs": runs,
    }
    out = Path(args.results_dir) / args.tag
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(record))
    print(markdown(record))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.md')}")
    return record


if __name__ == "__main__":
    main()
