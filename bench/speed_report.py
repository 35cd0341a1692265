"""What `bench/speed.py` reports: the host it ran on (device, threads, load average), one line per measured row, the
headline ratios and the Markdown report."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import torch

TARGETS = {"train_cost_ratio": 1.10, "inference_latency_ratio": 1.05, "peak_memory_ratio": 1.30}
HEADLINE_SEQ, HEADLINE_TRAIN_BATCH = 128, 32
INFERENCE_BATCHES = (1, 32)


# ---------------------------------------------------------------------------------------------------- environment
def threads_default() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU: {cpu_name()}"


def environment(device: torch.device, threads: int, dtype: str) -> dict:
    import transformers

    return {
        "device": str(device),
        "device_name": device_name(device),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "threads": threads,
        "cpu_count": os.cpu_count(),
        "dtype": dtype,
        "cuda": torch.version.cuda if device.type == "cuda" else None,
    }


def wait_for_low_load(max_load: float | None, max_wait_s: float) -> None:
    """Sleep until the 1-minute load average is below `max_load` (or `max_wait_s` passed)."""
    if not max_load or load_average() is None:
        return
    start = time.time()
    while load_average()[0] >= max_load and time.time() - start < max_wait_s:
        print(f"load average {load_average()} >= {max_load}; waiting ...", flush=True)
        time.sleep(30)
    print(f"load average {load_average()} (limit {max_load})", flush=True)


# ---------------------------------------------------------------------------------------------------- rows
def fmt_train_row(r: dict) -> str:
    s = (
        f"train  {r['model']:7s} seq {r['seq']:3d} batch {r['batch']:2d}: CTAM {r['ctam_step_s']:.3f} s/step "
        f"({r['ctam_examples_per_s']:.1f} ex/s), plain {r['plain_step_s']:.3f} s/step "
        f"({r['plain_examples_per_s']:.1f} ex/s); step x{r['train_step_ratio']:.2f}, cost/example "
        f"x{r['train_cost_ratio']:.3f}"
    )
    if "train_cost_ratio_with_teacher" in r:
        s += f", with the teacher x{r['train_cost_ratio_with_teacher']:.3f}"
    if "peak_memory_ratio" in r:
        s += f"; memory {r['ctam_peak_mb']:.0f} / {r['plain_peak_mb']:.0f} MB x{r['peak_memory_ratio']:.2f}"
    return s


def fmt_inf_row(r: dict) -> str:
    return (
        f"infer  {r['model']:7s} seq {r['seq']:3d} batch {r['batch']:2d}: CTAM {1e3 * r['ctam_s']:.2f} ms, "
        f"plain {1e3 * r['plain_s']:.2f} ms; time x{r['time_ratio']:.3f}"
    )


# ---------------------------------------------------------------------------------------------------- report
def headline(train_rows: list[dict], inf_rows: list[dict], model_kind: str) -> dict:
    h = {}
    tr = [
        r
        for r in train_rows
        if r["model"] == model_kind and r["seq"] == HEADLINE_SEQ and r["batch"] == HEADLINE_TRAIN_BATCH
    ]
    if tr:
        r = tr[0]
        h.update(train_cost_ratio=r["train_cost_ratio"], train_step_ratio=r["train_step_ratio"])
        if "peak_memory_ratio" in r:
            h.update(peak_memory_ratio=r["peak_memory_ratio"], peak_memory_abs_ratio=r["peak_memory_abs_ratio"])
        if "peak_memory_ratio_same_examples" in r:
            h["peak_memory_ratio_same_examples"] = r["peak_memory_ratio_same_examples"]
    for r in inf_rows:
        if r["model"] == model_kind and r["seq"] == HEADLINE_SEQ and r["batch"] == 1:
            h["inference_latency_ratio"] = r["time_ratio"]
        if r["model"] == model_kind and r["seq"] == HEADLINE_SEQ and r["batch"] == 32:
            h["inference_throughput_ratio"] = r["throughput_ratio"]
            h["inference_batch_time_ratio"] = r["time_ratio"]
    return h


def markdown(result: dict) -> str:
    env = result["environment"]
    lines = [
        "# CTAM speed and memory against plain fine-tuning",
        "",
        f"Device: {env['device_name']} ({env['device']}), {env['threads']} threads, dtype {env['dtype']}; "
        f"torch {env['torch']}, transformers {env['transformers']}. Load average (1/5/15 min) at start "
        f"{result['load_average_start']}, at end {result['load_average_end']}. Command: `{result['command']}`.",
        "",
    ]
    for kind, h in result["headline"].items():
        if not h:
            continue
        lines += [
            f"## Headline ({kind} encoder, seq {HEADLINE_SEQ}; training batch {HEADLINE_TRAIN_BATCH} per path, "
            f"inference batch 1 / 32)",
            "",
            "| Ratio (CTAM / plain) | Value | Target |",
            "|---|---|---|",
        ]
        for key in (
            "train_cost_ratio",
            "train_step_ratio",
            "inference_latency_ratio",
            "inference_throughput_ratio",
            "inference_batch_time_ratio",
            "peak_memory_ratio",
            "peak_memory_abs_ratio",
            "peak_memory_ratio_same_examples",
        ):
            if key in h:
                target = f"<= {TARGETS[key]:.2f}" if key in TARGETS and kind == "offline" else ""
                if target:
                    target += " (met)" if h[key] <= TARGETS[key] else " (missed)"
                lines.append(f"| `{key}` | {h[key]:.3f} | {target} |")
        lines.append("")
    if result["train"]:
        lines += [
            "## Training (one step = forward + backward + AdamW step; CTAM processes B target + B source)",
            "",
            "| Model | Seq | B per path | CTAM s/step | plain s/step | CTAM ex/s | plain ex/s | step ratio | "
            "cost/example ratio | CTAM peak MB | plain peak MB | memory ratio |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result["train"]:
            mem = (
                f"{r['ctam_peak_mb']:.0f} | {r['plain_peak_mb']:.0f} | {r['peak_memory_ratio']:.2f}"
                if "peak_memory_ratio" in r
                else "- | - | -"
            )
            lines.append(
                f"| {r['model']} | {r['seq']} | {r['batch']} | {r['ctam_step_s']:.3f} | {r['plain_step_s']:.3f} | "
                f"{r['ctam_examples_per_s']:.1f} | {r['plain_examples_per_s']:.1f} | {r['train_step_ratio']:.2f} | "
                f"{r['train_cost_ratio']:.3f} | {mem} |"
            )
        lines += [
            "",
            "Peak memory: training-step peak over the model-loaded baseline (weights excluded; gradients, "
            "AdamW state and activations included), each configuration in a fresh process.",
            "",
        ]
    if result["inference"]:
        lines += [
            "## Inference (CTAM student path vs plain classifier, eval, inference_mode)",
            "",
            "| Model | Seq | Batch | CTAM ms | plain ms | CTAM ex/s | plain ex/s | time ratio |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in result["inference"]:
            lines.append(
                f"| {r['model']} | {r['seq']} | {r['batch']} | {1e3 * r['ctam_s']:.2f} | {1e3 * r['plain_s']:.2f} | "
                f"{r['ctam_examples_per_s']:.1f} | {r['plain_examples_per_s']:.1f} | {r['time_ratio']:.3f} |"
            )
        lines.append("")
    if result.get("scaling"):
        lines += [
            "## How cost grows (seconds per processed example, relative to each model's seq 64 / batch 8)",
            "",
            "| Model | Seq | Batch | CTAM ms/example | plain ms/example | CTAM growth | plain growth | "
            "cost ratio | memory ratio | inference time ratio (batch 1 / 32) |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in result["scaling"]:
            mem = f"{r['peak_memory_ratio']:.2f}" if r.get("peak_memory_ratio") is not None else "-"
            inf = " / ".join(f"{x:.3f}" if x is not None else "-" for x in r["inference_time_ratio"])
            lines.append(
                f"| {r['model']} | {r['seq']} | {r['batch']} | {1e3 * r['ctam_s_per_example']:.2f} | "
                f"{1e3 * r['plain_s_per_example']:.2f} | x{r['ctam_growth']:.2f} | x{r['plain_growth']:.2f} | "
                f"{r['train_cost_ratio']:.3f} | {mem} | {inf} |"
            )
        lines.append("")
    lines += [
        "Timings are medians of interleaved (ABBA) repeats; the raw repeats and the load average around each row "
        "are in the JSON. On a shared CPU host the ratios are more trustworthy than the absolute times.",
        "",
    ]
    return "\n".join(lines)


def scaling_rows(train_rows: list[dict], inf_rows: list[dict]) -> list[dict]:
    out = []
    for r in train_rows:
        base = [b for b in train_rows if b["model"] == r["model"] and b["seq"] == 64 and b["batch"] == 8]
        c = r["ctam_step_s"] / r["ctam_examples_per_step"]
        p = r["plain_step_s"] / r["plain_examples_per_step"]
        cb = base[0]["ctam_step_s"] / base[0]["ctam_examples_per_step"] if base else c
        pb = base[0]["plain_step_s"] / base[0]["plain_examples_per_step"] if base else p
        inf = []
        for b in INFERENCE_BATCHES:
            m = [i for i in inf_rows if i["model"] == r["model"] and i["seq"] == r["seq"] and i["batch"] == b]
            inf.append(m[0]["time_ratio"] if m else None)
        out.append(
            {
                "model": r["model"],
                "seq": r["seq"],
                "batch": r["batch"],
                "ctam_s_per_example": c,
                "plain_s_per_example": p,
                "ctam_growth": c / cb,
                "plain_growth": p / pb,
                "train_cost_ratio": r["train_cost_ratio"],
                "peak_memory_ratio": r.get("peak_memory_ratio"),
                "inference_time_ratio": inf,
            }
        )
    return out
