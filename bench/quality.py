"""Quality of the three ablations (paper tables 1-2): GKLMIP dev macro-F1, mean and spread over seeds.

Usage::

    python bench/quality.py                      # zero-shot + supervised, xlmr-base / vxlm / ctam, seeds 1 2 3
    python bench/quality.py --settings zero-shot --seeds 1 2 3
    python bench/quality.py --quick              # 1 seed, 4 steps, 200 English examples: a smoke check (~minutes)
    python bench/quality.py --alignment DIR      # vxlm / ctam mappings from a `python -m modeling_ctam.alignment` run

Every run goes through ``modeling_ctam.training.train()`` (the code path of ``python train.py``) with one shared
budget (:data:`BUDGET`, overridable by flags): the offline encoder (multilingual-e5-small), word embeddings and the
lowest ``freeze_layers`` encoder layers frozen, a balanced English subset, short ``max_length``, a fixed number of
optimisation steps. Only the preset (``xlmr-base``, ``vxlm``, ``ctam``; docs/method.md section 4), the setting and
the seed change between runs. There is no checkpoint selection: every run is scored once, at its last step, on the
GKLMIP dev set (the only data used to compare; nothing is tuned on it here).

The dev report that ``train.py`` writes (``dev_metrics.json``, the one metrics record of
:mod:`modeling_ctam.evaluation`, as ``eval.py``'s) becomes one ``metrics.json`` per run with the method, seed and data
fields that ``eval.py ablation-table`` groups by. Runs whose ``metrics.json`` exists are skipped, so an interrupted
bench resumes. Model weights go to ``--work-dir`` (default: the CTAM cache) and are deleted after scoring unless
``--keep-models``.

Outputs, in ``--results-dir`` (default ``bench/results``):

- ``quality/<setting>/<preset>/seed-<n>/metrics.json``: one per run;
- ``quality_<setting>.json`` / ``.md``: the ablation table (mean ± sample std, min-max, Δ vs ``xlmr-base`` and
  whether the gain exceeds the seed spread), from :func:`modeling_ctam.evaluation.tables.ablation_table`;
- ``quality_<setting>_f1.png``: per-class F1 bars (paper figure 3);
- ``quality.md`` / ``quality.json``: both settings, the budget, per-run wall times and the machine.

Add ``--quick`` for the smoke configuration (its outputs are named ``quality_quick*``).
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from modeling_ctam.evaluation.baselines import TFIDF_BASELINE
from modeling_ctam.evaluation.tables import VIEW_SUFFIXES, view_records

REPO_ROOT = Path(__file__).resolve().parent.parent

PRESETS = ("xlmr-base", "vxlm", "ctam")
SETTINGS = ("zero-shot", "supervised")
TARGET_DEV = "my/gklmip/product_sentiment_dataset_dev.json"
TARGET_TRAIN = "my/gklmip/product_sentiment_dataset_train.json"

BUDGET = {
    # Sized for a 2-core CPU: 18 runs in about 12 minutes on an idle machine (35-40 s each measured: loading, the
    # steps, scoring the 343 dev reviews, saving).
    # English source: the UCI review sentences (Yelp restaurants + Amazon products: closest to GKLMIP product
    # reviews), balanced subset. SST-2 is mostly short phrases.
    "source_data": [
        "en/uci_sentiment_labelled/yelp_labelled.txt",
        "en/uci_sentiment_labelled/amazon_cells_labelled.txt",
    ],
    "max_source_examples": 1000,
    "max_length": 48,  # GKLMIP dev reviews: median 23 tokens, 75th percentile 39
    "per_device_train_batch_size": 8,  # 8 English + 8 Burmese per step
    "max_steps": 40,
    "learning_rate": 1e-4,
    "warmup_steps": 0.1,
    "freeze_embeddings": True,
    "freeze_layers": 8,  # all embeddings and the lower 8 of the 12 layers stay fixed; the top 4 layers train
}
QUICK = {"max_source_examples": 200, "max_steps": 4, "per_device_train_batch_size": 8, "max_length": 48}

# --grid transfer: the two-stage recipe (docs/transfer.md) and its ablations under the strict zero-shot protocol.
# Every row gets the same data and budget: stage 1 (English only) then stage 2 (8 English + 8 Burmese rows a step).
# Rows that share a stage-1 architecture share the stage-1 teacher of their seed (trained once, by the first of them).
TRANSFER_BUDGET = {k: v for k, v in BUDGET.items() if k != "max_steps"}
TRANSFER_BUDGET.update(
    stage1_steps=40, stage2_steps=60, parallel_data=["parallel/myxnli/my.genre.dev.tsv", "parallel/talpco"]
)
CTAM_TWO_STAGE = {"teacher_head": True, "align_reduction": "normalized"}
IMDB = "en/uci_sentiment_labelled/imdb_labelled.txt"
NO_STREAMS = {"parallel_share": 0.0, "unlabelled_pairing": "none"}
TRANSFER_ROWS = {
    # name: (preset, CTAMConfig overrides, recipe overrides, stage-1 teacher group)
    "plain": ("xlmr-base", {}, dict(NO_STREAMS, self_training=False), "xlmr-base"),
    "plain+self-training": ("xlmr-base", {}, dict(NO_STREAMS), "xlmr-base"),
    "ctam": ("ctam", CTAM_TWO_STAGE, {}, "ctam"),
    "ctam-no-parallel": ("ctam", CTAM_TWO_STAGE, {"parallel_share": 0.0}, "ctam"),
    "ctam-no-class-pairing": ("ctam", CTAM_TWO_STAGE, {"unlabelled_pairing": "none"}, "ctam"),
    "ctam-no-L_S": ("ctam", CTAM_TWO_STAGE, {"stage2_lambda_domain": 0.0}, "ctam"),
    "ctam-no-self-training": ("ctam", CTAM_TWO_STAGE, {"self_training": False}, "ctam"),
    "ctam-no-VXLM": ("ctam", dict(CTAM_TWO_STAGE, use_vxlm=False), {}, "ctam-no-vxlm"),
    "control-random-pairing": (
        "ctam",
        CTAM_TWO_STAGE,
        {"parallel_share": 0.0, "unlabelled_pairing": "random"},
        "ctam",
    ),
    "control-shuffled-parallel": ("ctam", CTAM_TWO_STAGE, {"shuffle_parallel": True}, "ctam"),
    # cross-lingual distillation on the parallel stream (beyond the paper), for CTAM and, as its own baseline, for
    # plain fine-tuning with the same parallel sentences
    "ctam+distill": ("ctam", CTAM_TWO_STAGE, {"parallel_distillation": 1.0}, "ctam"),
    "plain+distill": (
        "xlmr-base",
        {},
        {"parallel_share": 0.3, "unlabelled_pairing": "none", "self_training": False, "parallel_distillation": 1.0},
        "xlmr-base",
    ),
    "ctam-2-rounds": ("ctam", CTAM_TWO_STAGE, {"self_training_rounds": 2}, "ctam"),
    # the prior's BBSE on English rows from another domain (UCI IMDb) rather than held-out training rows; the row
    # reuses the ctam teacher, so only the prior estimate (and so the quotas and L_S weights) changes
    "ctam+imdb-heldout": (
        "ctam",
        CTAM_TWO_STAGE,
        {"heldout_data": "en/uci_sentiment_labelled/imdb_labelled.txt"},
        "ctam",
    ),
    # + the prior-matched decision rule after stage 2 (match_prior): the classifier's bias is shifted so that the
    # student predicts the estimated prior's share of negatives on the unlabelled reviews; plain gets it as well
    "ctam+imdb+match-prior": ("ctam", CTAM_TWO_STAGE, {"heldout_data": IMDB, "match_prior": True}, "ctam"),
    # + a second stage-2 round relabelled by the student (self_training_rounds: 2), on the adopted prior setting
    "ctam+imdb+2-rounds": ("ctam", CTAM_TWO_STAGE, {"heldout_data": IMDB, "self_training_rounds": 2}, "ctam"),
    "plain+self-training+match-prior": (
        "xlmr-base",
        {},
        dict(NO_STREAMS, heldout_data=IMDB, match_prior=True),
        "xlmr-base",
    ),
    # a longer stage 1 (4x: 160 steps, about 1.3 passes over the English rows instead of a third of one): does a
    # better-trained English teacher rank the Burmese reviews better? Plain gets the same stage 1, so the gap stays
    # fair
    "plain+teacher-x4": ("xlmr-base", {}, dict(NO_STREAMS, self_training=False, stage1_steps=160), "xlmr-base-s1x4"),
    "ctam+imdb+teacher-x4": ("ctam", CTAM_TWO_STAGE, {"heldout_data": IMDB, "stage1_steps": 160}, "ctam-s1x4"),
    # plain fine-tuning trained by the same recipe as CTAM: self-training under the same (IMDb-guarded) prior
    "plain+imdb+self-training": ("xlmr-base", {}, dict(NO_STREAMS, heldout_data=IMDB), "xlmr-base"),
    # the n-gram view (beyond the paper): a hashed token n-gram regression fitted on the student's class-quota
    # pseudo-labels after stage 2, shipped inside the model and ensembled with the student; plain gets it too
    "ctam+imdb+ngram": ("ctam", CTAM_TWO_STAGE, {"heldout_data": IMDB, "ngram_view": True}, "ctam"),
    "plain+imdb+self-training+ngram": (
        "xlmr-base",
        {},
        dict(NO_STREAMS, heldout_data=IMDB, ngram_view=True),
        "xlmr-base",
    ),
    # the same with BBSE on the IMDb rows as the prior outright (prior_estimator: bbse; EM only recorded)
    "ctam+imdb+ngram+bbse": (
        "ctam",
        CTAM_TWO_STAGE,
        {"heldout_data": IMDB, "ngram_view": True, "prior_estimator": "bbse"},
        "ctam",
    ),
}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/quality.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--grid",
        choices=("presets", "transfer"),
        default="presets",
        help="'presets': the joint recipe's xlmr-base / vxlm / ctam rows; 'transfer': the two-stage recipe "
        "and its ablations and controls (--rows), zero-shot under the strict protocol.",
    )
    p.add_argument(
        "--rows",
        nargs="+",
        choices=[TFIDF_BASELINE, *TRANSFER_ROWS],
        default=list(TRANSFER_ROWS),
        help=f"--grid transfer: the rows to run. {TFIDF_BASELINE!r} is the in-domain TF-IDF baseline (trained on the "
        "GKLMIP train labels: not zero-shot; cross-fitted on the pilot split).",
    )
    p.add_argument("--settings", nargs="+", choices=SETTINGS, default=list(SETTINGS))
    p.add_argument("--presets", nargs="+", choices=PRESETS, default=list(PRESETS))
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--encoder", default="ctam/e5-small-offline", help="Encoder (default: the offline e5-small).")
    p.add_argument("--source-data", nargs="+", default=None, help=f"English data (default {BUDGET['source_data']}).")
    p.add_argument("--max-source-examples", type=int, default=None)
    p.add_argument("--max-length", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None, help="Per path and step.")
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--stage1-steps", type=int, default=None, help="--grid transfer: stage 1's steps (default 40).")
    p.add_argument("--stage2-steps", type=int, default=None, help="--grid transfer: stage 2's steps (default 60).")
    p.add_argument("--learning-rate", type=float, default=None)
    p.add_argument("--freeze-layers", type=int, default=None)
    p.add_argument(
        "--alignment",
        default=None,
        help="Alignment folder (python -m modeling_ctam.alignment) for the vxlm / ctam mappings; default "
        "identity mappings.",
    )
    p.add_argument("--data-dir", default=None, help="Shared data folder (default CTAM_DATA_DIR or ../shared/data).")
    p.add_argument("--work-dir", default=None, help="Where runs train (default <CTAM cache>/bench-quality).")
    p.add_argument("--results-dir", default=str(REPO_ROOT / "bench" / "results"))
    p.add_argument("--keep-models", action="store_true", help="Keep each run's model folder in --work-dir.")
    p.add_argument("--rerun", action="store_true", help="Train again even when a run's metrics.json exists.")
    p.add_argument(
        "--summarize-only",
        action="store_true",
        help="Train nothing: rebuild the tables from the runs recorded so far (rows may differ in seeds).",
    )
    p.add_argument(
        "--ctam",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="CTAMConfig overrides for the ctam preset only (e.g. lambda_align=0.04 "
        "student_gru_init=teacher); values are parsed as YAML scalars.",
    )
    p.add_argument(
        "--tag",
        default=None,
        help="Name of this variant: results go to <results-dir>/quality-<tag>* so a sweep does not "
        "overwrite the main table.",
    )
    p.add_argument(
        "--score-on",
        choices=("dev", "train-labels"),
        default="dev",
        help="'dev': score on GKLMIP dev (the reported figures). 'train-labels': score on the labels of the "
        "GKLMIP train reviews instead (2,392 binary rows; their texts are stage 2's unlabelled "
        "stream, so this is transductive): the pilot split on which recipe choices are made, so that "
        "dev is never tuned on. Results go to quality-transfer-pilot* unless --tag says otherwise.",
    )
    p.add_argument("--quick", action="store_true", help="Smoke configuration: 1 seed, 4 steps, tiny subset.")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice).")
    return p.parse_args(argv)


def parse_ctam_overrides(items: list[str]) -> dict:
    """`["lambda_align=0.04", "grl_schedule=constant"]` -> `{"lambda_align": 0.04, "grl_schedule": "constant"}`."""
    import yaml

    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: --ctam expects KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


def budget_from(args, base: dict) -> dict:
    budget = dict(base)
    if args.quick:
        budget.update(QUICK)
        if "stage1_steps" in base:  # the transfer grid: each stage gets the smoke budget
            budget.update(stage1_steps=QUICK["max_steps"], stage2_steps=QUICK["max_steps"])
            budget.pop("max_steps")
    if (args.stage1_steps is not None or args.stage2_steps is not None) and "stage1_steps" not in base:
        raise SystemExit(
            "error: --stage1-steps / --stage2-steps apply to --grid transfer only (the presets grid "
            "trains one stage: use --max-steps)."
        )
    for key, attr in (
        ("source_data", "source_data"),
        ("max_source_examples", "max_source_examples"),
        ("max_length", "max_length"),
        ("per_device_train_batch_size", "batch_size"),
        ("max_steps", "max_steps"),
        ("learning_rate", "learning_rate"),
        ("freeze_layers", "freeze_layers"),
        ("stage1_steps", "stage1_steps"),
        ("stage2_steps", "stage2_steps"),
    ):
        value = getattr(args, attr)
        if value is not None:
            budget[key] = value
    return budget


def tfidf_report(args) -> dict:
    """The in-domain TF-IDF baseline's report on the score file (no training run; the same for every seed)."""
    from modeling_ctam.data import load_examples
    from modeling_ctam.evaluation.baselines import tfidf_predictions
    from modeling_ctam.evaluation.metrics import metrics_record
    from modeling_ctam.utils.paths import data_dir

    root = Path(args.data_dir) if args.data_dir else data_dir()
    train = load_examples(root / TARGET_TRAIN)
    if args.score_on == "dev":
        scored = load_examples(root / TARGET_DEV)
        predictions = tfidf_predictions(train["text"], train["label"], scored["text"])
    else:  # the pilot split is the baseline's own training data: cross-fitted predictions
        scored, predictions = train, tfidf_predictions(train["text"], train["label"])
    return metrics_record(scored["label"], predictions, ["negative", "positive"], global_step=0)


def run_one(setting: str, preset: str, seed: int, budget: dict, args, run_dir: Path) -> dict:
    """Train one run as train.py does and return its dev report (dev_metrics.json)."""
    from modeling_ctam.training import load_config, train

    if preset == TFIDF_BASELINE:
        return tfidf_report(args)

    overrides = dict(budget)
    overrides.update(
        encoder=args.encoder,
        preset=preset,
        setting=setting,
        labels="binary",
        seed=seed,
        target_train=TARGET_TRAIN,
        target_dev=args.score_file,
        pairing="random",
        eval_strategy="no",
        save_strategy="no",
        load_best_model_at_end=False,
        logging_steps=10,
        use_cpu=not _cuda(),
        disable_tqdm=True,
        report_to=["none"],
        output_dir=str(run_dir),
    )
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    if args.alignment and preset != "xlmr-base":
        overrides["alignment"] = args.alignment
    if (
        preset == "ctam" and args.grid != "transfer"
    ):  # the presets grid's recorded runs: eq. 10 summed, then the default
        overrides["ctam"] = {"align_reduction": "sum", **dict(args.ctam_overrides or {})}
    elif preset == "ctam" and args.ctam_overrides:
        overrides["ctam"] = dict(args.ctam_overrides)
    if args.grid == "transfer":
        return run_transfer_row(preset, seed, overrides, args, run_dir)
    return train(load_config(None, overrides))


def run_transfer_row(row: str, seed: int, overrides: dict, args, run_dir: Path) -> dict:
    """One row of the transfer grid: the two-stage recipe with the row's overrides. The row's stage-1 teacher is
    shared by every row of its group and seed: read from `<work>/teachers/<group>-seed-<n>/` when an earlier row
    trained it, else trained here and kept there (with its cached posteriors) for the next rows."""
    from modeling_ctam.training import load_config, train
    from modeling_ctam.transfer.recipe import STAGE1_DIR, STAGE1_MODEL

    preset, ctam, recipe, group = TRANSFER_ROWS[row]
    overrides.update(preset=preset, recipe="two-stage", ctam={**overrides.get("ctam", {}), **ctam}, **recipe)
    teacher_dir = Path(args.work_root) / "teachers" / f"{group}-seed-{seed}"
    if (teacher_dir / STAGE1_MODEL).is_file():
        overrides["teacher_from"] = str(teacher_dir / STAGE1_MODEL)
    report = train(load_config(None, overrides))
    if "teacher_from" not in overrides:
        teacher_dir.mkdir(parents=True, exist_ok=True)
        for f in (run_dir / STAGE1_DIR).glob("*.safetensors"):  # the teacher and its cached posteriors
            shutil.copy(f, teacher_dir / f.name)
    transfer = json.loads((run_dir / "train_config.json").read_text(encoding="utf-8")).get("transfer", {})
    first = (transfer.get("stage2_rounds") or [{}])[0]
    report["transfer"] = {
        "target_prior": first.get("target_prior", {}).get("prior"),
        "prior_fallback": first.get("target_prior", {}).get("fallback"),
        "pseudo_labels": first.get("pseudo_labels"),
        "items": first.get("items"),
        "teacher": transfer.get("stage1"),
    }
    return report


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def to_metrics_record(
    report: dict, setting: str, preset: str, seed: int, dev_path: Path, budget: dict, seconds: float
) -> dict:
    keep = (
        "views",
        "schema_version",
        "macro_f1",
        "weighted_f1",
        "accuracy",
        "macro_precision",
        "macro_recall",
        "weighted_precision",
        "weighted_recall",
        "per_class",
        "confusion_matrix",
        "label_names",
        "n_examples",
        "prediction_counts",
        "majority_baseline",
        "dev_loss",
        "global_step",
    )
    record = {k: report[k] for k in keep if k in report}
    if "transfer" in report:
        record["transfer"] = report["transfer"]
    record.update(
        method=preset,
        seed=seed,
        setting=setting,
        model=f"{preset}/{setting}/seed-{seed}",
        data=str(dev_path.relative_to(dev_path.parents[2])),
        data_name=dev_path.name,
        data_sha256=_sha256(dev_path),
        split=None,
        label_scheme="binary",
        data_format="gklmip-json",
        language="my",
        max_length=budget["max_length"],
        budget=budget,
        seconds=round(seconds, 1),
    )
    return record


def main(argv=None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from modeling_ctam.evaluation.figures import plot_per_class_f1
    from modeling_ctam.evaluation.metrics import read_metrics, write_metrics
    from modeling_ctam.evaluation.tables import ablation_markdown, ablation_table, group_metrics
    from modeling_ctam.training import setup_logging
    from modeling_ctam.utils.paths import cache_dir, data_dir

    setup_logging()  # each run's progress, as train.py shows it
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.seeds = args.seeds[:1]
    transfer_grid = args.grid == "transfer"
    if transfer_grid:
        args.settings, args.presets = ["zero-shot"], list(args.rows)
    budget = budget_from(args, TRANSFER_BUDGET if transfer_grid else BUDGET)
    args.ctam_overrides = parse_ctam_overrides(args.ctam)
    tag = "quality_quick" if args.quick else "quality"
    if transfer_grid:
        tag = f"{tag}-transfer"
    args.score_file = TARGET_DEV if args.score_on == "dev" else TARGET_TRAIN
    if args.tag:
        tag = f"{tag}-{args.tag}"
    elif args.score_on != "dev":
        tag = f"{tag}-pilot"
    results = Path(args.results_dir)
    runs_root = results / tag
    work = Path(args.work_dir) if args.work_dir else cache_dir() / "bench-quality" / tag
    args.work_root = str(work)
    dev_path = (Path(args.data_dir) if args.data_dir else data_dir()) / args.score_file
    score_name = "GKLMIP dev" if args.score_on == "dev" else "GKLMIP train labels (pilot split)"
    if not dev_path.is_file():
        raise SystemExit(f"error: {dev_path} not found; set CTAM_DATA_DIR or --data-dir to the shared data folder.")

    # seeds before presets: an interrupted bench has whole seeds of every preset (comparable partial tables)
    plan = [(s, p, seed) for s in args.settings for seed in args.seeds for p in args.presets]
    start = time.perf_counter()
    for i, (setting, preset, seed) in enumerate(plan, 1):
        out = runs_root / setting / preset / f"seed-{seed}" / "metrics.json"
        if out.is_file() and not args.rerun:
            print(f"[{i}/{len(plan)}] {setting} {preset} seed {seed}: done before, skipping ({out})", flush=True)
            continue
        if args.summarize_only:
            continue
        run_dir = work / setting / preset / f"seed-{seed}"
        shutil.rmtree(run_dir, ignore_errors=True)
        print(f"[{i}/{len(plan)}] {setting} {preset} seed {seed} ...", flush=True)
        t0 = time.perf_counter()
        report = run_one(setting, preset, seed, budget, args, run_dir)
        seconds = time.perf_counter() - t0
        write_metrics(to_metrics_record(report, setting, preset, seed, dev_path, budget, seconds), out)
        print(
            f"[{i}/{len(plan)}] {setting} {preset} seed {seed}: dev macro-F1 {report['macro_f1']:.4f} "
            f"({seconds:.0f} s; {time.perf_counter() - start:.0f} s so far)",
            flush=True,
        )
        if not args.keep_models:
            shutil.rmtree(run_dir, ignore_errors=True)
        del report
        gc.collect()

    summary = {
        "budget": budget,
        "encoder": args.encoder,
        "alignment": args.alignment,
        "ctam_overrides": args.ctam_overrides,
        "settings": {},
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "cuda": _cuda(),
        },
        "runs": [],
    }
    sections = [
        f"# Ablation quality ({'quick smoke run' if args.quick else 'tables 1-2'})",
        "",
        "Generated by `python bench/quality.py"
        + (" --quick" if args.quick else "")
        + "`. Budget per run: "
        + ", ".join(f"{k}={v}" for k, v in budget.items())
        + f"; encoder {args.encoder}; alignment "
        + (args.alignment and "from --alignment" or "none (identity mapping)")
        + (f"; ctam overrides {args.ctam_overrides}" if args.ctam_overrides else "")
        + f". Score: {score_name}, "
        "binary, last step, no checkpoint selection.",
        "",
    ]
    for setting in args.settings:
        files = sorted((runs_root / setting).glob("*/seed-*/metrics.json"))
        records = []
        for f in files:
            record = read_metrics(f)
            record["_path"] = (
                str(f.resolve().relative_to(REPO_ROOT)) if f.resolve().is_relative_to(REPO_ROOT) else f.name
            )  # no machine paths in the results
            records.append(record)
        records = [r for r in records if r.get("method") in args.presets and r.get("seed") in args.seeds]
        records += view_records(records)
        if not records:
            continue
        summary["runs"] += [
            {
                "setting": setting,
                "preset": r["method"],
                "seed": r["seed"],
                "macro_f1": r["macro_f1"],
                "seconds": r.get("seconds"),
            }
            for r in records
        ]
        names = args.rows if transfer_grid else PRESETS
        names = [n for p in names for n in (p, *(f"{p} {v}" for v in VIEW_SUFFIXES.values()))]
        order = [p for p in names if any(r["method"] == p for r in records)]
        groups = group_metrics(records, method_order=order)
        baseline = "plain" if transfer_grid else "xlmr-base"
        table = ablation_table(groups, baseline=baseline if baseline in groups else None)
        name = f"{tag}_{setting}"
        (results / f"{name}.json").write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        markdown = ablation_markdown(table, title=f"{setting}")
        (results / f"{name}.md").write_text(markdown, encoding="utf-8")
        plot_per_class_f1(groups, results / f"{name}_f1.png", title=f"{score_name} F1 per class ({setting})")
        summary["settings"][setting] = table
        sections += [markdown, f"![per-class F1]({name}_f1.png)", ""]
    (results / f"{tag}.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (results / f"{tag}.md").write_text("\n".join(sections), encoding="utf-8")
    print("\n".join(sections))
    print(f"bench done in {time.perf_counter() - start:.0f} s -> {results / (tag + '.md')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
