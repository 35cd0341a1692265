"""Int8 ONNX against PyTorch fp32 on GKLMIP dev, side by side in one run (issue 23).

Usage::

    python bench/onnx_serving.py --model runs/zero-shot-ctam [--onnx ONNX_DIR [ONNX_DIR ...]] [--threads 2]

``--onnx`` takes one or more folders written by ``python eval.py export-onnx`` (variants: each is compared with the
one PyTorch baseline of the run); without it the model is exported (with the default quantisation) into a temporary
folder first. Measured, with PyTorch and ONNX Runtime on the same number of intra-op threads:

- predicted-label agreement of each ONNX graph with PyTorch on GKLMIP dev (binary, 343 reviews), and the macro-F1 of
  each against the labels (all through the one evaluation path, :class:`modeling_ctam.serving.Classifier`);
- throughput at batch 32: the dev reviews, tokenised once into batches of 32 (sorted by length, as ``predict``
  batches them), one forward pass over all of them per repeat, the backends interleaved repeat by repeat; rows/s
  from the median repeat, and the ratio ONNX / PyTorch;
- latency at batch 1: the median time of one forward pass of one review, over ``--latency-texts`` reviews, each
  backend in turn, interleaved.

Writes ``<out-dir>/<name>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

TARGETS = {"agreement": 0.995, "macro_f1_gap": 0.005, "throughput_ratio": 2.5}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="Trained model folder (train.py output).")
    parser.add_argument(
        "--onnx",
        nargs="+",
        default=None,
        help="Folders written by eval.py export-onnx, compared with the one PyTorch run (default: export one now).",
    )
    parser.add_argument("--data", default=None, help="GKLMIP dev JSON (default: the shared data folder's).")
    parser.add_argument("--threads", type=int, default=2, help="Intra-op threads of both backends (default 2).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5, help="Throughput repeats per backend (default 5).")
    parser.add_argument("--latency-texts", type=int, default=100, help="Reviews timed at batch 1 (default 100).")
    parser.add_argument(
        "--no-timing",
        action="store_true",
        help="Agreement and macro-F1 only (no throughput, no latency): for a machine busy with other work.",
    )
    parser.add_argument("--out-dir", default=str(REPO_ROOT / "bench" / "results"))
    parser.add_argument("--name", default="onnx_serving")
    return parser.parse_args(argv)


def _batches(classifier, texts, batch_size):
    from modeling_ctam.data import tokenize_for_eval

    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    return [
        tokenize_for_eval(
            classifier.tokenizer,
            [texts[i] for i in order[b : b + batch_size]],
            "my",
            max_length=classifier.max_length,
            preprocess=False,
        )
        for b in range(0, len(order), batch_size)
    ]


def _forward_seconds(classifier, batches) -> float:
    import torch

    start = time.perf_counter()
    with torch.inference_mode():
        for batch in batches:
            _ = classifier.model(**batch).logits
    return time.perf_counter() - start


def _variant(folder: Path) -> dict:
    export = json.loads((folder / "ctam_onnx.json").read_text())
    return {
        "name": folder.name,
        "quantization": export.get("quantization"),
        "onnx_bytes": export.get("bytes"),
        "versions": export.get("versions"),  # read now: without --onnx the folder is a temporary one
    }


def main(argv=None) -> dict:
    import numpy as np
    import torch
    from sklearn.metrics import f1_score

    from modeling_ctam.data import load_examples
    from modeling_ctam.serving import load_classifier
    from modeling_ctam.serving.onnx import export_onnx
    from modeling_ctam.utils.paths import data_path

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    data = args.data or str(data_path("my", "gklmip", "product_sentiment_dataset_dev.json"))
    dataset = load_examples(data, "gklmip-json", labels="binary")
    texts, labels = list(dataset["text"]), np.array(dataset["label"])
    with tempfile.TemporaryDirectory(prefix="ctam-onnx-bench-") as tmp:
        folders = [Path(f) for f in args.onnx or ()]
        if not folders:
            folders = [Path(tmp) / "onnx"]
            export_onnx(args.model, folders[0])
        variants = [_variant(f) for f in folders]
        names = [v["name"] for v in variants]
        if len(set(names)) != len(names):
            raise SystemExit(f"error: the --onnx folders need distinct names: {names}")
        backends = {
            "pytorch": load_classifier(
                args.model, "pytorch", device="cpu", batch_size=args.batch_size, num_threads=args.threads
            )
        }
        for folder, name in zip(folders, names):
            backends[name] = load_classifier(folder, "onnx", batch_size=args.batch_size, num_threads=args.threads)
        probabilities = {name: np.array(c.probabilities(texts)) for name, c in backends.items()}
        predicted = {name: p.argmax(1) for name, p in probabilities.items()}
        macro_f1 = {name: float(f1_score(labels, p, average="macro")) for name, p in predicted.items()}
        seconds = {name: [] for name in backends}
        latency = {name: [] for name in backends}
        if not args.no_timing:
            batches = {name: _batches(c, texts, args.batch_size) for name, c in backends.items()}
            for name, c in backends.items():  # warm-up
                _forward_seconds(c, batches[name][:2])
            for _ in range(args.repeats):
                for name, c in backends.items():
                    seconds[name].append(_forward_seconds(c, batches[name]))
            single = {name: _batches(c, texts[: args.latency_texts], 1) for name, c in backends.items()}
            for i in range(len(single["pytorch"])):
                for name, c in backends.items():
                    latency[name].append(_forward_seconds(c, [single[name][i]]))
    timed = not args.no_timing
    throughput = {name: len(texts) / statistics.median(s) if timed else None for name, s in seconds.items()}
    median_ms = {name: 1000 * statistics.median(v) if timed else None for name, v in latency.items()}
    p90_ms = {name: 1000 * float(np.percentile(v, 90)) if timed else None for name, v in latency.items()}
    for v in variants:
        name = v["name"]
        v.update(
            {
                "agreement": float((predicted[name] == predicted["pytorch"]).mean()),
                "disagreements": int((predicted[name] != predicted["pytorch"]).sum()),
                "max_abs_probability_difference": float(np.abs(probabilities[name] - probabilities["pytorch"]).max()),
                "macro_f1": macro_f1[name],
                "macro_f1_gap": abs(macro_f1[name] - macro_f1["pytorch"]),
                "throughput_rows_per_s": throughput[name],
                "throughput_ratio": throughput[name] / throughput["pytorch"] if timed else None,
                "throughput_seconds": seconds[name],
                "latency_ms_median": median_ms[name],
                "latency_ms_p90": p90_ms[name],
                "latency_ratio": median_ms["pytorch"] / median_ms[name] if timed else None,
            }
        )
    record = {
        "model": Path(args.model).name,
        "data": Path(data).name,
        "n": len(texts),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "timed": timed,
        "latency_texts": min(args.latency_texts, len(texts)) if timed else 0,
        "pytorch": {
            "macro_f1": macro_f1["pytorch"],
            "throughput_rows_per_s": throughput["pytorch"],
            "throughput_seconds": seconds["pytorch"],
            "latency_ms_median": median_ms["pytorch"],
            "latency_ms_p90": p90_ms["pytorch"],
        },
        "variants": variants,
        "targets": TARGETS,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "versions": variants[0]["versions"],
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (out / f"{args.name}.md").write_text(markdown(record), encoding="utf-8")
    print(markdown(record))
    return record


def describe(q: dict | None) -> str:
    """One line on how a graph was quantised (its ``ctam_onnx.json`` entry)."""
    if not q:
        return "fp32, not quantised"
    if q.get("method") == "blockwise":
        how = (
            f"blockwise int8 (MatMulNBits, weights in blocks of {q['block_size']}, activations quantised per token "
            "and block)"
        )
    else:
        how = (
            f"dynamic int8 ({q.get('weight_type')} weights per {'channel' if q.get('per_channel') else 'tensor'}"
            + (", reduce_range" if q.get("reduce_range") else "")
            + ", activations one scale per tensor)"
        )
    if q.get("smoothing"):
        how += f", smoothed (alpha {q['smoothing']['alpha']}, {q['smoothing']['calibration_rows']} train reviews)"
    how += {"rows": ", word embeddings int8 per row", "fp32": ", word embeddings fp32"}.get(
        q.get("embeddings"), ", word embeddings int8 per tensor"
    )
    extra = [p for p in q.get("fp32_nodes") or [] if p not in DEFAULT_FP32]
    return how + (f"; also fp32: {', '.join(f'`{p}`' for p in extra)}" if extra else "")


DEFAULT_FP32 = ("/ctam/mapping/", "/ctam/gate/", "/classifier/", "/ngram_head/")


def markdown(r: dict) -> str:
    t, pt = r["targets"], r["pytorch"]
    timed = r.get("timed", True)
    speed = (
        f"{pt['throughput_rows_per_s']:.1f} rows/s at batch {r['batch_size']} (median of {r['repeats']}), latency at "
        f"batch 1 {pt['latency_ms_median']:.1f} ms median ({pt['latency_ms_p90']:.1f} p90, {r['latency_texts']} "
        "reviews)"
        if timed
        else "not timed (`--no-timing`: agreement and macro-F1 only)"
    )
    lines = [
        f"# ONNX against PyTorch fp32: {r['data']} ({r['n']} reviews), {r['threads']} threads",
        "",
        (
            f"Model `{r['model']}`. PyTorch fp32: macro-F1 {pt['macro_f1']:.4f}, {speed}. Targets: agreement >= "
            f"{t['agreement']}, macro-F1 gap <= {t['macro_f1_gap']}, throughput >= {t['throughput_ratio']}x."
        ),
        "",
        "| ONNX graph | labels that differ | agreement | macro-F1 (gap) | rows/s (x PyTorch) | "
        "batch-1 ms median, p90 (x faster) | MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for v in r["variants"]:
        rows = f"{v['throughput_rows_per_s']:.1f} ({v['throughput_ratio']:.2f}x)" if timed else "not timed"
        ms = (
            f"{v['latency_ms_median']:.1f}, {v['latency_ms_p90']:.1f} ({v['latency_ratio']:.2f}x)"
            if timed
            else "not timed"
        )
        lines.append(
            f"| `{v['name']}` | {v['disagreements']} | {v['agreement']:.4f} | {v['macro_f1']:.4f} "
            f"({v['macro_f1_gap']:.4f}) | {rows} | {ms} | {(v['onnx_bytes'] or 0) / 1e6:.0f} |"
        )
    lines += ["", "Graphs:", ""]
    lines += [
        f"- `{v['name']}`: {describe(v['quantization'])}; largest class-probability change "
        f"{v['max_abs_probability_difference']:.4f}."
        for v in r["variants"]
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
