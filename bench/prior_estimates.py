"""How well does each zero-shot estimate of the Burmese class prior recover the truth? A pilot measurement.

The two-stage recipe sets its self-training quotas and its `L_S` importance weights from an estimate of the Burmese
class prior, made with no Burmese label (docs/transfer.md). This script takes the stage-1 teachers that
``bench/quality.py --grid transfer`` trained and cached, and compares, per teacher, the estimates below with the true
share of negative reviews among the GKLMIP train reviews (their labels are used here only to score the estimates:
this is the pilot split of docs/transfer.md, never GKLMIP dev):

- ``classify-and-count``: the teacher's predicted-class shares on the reviews;
- ``em``: Saerens et al.'s EM (the recipe's first choice; it degenerates on these teachers);
- ``bbse-english``: BBSE with the teacher's confusion matrix on held-out English rows (the recipe's fallback). Here
  the held-out rows are the UCI IMDb sentences, which no teacher trained on;
- ``bbse-cross-lingual``: BBSE through both shifts. The teacher's errors on English (the confusion above) and the
  change its predictions undergo when the same content is read in Burmese, measured on translation pairs: ``C_lang[i,
  j] = P(predicted i on the Burmese side | predicted j on the English side)`` over myXNLI + TALPCo. The reviews'
  predicted shares are then ``C_lang C_en pi`` and ``pi`` is solved for.

Usage::

    python bench/quality.py --grid transfer --rows ctam plain --seeds 1 2 3   # trains and caches the teachers
    python bench/prior_estimates.py --groups ctam xlmr-base --seeds 1 2 3

Writes ``bench/results/prior_estimates.json`` and ``.md`` (``prior_estimates-<tag>.*`` with ``--tag``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
HELDOUT_ENGLISH = "en/uci_sentiment_labelled/imdb_labelled.txt"


def _quality_module():
    spec = importlib.util.spec_from_file_location("bench_quality", Path(__file__).with_name("quality.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def source_confusion(probs: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """`C_en[i, j] = P(predicted i | true j)` on labelled English rows; columns sum to 1."""
    num_classes = probs.shape[1]
    predicted = probs.argmax(1)
    confusion = np.zeros((num_classes, num_classes))
    for j in range(num_classes):
        rows = labels == j
        confusion[:, j] = np.bincount(predicted[rows], minlength=num_classes) / max(1, rows.sum())
    return confusion


def solve_prior(confusion: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """`pi` with `confusion @ pi ~ shares` (least squares), cut at 0 and renormalised."""
    q = np.clip(np.linalg.lstsq(confusion, shares, rcond=None)[0], 0.0, None)
    return q / q.sum() if q.sum() > 0 else shares


def _share(mask: np.ndarray) -> float:
    return round(float(np.mean(mask)), 4)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--groups",
        nargs="+",
        default=["ctam", "xlmr-base"],
        help="Teacher groups of the transfer grid (ctam, xlmr-base, ctam-no-vxlm).",
    )
    p.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3])
    p.add_argument("--work-dir", default=None, help="The transfer grid's work folder (default: the CTAM cache's).")
    p.add_argument("--results-dir", default=str(REPO_ROOT / "bench" / "results"))
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--tag", default=None, help="Results go to prior_estimates-<tag>.json / .md.")
    p.add_argument(
        "--no-parallel",
        action="store_true",
        help="Skip the translation pairs (and so bbse-cross-lingual): about 8,000 fewer forwards a teacher.",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch

    from modeling_ctam.data import load_examples
    from modeling_ctam.training import load_config
    from modeling_ctam.training.assembly import build_transfer_data
    from modeling_ctam.training.run import build_model
    from modeling_ctam.transfer.prior import bbse_prior, em_prior, language_confusion
    from modeling_ctam.transfer.recipe import STAGE1_MODEL, cached_teacher_posteriors, load_teacher_weights
    from modeling_ctam.transfer.teacher import teacher_posteriors
    from modeling_ctam.utils.paths import cache_dir, data_dir

    if args.threads:
        torch.set_num_threads(args.threads)
    quality = _quality_module()
    work = Path(args.work_dir) if args.work_dir else cache_dir() / "bench-quality" / "quality-transfer"
    group_rows = {"ctam": "ctam", "xlmr-base": "plain", "ctam-no-vxlm": "ctam-no-VXLM"}
    truth_rows = load_examples(str(data_dir() / quality.TARGET_TRAIN), labels="binary")
    truth = np.bincount(np.asarray(truth_rows["label"]), minlength=2) / len(truth_rows)
    imdb = load_examples(str(data_dir() / HELDOUT_ENGLISH), labels="binary")
    results, start = [], time.perf_counter()
    for group in args.groups:
        preset, ctam, recipe, _ = quality.TRANSFER_ROWS[group_rows[group]]
        for seed in args.seeds:
            teacher = work / "teachers" / f"{group}-seed-{seed}" / STAGE1_MODEL
            if not teacher.is_file():
                print(f"{group} seed {seed}: no cached teacher at {teacher.relative_to(work)}; skipped", flush=True)
                continue
            overrides = dict(
                quality.TRANSFER_BUDGET,
                encoder="ctam/e5-small-offline",
                preset=preset,
                setting="zero-shot",
                labels="binary",
                seed=seed,
                target_train=quality.TARGET_TRAIN,
                target_dev=quality.TARGET_DEV,
                recipe="two-stage",
                ctam=dict(ctam),
                output_dir=str(work / "prior-estimates"),
                use_cpu=True,
                eval_strategy="no",
                save_strategy="no",
                load_best_model_at_end=False,
            )
            overrides.update({k: v for k, v in recipe.items() if k != "parallel_distillation"})
            overrides["parallel_share"] = 0.3  # load the parallel pairs whatever the row
            cfg = load_config(None, overrides)
            data, _, _ = build_transfer_data(cfg.data, seed, with_parallel=True)
            model, tokenizer, _ = build_model(cfg.model, cfg.data)
            load_teacher_weights(model, teacher)
            length = cfg.data.max_length
            reviews = cached_teacher_posteriors(
                model, tokenizer, data.unlabelled, length, 64, teacher.parent
            )  # cached by the grid
            english = teacher_posteriors(model, tokenizer, list(imdb["text"]), language="en", max_length=length)
            pairs = [] if args.no_parallel else data.parallel
            par_my = par_en = None
            if pairs:  # cached beside the teacher, as the recipe's cross_lingual_prior does
                par_my = cached_teacher_posteriors(
                    model, tokenizer, [m for m, _ in pairs], length, 64, teacher.parent, "my"
                )
                par_en = cached_teacher_posteriors(
                    model, tokenizer, [e for _, e in pairs], length, 64, teacher.parent, "en"
                )
            labels = np.asarray(imdb["label"])
            shares = np.bincount(reviews.argmax(1), minlength=2) / len(reviews)
            c_en = source_confusion(english, labels)
            c_lang = language_confusion(par_my, par_en) if pairs else None
            estimates = {
                "classify-and-count": shares,
                "em": em_prior(reviews, np.array([0.5, 0.5]))[0],
                "bbse-english": bbse_prior(reviews, english, labels),
            }
            if pairs:
                estimates["bbse-cross-lingual"] = solve_prior(c_lang @ c_en, shares)
            row = {
                "group": group,
                "seed": seed,
                "true_negative_share": round(float(truth[0]), 4),
                "english_heldout_accuracy": round(float((english.argmax(1) == labels).mean()), 4),
                "parallel_agreement": _share(par_my.argmax(1) == par_en.argmax(1)) if pairs else None,
                "parallel_negative_share_en": _share(par_en.argmax(1) == 0) if pairs else None,
                "parallel_negative_share_my": _share(par_my.argmax(1) == 0) if pairs else None,
                "estimates": {k: round(float(v[0]), 4) for k, v in estimates.items()},
            }
            results.append(row)
            print(json.dumps(row), f"({time.perf_counter() - start:.0f} s)", flush=True)
            del model
    methods = ["classify-and-count", "em", "bbse-english", "bbse-cross-lingual"]
    lines = [
        "# Zero-shot estimates of the Burmese negative-class share",
        "",
        "Generated by `python bench/prior_estimates.py`. Truth: the share of 1-2 star reviews among the binary "
        f"GKLMIP train reviews ({truth[0]:.3f}; pilot split, not dev). Held-out English: UCI IMDb sentences. "
        "Translation pairs: myXNLI dev + TALPCo.",
        "",
        "| teacher | seed | " + " | ".join(methods) + " | English acc. | pairs agreeing | pairs negative en / my |",
        "|---|---:|" + "---:|" * (len(methods) + 3),
    ]
    for r in results:
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        lines.append(
            f"| {r['group']} | {r['seed']} | "
            + " | ".join(fmt(r["estimates"].get(m)) for m in methods)
            + f" | {fmt(r['english_heldout_accuracy'])} | {fmt(r['parallel_agreement'])} | "
            f"{fmt(r['parallel_negative_share_en'])} / {fmt(r['parallel_negative_share_my'])} |"
        )
    if results:
        errors = {m: [abs(r["estimates"][m] - truth[0]) for r in results if m in r["estimates"]] for m in methods}
        lines.append(
            "| **mean absolute error** | | "
            + " | ".join(f"{np.mean(e):.3f}" if e else "-" for e in errors.values())
            + " | | | |"
        )
    out = Path(args.results_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = f"prior_estimates-{args.tag}" if args.tag else "prior_estimates"
    (out / f"{name}.json").write_text(
        json.dumps({"truth_negative_share": float(truth[0]), "runs": results}, indent=2) + "\n", encoding="utf-8"
    )
    (out / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
