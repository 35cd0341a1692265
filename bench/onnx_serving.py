"""Int8 ONNX against PyTorch fp32 on GKLMIP dev, side by side in one run (issue 23).

Usage::

    python bench/onnx_serving.py --model runs/zero-shot-ctam [--onnx ONNX_DIR] [--threads 2] [--repeats 5]

``--onnx`` is a folder written by ``python eval.py export-onnx``; without it the model is exported (with the
default quantisation) into a temporary folder first. Measured, with PyTorch and ONNX Runtime on the same number of
intra-op threads:

- predicted-label agreement of the two backends on GKLMIP dev (binary, 343 reviews), and the macro-F1 of each
  against the labels (both through the one evaluation path, :class:`modeling_ctam.serving.Classifier`);
- throughput at batch 32: the dev reviews, tokenised once into batches of 32 (sorted by length, as ``predict``
  batches them), one forward pass over all of them per repeat, the backends interleaved repeat by repeat; rows/s
  from the median repeat, and the ratio ONNX / PyTorch;
- latency at batch 1: the median time of one forward pass of one review, over ``--latency-texts`` reviews, each
  backend in turn, interleaved.

Writes ``<out-dir>/onnx_serving.json`` and ``.md``.
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
    parser.add_argument("--onnx", default=None, help="Folder written by eval.py export-onnx (default: export now).")
    parser.add_argument("--data", default=None, help="GKLMIP dev JSON (default: the shared data folder's).")
    parser.add_argument("--threads", type=int, default=2, help="Intra-op threads of both backends (default 2).")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5, help="Throughput repeats per backend (default 5).")
    parser.add_argument("--latency-texts", type=int, default=100, help="Reviews timed at batch 1 (default 100).")
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
        onnx_dir = args.onnx
        export = None
        if onnx_dir is None:
            onnx_dir = str(Path(tmp) / "onnx")
            export = export_onnx(args.model, onnx_dir)
        export = export or json.loads((Path(onnx_dir) / "ctam_onnx.json").read_text())
        backends = {
            "pytorch": load_classifier(
                args.model, "pytorch", device="cpu", batch_size=args.batch_size, num_threads=args.threads
            ),
            "onnx": load_classifier(onnx_dir, "onnx", batch_size=args.batch_size, num_threads=args.threads),
        }
        probabilities = {name: np.array(c.probabilities(texts)) for name, c in backends.items()}
        predicted = {name: p.argmax(1) for name, p in probabilities.items()}
        macro_f1 = {name: float(f1_score(labels, p, average="macro")) for name, p in predicted.items()}
        batches = {name: _batches(c, texts, args.batch_size) for name, c in backends.items()}
        for name, c in backends.items():  # warm-up
            _forward_seconds(c, batches[name][:2])
        seconds = {name: [] for name in backends}
        for _ in range(args.repeats):
            for name, c in backends.items():
                seconds[name].append(_forward_seconds(c, batches[name]))
        throughput = {name: len(texts) / statistics.median(s) for name, s in seconds.items()}
        single = {name: _batches(c, texts[: args.latency_texts], 1) for name, c in backends.items()}
        latency = {name: [] for name in backends}
        for i in range(len(single["pytorch"])):
            for name, c in backends.items():
                latency[name].append(_forward_seconds(c, [single[name][i]]))
    record = {
        "model": Path(args.model).name,
        "data": Path(data).name,
        "n": len(texts),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "quantization": export.get("quantization"),
        "onnx_bytes": export.get("bytes"),
        "agreement": float((predicted["onnx"] == predicted["pytorch"]).mean()),
        "disagreements": int((predicted["onnx"] != predicted["pytorch"]).sum()),
        "max_abs_probability_difference": float(np.abs(probabilities["onnx"] - probabilities["pytorch"]).max()),
        "macro_f1": macro_f1,
        "macro_f1_gap": abs(macro_f1["onnx"] - macro_f1["pytorch"]),
        "throughput_rows_per_s": throughput,
        "throughput_ratio": throughput["onnx"] / throughput["pytorch"],
        "throughput_seconds": seconds,
        "latency_ms_median": {name: 1000 * statistics.median(v) for name, v in latency.items()},
        "latency_ms_p90": {name: 1000 * float(np.percentile(v, 90)) for name, v in latency.items()},
        "latency_ratio": statistics.median(latency["pytorch"]) / statistics.median(latency["onnx"]),
        "targets": TARGETS,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "versions": export.get("versions"),
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (out / f"{args.name}.md").write_text(markdown(record), encoding="utf-8")
    print(markdown(record))
    return record


def markdown(r: dict) -> str:
    q = r["quantization"] or {}
    kind = "ONNX int8" if q else "ONNX fp32"
    how = (
        f"dynamic int8 quantisation (per_channel={q.get('per_channel')}, reduce_range={q.get('reduce_range')}, "
        f"{q.get('fp32_matmuls')} MatMuls kept fp32: {', '.join(q.get('fp32_nodes') or [])})"
        if q
        else "not quantised"
    )
    lines = [
        f"# {kind} against PyTorch fp32: {r['data']} ({r['n']} reviews), {r['threads']} threads",
        "",
        f"Model `{r['model']}`; ONNX: {how}, {r['onnx_bytes'] / 1e6:.0f} MB.",
        "",
        f"| measure | PyTorch fp32 | {kind} | ONNX / PyTorch | target |",
        "|---|---:|---:|---:|---|",
        (
            f"| predicted-label agreement | | | {r['agreement']:.4f} ({r['disagreements']} of {r['n']} differ) | "
            f">= {r['targets']['agreement']} |"
        ),
        (
            f"| macro-F1 | {r['macro_f1']['pytorch']:.4f} | {r['macro_f1']['onnx']:.4f} | gap {r['macro_f1_gap']:.4f} "
            f"| <= {r['targets']['macro_f1_gap']} |"
        ),
        (
            f"| throughput at batch {r['batch_size']}, rows/s | {r['throughput_rows_per_s']['pytorch']:.1f} | "
            f"{r['throughput_rows_per_s']['onnx']:.1f} | {r['throughput_ratio']:.2f}x | >= "
            f"{r['targets']['throughput_ratio']}x |"
        ),
        (
            f"| latency at batch 1, median ms (p90) | {r['latency_ms_median']['pytorch']:.1f} "
            f"({r['latency_ms_p90']['pytorch']:.1f}) | {r['latency_ms_median']['onnx']:.1f} "
            f"({r['latency_ms_p90']['onnx']:.1f}) | {r['latency_ratio']:.2f}x faster | |"
        ),
        "",
        f"Largest difference of a class probability: {r['max_abs_probability_difference']:.4f}.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
