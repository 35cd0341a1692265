"""Learning curve: GKLMIP dev macro-F1 against the number of Burmese labels, plain fine-tuning against CTAM (issue 12).

Usage::

    python bench/learning_curve.py                                  # points 0 8 32 128 all, seeds 1 2 3
    python bench/learning_curve.py --points 8 32 all --seeds 1      # a reduced curve
    python bench/learning_curve.py --points 0 8 32 128 all --zero-shot-from bench/results/quality-transfer-len64.json

Points (Burmese labels per class; binary):

- ``0``: zero-shot, ``configs/zero-shot-ctam.yaml`` (the two-stage recipe, strict protocol). CTAM is the config as it
  is. Plain fine-tuning (``--plain-recipe same``, the default) is ``preset: xlmr-base`` trained by the same recipe
  (self-training under the same prior, the config's n-gram view) without what only CTAM has (the parallel stream of
  ``L_R``, the class-conditional eq. 10 pairs); ``--plain-recipe english-only`` is the earlier curve's plain (English
  ``L_T`` alone in stage 2). ``--zero-shot-from FILE`` reuses a transfer grid's measured plain and ctam rows instead
  of running them (the figure and table say so). With ``tfidf`` among the methods, point 0 also gets the in-domain
  TF-IDF baseline trained on all GKLMIP train labels, as a reference row.
- ``8``, ``32``, ``128``: few-shot, ``configs/few-shot-ctam.yaml`` with ``few_shot_n`` = k (k reviews per class
  drawn with the seed, nested across k; the other reviews unlabelled): the zero-shot recipe with the k labels in
  both stages. Plain fine-tuning gets the same labels and English rows and the same recipe as at point 0.

Runs of a model with the n-gram view also give the rows ``<method> [student alone]`` (the same models with the view
removed) and ``<method> [n-gram view alone]``, from train.py's ``views``.
- ``all``: supervised, ``configs/supervised-ctam.yaml`` (every GKLMIP train label in both stages, the class
  imbalance handled by the config's ``imbalance``).

Plain fine-tuning is the same config with ``--preset xlmr-base`` (encoder + classifier, ``L_T`` only): the same data,
budget, seed and stages. Every run ends on its last step (no checkpoint is chosen by Burmese dev).

Every run goes through ``modeling_ctam.training.train()``. Each run's dev record (``dev_metrics.json``) is kept as
``learning_curve/<point>/<method>/seed-<n>/metrics.json`` with its wall time; a run whose record exists is skipped, so
an interrupted bench resumes. Outputs in ``--results-dir`` (default ``bench/results``): ``learning_curve.json``,
``learning_curve.md`` (mean ± sample std per point and method, negative-class F1, the CTAM - plain gap, per-seed
values and times) and ``learning_curve.png`` (macro-F1 with error bars of one sample std).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shlex
import shutil
import statistics
import sys
import time
from pathlib import Path

from modeling_ctam.evaluation.tables import VIEW_SUFFIXES, view_records

REPO_ROOT = Path(__file__).resolve().parent.parent

METHODS = {"plain": "xlmr-base", "ctam": "ctam"}
TFIDF = (
    "tfidf"  # the in-domain TF-IDF baseline on the same Burmese labels (no run; modeling_ctam.evaluation.baselines)
)
ROWS = (*METHODS, TFIDF)
# point 0's row: the in-domain baseline that a user with every label gets
TFIDF_REFERENCE = "tfidf (all train labels; reference)"
CONFIGS = {
    "zero-shot": "configs/zero-shot-ctam.yaml",
    "few-shot": "configs/few-shot-ctam.yaml",
    "supervised": "configs/supervised-ctam.yaml",
}
PLAIN_ZERO_SHOT = {"parallel_share": 0.0, "unlabelled_pairing": "none", "self_training": False}
# --plain-recipe same: plain fine-tuning trained by CTAM's recipe (self-training, the prior, the n-gram view), without
# what only CTAM has (the parallel stream of L_R, class-conditional eq. 10 pairs)
PLAIN_SAME_RECIPE = {"parallel_share": 0.0, "unlabelled_pairing": "none"}
POINTS = ("0", "8", "32", "128", "all")


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/learning_curve.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--points",
        nargs="+",
        default=list(POINTS),
        help="Burmese labels per class: 0 (zero-shot), any k >= 1 (few-shot), 'all' (supervised).",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        choices=list(ROWS),
        default=list(ROWS),
        help=f"Rows: plain, ctam, and {TFIDF!r}, the character n-gram TF-IDF regression trained on the same Burmese "
        "labels as the runs of the point (none at point 0).",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument(
        "--plain-recipe",
        choices=("same", "english-only"),
        default="same",
        help="Plain fine-tuning outside the supervised setting: 'same' (default) trains it by CTAM's recipe "
        "(self-training under the same prior, the config's n-gram view) without the parallel stream and eq. 10 "
        "pairs; 'english-only' is the earlier curve's plain (English L_T and the gold rows, no self-training).",
    )
    p.add_argument(
        "--zero-shot-from",
        default=None,
        help="A transfer-grid JSON of bench/quality.py (e.g. bench/results/quality-transfer-len64.json): "
        "its plain and ctam zero-shot rows become point 0 instead of new runs.",
    )
    p.add_argument(
        "--zero-shot-ctam-row",
        default="ctam",
        help="With --zero-shot-from: the grid row that stands for CTAM at point 0 (e.g. ctam+imdb-heldout, "
        "the zero-shot config's prior setting).",
    )
    p.add_argument(
        "--override",
        nargs="*",
        default=[],
        help="Extra train.py arguments for every run, quoted (argparse takes no bare --option as a value), e.g. "
        "--override '--max_steps 30' or --override '--prior_trust_ratio 2'; each is split like a shell line.",
    )
    p.add_argument("--results-dir", default=str(REPO_ROOT / "bench" / "results"))
    p.add_argument("--tag", default="learning_curve", help="Name of the output files and the per-run folder.")
    p.add_argument("--work-dir", default=None, help="Where models are written (default: a folder in the CTAM cache).")
    p.add_argument("--keep-models", action="store_true")
    p.add_argument(
        "--no-train",
        action="store_true",
        help="Only summarise the runs already recorded under --results-dir/--tag (a missing run is "
        "left out and named), e.g. while another invocation is still training.",
    )
    args = p.parse_args(argv)
    for point in args.points:
        if point not in ("0", "all") and not (point.isdigit() and int(point) > 0):
            p.error(f"--points: {point!r} is not 0, a positive k or 'all'.")
    return args


def setting_of(point: str) -> str:
    return "zero-shot" if point == "0" else "supervised" if point == "all" else "few-shot"


def tfidf_record(point: str, seed: int, args, run_dir: Path) -> dict:
    """The TF-IDF baseline at one point: trained on exactly the Burmese labels the runs of (point, seed) get."""
    import modeling_ctam.training as T
    from modeling_ctam.evaluation.baselines import tfidf_predictions
    from modeling_ctam.evaluation.metrics import metrics_record
    from modeling_ctam.training.assembly import load_target

    setting = setting_of(point)
    tokens = ["--seed", str(seed), *(["--few_shot_n", point] if setting == "few-shot" else [])]
    cfg = T.load_config(REPO_ROOT / CONFIGS[setting], tokens, output_dir=str(Path(args.work_dir) / "tfidf"))
    start = time.perf_counter()
    train, dev = load_target(cfg.data, seed)
    labelled = train.filter(lambda ex: ex["label"] >= 0)
    predictions = tfidf_predictions(labelled["text"], labelled["label"], dev["text"])
    record = metrics_record(
        dev["label"],
        predictions,
        ["negative", "positive"],
        point=point,
        method=TFIDF,
        seed=seed,
        setting=setting,
        labelled_rows=len(labelled),
        seconds=round(time.perf_counter() - start, 1),
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    return record


def run_one(point: str, method: str, seed: int, args, run_dir: Path) -> dict:
    """Train one run of the curve and return its dev record (with `seconds`)."""
    if method == TFIDF:
        return tfidf_record(point, seed, args, run_dir)
    import modeling_ctam.training as T

    setting = setting_of(point)
    tokens = [
        "--preset",
        METHODS[method],
        "--seed",
        str(seed),
        "--disable_tqdm",
        "true",
        "--overwrite_output_dir",
        "true",
        *(token for line in args.override for token in shlex.split(line)),
    ]  # the work folder is scratch
    if setting == "few-shot":
        tokens += ["--few_shot_n", point]
    if setting != "supervised" and method == "plain":  # English L_T and the gold rows only, as at point 0
        for key, value in (PLAIN_SAME_RECIPE if args.plain_recipe == "same" else PLAIN_ZERO_SHOT).items():
            tokens += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    out = Path(args.work_dir) / args.tag / point / method / f"seed-{seed}"
    cfg = T.load_config(REPO_ROOT / CONFIGS[setting], tokens, output_dir=str(out))
    start = time.perf_counter()
    report = T.train(cfg)
    seconds = round(time.perf_counter() - start, 1)
    train_config = json.loads((out / "train_config.json").read_text(encoding="utf-8"))
    if report.get("best_model_checkpoint"):  # no machine paths in the results: the checkpoint's name only
        report = dict(report, best_model_checkpoint=Path(report["best_model_checkpoint"]).name)
    record = dict(
        report,
        point=point,
        method=method,
        seed=seed,
        setting=setting,
        seconds=seconds,
        imbalance=train_config.get("imbalance_summary"),
        few_shot_rows=(train_config.get("data") or {}).get("few_shot_rows"),
    )
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    if not args.keep_models:
        shutil.rmtree(out, ignore_errors=True)
    del cfg
    gc.collect()
    return record


def reused_zero_shot(path: str, ctam_row: str = "ctam") -> dict[str, list[dict]]:
    """{method: [run records]} from a transfer-grid JSON of bench/quality.py (its zero-shot `plain` row and, for
    CTAM, the row `ctam_row`)."""
    grid = json.loads(Path(path).read_text(encoding="utf-8"))
    methods = grid["settings"]["zero-shot"]["methods"]
    out = {}
    for method in METHODS:
        row = methods.get(ctam_row if method == "ctam" else method)
        if row is None:
            continue
        negative = (row.get("f1_negative") or {}).get("values") or [None] * len(row["seeds"])
        out[method] = [
            {
                "point": "0",
                "method": method,
                "seed": seed,
                "setting": "zero-shot",
                "macro_f1": f1,
                "f1_negative": neg,
                "reused_from": Path(path).name,
                "seconds": None,
            }
            for seed, f1, neg in zip(row["seeds"], row["macro_f1"]["values"], negative)
        ]
    return out


def negative_f1(record: dict):
    if "f1_negative" in record:
        return record["f1_negative"]
    return ((record.get("per_class") or {}).get("negative") or {}).get("f1")


def _stats(values: list) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "std": None, "n": 0}
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "n": len(values),
        "values": values,
    }


def row_names(records: list[dict]) -> list[str]:
    """The rows in table order: each method, then its views alone (runs with the n-gram view), then the baselines."""
    present = {r["method"] for r in records}
    ordered = [n for m in METHODS for n in (m, *(f"{m} {v}" for v in VIEW_SUFFIXES.values()))]
    return [n for n in (*ordered, TFIDF, TFIDF_REFERENCE) if n in present]


def summarise(records: list[dict], points: list[str]) -> dict:
    table = {}
    for point in points:
        row = {}
        for method in row_names(records):
            runs = sorted(
                (r for r in records if r["point"] == point and r["method"] == method), key=lambda r: r["seed"]
            )
            if not runs:
                continue
            row[method] = {
                "macro_f1": _stats([r["macro_f1"] for r in runs]),
                "f1_negative": _stats([negative_f1(r) for r in runs]),
                "seeds": [r["seed"] for r in runs],
                "seconds": [r.get("seconds") for r in runs],
                "reused_from": runs[0].get("reused_from"),
            }
        if "plain" in row and "ctam" in row:
            row["ctam_minus_plain"] = row["ctam"]["macro_f1"]["mean"] - row["plain"]["macro_f1"]["mean"]
        table[point] = row
    return table


def _fmt(stat: dict) -> str:
    if not stat or stat.get("mean") is None:
        return "-"
    return f"{stat['mean']:.3f} ± {stat['std']:.3f}" if stat["n"] > 1 else f"{stat['mean']:.3f}"


def write_markdown(table: dict, meta: dict, path: Path) -> None:
    lines = [
        f"# Learning curve: GKLMIP dev macro-F1 against Burmese labels per class ({meta['tag']})",
        "",
        f"Command: `{meta['command']}`. Machine: {meta['machine']['cpu_count']} CPU cores, torch threads "
        f"{meta['machine']['torch_threads']}, load average at start {meta['load_start']}. Mean ± sample std over "
        "the seeds listed; dev has 343 reviews (35 negative), majority-class baseline 0.473.",
        "",
        "| Burmese labels per class | setting | plain macro-F1 | CTAM macro-F1 | CTAM - plain | TF-IDF macro-F1 | "
        "plain neg. F1 | CTAM neg. F1 | TF-IDF neg. F1 | seeds | s / run (plain, CTAM) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for point, row in table.items():
        plain, ctam, tfidf = row.get("plain", {}), row.get("ctam", {}), row.get(TFIDF, {})
        gap = row.get("ctam_minus_plain")
        seconds = [
            ", ".join("-" if s is None else f"{s:.0f}" for s in (r.get("seconds") or [])) or "-" for r in (plain, ctam)
        ]
        seeds = sorted(set((plain.get("seeds") or []) + (ctam.get("seeds") or []) + (tfidf.get("seeds") or [])))
        label = point + (" (reused: " + plain["reused_from"] + ")" if plain.get("reused_from") else "")
        lines.append(
            f"| {label} | {setting_of(point)} | {_fmt(plain.get('macro_f1'))} | {_fmt(ctam.get('macro_f1'))} "
            f"| {'-' if gap is None else f'{gap:+.3f}'} | {_fmt(tfidf.get('macro_f1'))} | "
            f"{_fmt(plain.get('f1_negative'))} | {_fmt(ctam.get('f1_negative'))} | {_fmt(tfidf.get('f1_negative'))} "
            f"| {', '.join(map(str, seeds))} | {seconds[0]} / {seconds[1]} |"
        )
    lines += [
        "",
        "Every row (issue 21's form): `[student alone]` is the same models' student with the n-gram view removed, "
        "`[n-gram view alone]` the n-gram head alone; the TF-IDF rows are the in-domain baseline trained on the "
        "point's Burmese labels (at point 0 on all 2,392 GKLMIP train labels, a reference no zero-shot run has).",
        "",
        "| Burmese labels per class | row | macro-F1 | neg. F1 | seeds |",
        "|---|---|---:|---:|---|",
    ]
    for point, row in table.items():
        for method, stats in row.items():
            if isinstance(stats, dict):
                lines.append(
                    f"| {point} | {method} | {_fmt(stats['macro_f1'])} | {_fmt(stats['f1_negative'])} "
                    f"| {', '.join(map(str, stats['seeds']))} |"
                )
    lines += ["", "Per seed (macro-F1):", ""]
    for point, row in table.items():
        for method in (m for m, stats in row.items() if isinstance(stats, dict)):
            if method in row:
                values = ", ".join(
                    f"seed {s}: {v:.3f}" for s, v in zip(row[method]["seeds"], row[method]["macro_f1"]["values"])
                )
                lines.append(f"- {point} / {method}: {values}")
    notes = [f"- {r['point']} / {r['method']} / seed {r['seed']}: {r['note']}" for r in meta.get("notes", [])]
    if any(row.get("plain", {}).get("reused_from") for row in table.values()):
        notes.append(
            "- point 0 is reused from a transfer grid of bench/quality.py, with that grid's own budget "
            "(its JSON has the details): its `plain` row and, for CTAM, its "
            f"`{meta.get('zero_shot_ctam_row', 'ctam')}` row; it was not run by this script."
        )
    if notes:
        lines += ["", "Notes:", "", *notes]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_figure(table: dict, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = list(table)
    x = list(range(len(points)))
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    names = {"plain": "plain fine-tuning", "ctam": "CTAM", TFIDF: "TF-IDF (same Burmese labels)"}
    for i, (method, colour) in enumerate((("plain", "tab:gray"), ("ctam", "tab:blue"), (TFIDF, "tab:green"))):
        xs, means, stds = [], [], []
        for xi, point in zip(x, points):
            stat = (table[point].get(method) or {}).get("macro_f1") or {}
            if stat.get("mean") is not None:
                xs.append(xi + (i - 1) * 0.08)
                means.append(stat["mean"])
                stds.append(stat["std"])
        if not xs:
            continue
        ax.errorbar(
            xs,
            means,
            yerr=stds,
            marker="o",
            capsize=4,
            color=colour,
            label=names[method],
        )
    ax.axhline(0.473, color="tab:red", linestyle=":", linewidth=1, label="majority class (0.473)")
    ax.set_xticks(x, [("0 (zero-shot)" if p == "0" else "all" if p == "all" else p) for p in points])
    ax.set_xlabel("Burmese labels per class")
    ax.set_ylabel("GKLMIP dev macro-F1")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    args = parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from modeling_ctam.training import setup_logging

    setup_logging()  # each run's progress, as train.py shows it
    if args.work_dir is None:
        from modeling_ctam.utils.paths import cache_dir

        args.work_dir = str(cache_dir() / "bench-work")
    results = Path(args.results_dir)
    per_run = results / args.tag
    load_start = [round(v, 2) for v in os.getloadavg()]
    import torch

    records: list[dict] = []
    reused = (
        reused_zero_shot(args.zero_shot_from, args.zero_shot_ctam_row)
        if args.zero_shot_from and "0" in args.points
        else {}
    )
    for point in args.points:
        for seed in args.seeds:
            for method in args.methods:
                if point == "0" and (method in reused or method == TFIDF):  # TF-IDF needs labels
                    continue
                run_dir = per_run / point / method / f"seed-{seed}"
                if (run_dir / "metrics.json").is_file():
                    records.append(json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")))
                    print(f"[skip] {point} {method} seed {seed}: {records[-1]['macro_f1']:.4f}", flush=True)
                    continue
                if args.no_train:
                    print(f"[missing] {point} {method} seed {seed}: not run yet, left out", flush=True)
                    continue
                record = run_one(point, method, seed, args, run_dir)
                records.append(record)
                print(
                    f"[done] {point} {method} seed {seed}: macro-F1 {record['macro_f1']:.4f} "
                    f"negative F1 {negative_f1(record):.4f} ({record['seconds']:.0f} s)",
                    flush=True,
                )
    for method, runs in reused.items():
        records += [r for r in runs if r["seed"] in args.seeds] or runs
    if "0" in args.points and TFIDF in args.methods:  # the baseline a user with every label gets, beside zero-shot
        reference = tfidf_record("all", args.seeds[0], args, per_run / "0" / "tfidf-reference")
        records.append(dict(reference, point="0", method=TFIDF_REFERENCE))
    records += view_records(records)
    table = summarise(records, [p for p in args.points if any(r["point"] == p for r in records)])
    meta = {
        "tag": args.tag,
        "command": "python bench/learning_curve.py " + shlex.join(sys.argv[1:] if argv is None else argv),
        "configs": CONFIGS,
        "zero_shot_ctam_row": args.zero_shot_ctam_row,
        "notes": [r for r in records if r.get("note") and r["method"] in ROWS],
        "load_start": load_start,
        "load_end": [round(v, 2) for v in os.getloadavg()],
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
        },
    }
    out = {"meta": meta, "table": table, "runs": records}
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{args.tag}.json").write_text(json.dumps(out, indent=2, default=str), encoding="utf-8")
    write_markdown(table, meta, results / f"{args.tag}.md")
    write_figure(
        table,
        results / f"{args.tag}.png",
        "GKLMIP dev, binary: plain fine-tuning vs CTAM (bars: one sample std over seeds)",
    )
    print((results / f"{args.tag}.md").read_text(encoding="utf-8"))
    return out


if __name__ == "__main__":
    main()
