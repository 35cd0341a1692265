"""Where does a CTAM training step spend its time? (issue 7: the profile behind the speed ratios)

Two views of one optimisation step on the offline encoder (default sequence length 128, batch 8 per path):

1. **Component ladder.** The same step timed with CTAM's parts switched on one at a time, all with a joint encoder
   pass over `B` target + `B` source rows: `plain` (AutoModelForSequenceClassification, `B` rows), `plain 2B` (the
   same on `2B` rows: what a pass over CTAM's rows costs without CTAM), `xlmr-base` preset
   (encoder + classifier, `2B` rows, `L_T` on the source rows), `+ vxlm` (eq. 1 pooling, eq. 2 mapping, eq. 3 gate),
   `+ L_R` (layer summaries, two BiGRUs, eqs. 4-10), `+ L_S` (gradient reversal and discriminator, eq. 11: the full
   model). Differences between rungs are each part's cost; seconds per processed example are compared with plain.
2. **Operator profile.** `torch.profiler` over full CTAM steps: the operators with the most self time, to show that
   the encoder's matrix products dominate and that no Python loop over tokens, no host synchronisation and no
   recomputation stands out.

    python bench/profile_step.py                         # offline encoder, seq 128, batch 8
    python bench/profile_step.py --model tiny --seq 64

Writes `<out-dir>/<name>.json` and `.md` (`--name`, default `profile_step`). Timings are medians of interleaved
repeats.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from pathlib import Path

import torch
from speed import build_models, make_batch, make_optimizer, train_step  # bench/speed.py
from speed_report import environment, load_average  # bench/speed_report.py

REPO_ROOT = Path(__file__).resolve().parent.parent

RUNGS = (
    ("xlmr-base", dict(use_vxlm=False, lambda_align=0.0, lambda_domain=0.0), "encoder + classifier, joint 2B pass"),
    ("+ vxlm", dict(use_vxlm=True, lambda_align=0.0, lambda_domain=0.0), "+ eq. 1 pooling, eq. 2 mapping, eq. 3 gate"),
    ("+ L_R", dict(use_vxlm=True, lambda_align=0.4, lambda_domain=0.0), "+ layer summaries, BiGRUs, eqs. 4-10"),
    (
        "+ L_S (full CTAM)",
        dict(use_vxlm=True, lambda_align=0.4, lambda_domain=0.1),
        "+ gradient reversal, discriminator",
    ),
)


def rung_model(full, overrides: dict):
    """A CTAM model with some parts off, sharing the full model's trained-from weights (encoder, head, ...)."""
    from modeling_ctam import CTAMForSequenceClassification

    config = full.config.__class__.from_dict({**full.config.to_dict(), **overrides})
    model = CTAMForSequenceClassification(config)
    missing, unexpected = model.load_state_dict(full.state_dict(), strict=False)
    assert not missing, missing  # every part the rung has exists in the full model
    return model.train()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", choices=["offline", "tiny"], default="offline")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8, help="rows per path")
    ap.add_argument("--repeats", type=int, default=5, help="timed steps per rung (interleaved)")
    ap.add_argument("--profile-steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out-dir", default=str(REPO_ROOT / "bench" / "results"))
    ap.add_argument("--name", default="profile_step", help="output file stem (default profile_step)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    load_start = load_average()

    full, plain, vocab = build_models(args.model)
    models = {"plain": plain, "plain 2B": plain}
    for name, overrides, _ in RUNGS:
        models[name] = full if name.startswith("+ L_S") else rung_model(full, overrides)
    batches = {
        "plain": make_batch("plain", args.batch, args.seq, vocab, device),
        "plain 2B": make_batch("plain", 2 * args.batch, args.seq, vocab, device, seed=1),
        "ctam": make_batch("ctam", args.batch, args.seq, vocab, device),
    }
    optimizers = {name: make_optimizer(m) for name, m in models.items() if name != "plain 2B"}
    optimizers["plain 2B"] = optimizers["plain"]  # the same model and optimizer, twice the rows

    def step(name):
        batch = batches[name if name.startswith("plain") else "ctam"]
        train_step(models[name], optimizers[name], batch, device, "fp32")

    for name in models:  # warm-up: allocator, AdamW state
        step(name)
    times = {name: [] for name in models}
    for r in range(args.repeats):
        order = list(models) if r % 2 == 0 else list(reversed(list(models)))  # interleaved, alternating order
        for name in order:
            t = time.perf_counter()
            step(name)
            times[name].append(time.perf_counter() - t)
    plain_s = statistics.median(times["plain"])
    rows = [
        {
            "rung": "plain",
            "what": "AutoModelForSequenceClassification, B rows",
            "rows": args.batch,
            "seconds_per_step": plain_s,
            "ms_per_example": 1000 * plain_s / args.batch,
            "cost_ratio": 1.0,
            "added_ms_per_step": None,
        }
    ]
    s2 = statistics.median(times["plain 2B"])
    rows.append(
        {
            "rung": "plain 2B",
            "what": "the same plain model on 2B rows (CTAM's rows per encoder pass)",
            "rows": 2 * args.batch,
            "seconds_per_step": s2,
            "ms_per_example": 1000 * s2 / (2 * args.batch),
            "cost_ratio": (s2 / (2 * args.batch)) / (plain_s / args.batch),
            "added_ms_per_step": None,
        }
    )
    previous = None
    for name, _, what in RUNGS:
        s = statistics.median(times[name])
        rows.append(
            {
                "rung": name,
                "what": what,
                "rows": 2 * args.batch,
                "seconds_per_step": s,
                "ms_per_example": 1000 * s / (2 * args.batch),
                "cost_ratio": (s / (2 * args.batch)) / (plain_s / args.batch),
                "added_ms_per_step": None if previous is None else 1000 * (s - previous),
            }
        )
        previous = s
    for row in rows:
        print(json.dumps(row), flush=True)

    # operator profile of the full model
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.profile_steps):
            step("+ L_S (full CTAM)")
    averages = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in averages) or 1.0
    ops = sorted(averages, key=lambda e: e.self_cpu_time_total, reverse=True)[:15]
    op_rows = [
        {
            "op": e.key,
            "calls": e.count // args.profile_steps,
            "self_ms_per_step": e.self_cpu_time_total / 1000 / args.profile_steps,
            "share": e.self_cpu_time_total / total,
        }
        for e in ops
    ]
    matmul_like = (
        "aten::mm",
        "aten::addmm",
        "aten::bmm",
        "aten::baddbmm",
        "aten::_scaled_dot_product",
        "aten::linear",
        "aten::matmul",
        "aten::_efficient_attention",
        "aten::_flash_attention",
    )
    matmul_share = sum(e.self_cpu_time_total for e in averages if e.key.startswith(matmul_like)) / total
    gru_share = sum(e.self_cpu_time_total for e in averages if "gru" in e.key.lower()) / total

    result = {
        "model": args.model,
        "seq": args.seq,
        "batch_per_path": args.batch,
        "repeats": args.repeats,
        "environment": environment(device, torch.get_num_threads(), "fp32"),
        "load_average": {"start": load_start, "end": load_average()},
        "ladder": rows,
        "raw_seconds": times,
        "ops": op_rows,
        "matmul_self_share": matmul_share,
        "gru_self_share": gru_share,
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    lines = [
        f"# Where a CTAM training step spends its time ({args.model} encoder, seq {args.seq}, "
        f"batch {args.batch} per path)",
        "",
        f"Command: `python bench/profile_step.py{' --model ' + args.model if args.model != 'offline' else ''}"
        f"{f' --seq {args.seq}' if args.seq != 128 else ''}{f' --batch {args.batch}' if args.batch != 8 else ''}`; "
        f"{result['environment']['device_name']}, {torch.get_num_threads()} threads; load average "
        f"{load_start} -> {result['load_average']['end']}. Medians of {args.repeats} interleaved steps.",
        "",
        "| rung | what it adds | rows / step | s / step | ms / example | cost ratio vs plain | added ms / step |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        added = "-" if r["added_ms_per_step"] is None else f"{r['added_ms_per_step']:+.0f}"
        lines.append(
            f"| {r['rung']} | {r['what']} | {r['rows']} | {r['seconds_per_step']:.3f} | "
            f"{r['ms_per_example']:.1f} | {r['cost_ratio']:.3f} | {added} |"
        )
    lines += [
        "",
        f"Operators with the most self CPU time in a full CTAM step (torch.profiler, {args.profile_steps} "
        f"steps): matrix products take {100 * matmul_share:.0f}% of all self time, GRU kernels "
        f"{100 * gru_share:.1f}%.",
        "",
        "| operator | calls / step | self ms / step | share |",
        "|---|---:|---:|---:|",
    ]
    for o in op_rows:
        lines.append(f"| `{o['op']}` | {o['calls']} | {o['self_ms_per_step']:.1f} | {100 * o['share']:.1f}% |")
    md = "\n".join(lines) + "\n"
    (out / f"{args.name}.md").write_text(md, encoding="utf-8")
    print(md)
    models = optimizers = None  # rebound, not deleted: step() reads them
    gc.collect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
