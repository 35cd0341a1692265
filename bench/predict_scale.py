"""Corpus-scale prediction on 2 cores: rows per second and peak memory of ``eval.py predict`` (issue 23).

Usage::

    python bench/predict_scale.py --model runs/zero-shot-ctam --onnx ONNX_DIR [--rows 200000 --small 20000]

Builds an input of ``--rows`` rows from real reviews: the GKLMIP train and dev texts (2,850, about 11% of them stored
in Zawgyi) repeated and shuffled, one Unicode review in ten converted to Zawgyi (python-myanmar's converter), and
a bad row in every thousand (empty, whitespace only, English only, over 10,000 characters, bytes that are not
UTF-8). The ``--small`` input is its first rows. Then, each in a fresh process (``/usr/bin/time`` gives the peak
RSS) with ``--threads`` intra-op threads:

- the streaming reader alone (:func:`modeling_ctam.data.stream.stream_rows` with Burmese preprocessing and Zawgyi
  detection, nothing kept), on both inputs: its peak RSS must not grow with the input;
- ``eval.py predict --backend onnx`` on the small input, then on the big one when its rows/s there put the big input
  under ``--onnx-budget-min`` minutes (no limit by default), else the table says so;
- ``eval.py predict`` (PyTorch fp32) on ``--pytorch-rows`` rows first, to estimate; both inputs only when the
  estimate for the big one is under ``--pytorch-budget-min`` minutes, else on those rows only, and the table says so.

rows/s is the manifest's (rows over the seconds spent in the prediction loop, model loading excluded); the wall time
includes loading. Writes ``<out-dir>/predict_scale.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

BAD_ROWS = ("", "   ", "Great phone, fast delivery", "x" * 10_001, b"\xff\xfe not utf-8")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="Trained model folder (PyTorch backend).")
    parser.add_argument("--onnx", help="Folder written by eval.py export-onnx (ONNX backend).")
    parser.add_argument(
        "--onnx-inputs",
        choices=("both", "small"),
        default="both",
        help="Inputs the --onnx model runs on (small: when the big one does not fit the time).",
    )
    parser.add_argument(
        "--memory-onnx",
        default=None,
        help="Another ONNX folder (e.g. a tiny model's) run on both inputs: flat memory at full scale in less time.",
    )
    parser.add_argument(
        "--onnx-budget-min",
        type=float,
        default=None,
        help="Run --onnx on the big input only when the small run's rows/s put it under this many minutes.",
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--pytorch-rows", type=int, default=2_000, help="Rows of the PyTorch estimate run.")
    parser.add_argument("--pytorch-budget-min", type=float, default=40.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--work-dir", default=None, help="Where the inputs and outputs go (default: a temp folder).")
    parser.add_argument("--out-dir", default=str(REPO_ROOT / "bench" / "results"))
    parser.add_argument("--name", default="predict_scale")
    parser.add_argument("--read-only", default=None, help=argparse.SUPPRESS)  # the reader-alone child process
    return parser.parse_args(argv)


def build_input(path: Path, rows: int, seed: int = 0) -> dict:
    """Writes the CSV (``id``, ``comment``) of `rows` rows from real reviews; returns what it holds."""
    from myanmar import converter

    from modeling_ctam.data.burmese import contains_myanmar, is_zawgyi
    from modeling_ctam.utils.paths import data_path

    reviews = []
    for split in ("train", "dev"):
        records = json.loads(data_path("my", "gklmip", f"product_sentiment_dataset_{split}.json").read_text("utf-8"))
        reviews += [r["text"] for r in records]
    convertible = [contains_myanmar(r) and not is_zawgyi(r) for r in reviews]  # once per review, not per row
    rng = random.Random(seed)
    counts = {"rows": rows, "converted_to_zawgyi": 0, "bad_rows": 0, "source_reviews": len(reviews)}
    with open(path, "wb") as handle:
        handle.write(b"id,comment\n")
        order: list[int] = []
        for i in range(rows):
            if not order:
                order = list(range(len(reviews)))
                rng.shuffle(order)
            if i % 1000 == 999:
                bad = BAD_ROWS[(i // 1000) % len(BAD_ROWS)]
                counts["bad_rows"] += 1
                text = bad if isinstance(bad, bytes) else bad.encode("utf-8")
            else:
                index = order.pop()
                review = reviews[index]
                if rng.random() < 0.1 and convertible[index]:
                    review = converter.convert(review, "unicode", "zawgyi")
                    counts["converted_to_zawgyi"] += 1
                text = review.encode("utf-8")
            row = text.decode("utf-8", errors="surrogateescape")
            line = _csv_line([str(i), row])
            handle.write(line.encode("utf-8", errors="surrogateescape"))
    counts["bytes"] = path.stat().st_size
    return counts


def _csv_line(fields) -> str:
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue()


def _timed(argv: list[str]) -> dict:
    """Runs `argv` under /usr/bin/time; returns wall seconds and peak RSS (MB)."""
    with tempfile.NamedTemporaryFile(suffix=".time") as record:
        start = time.perf_counter()
        done = subprocess.run(
            ["/usr/bin/time", "-f", "%M", "-o", record.name, *argv],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            check=False,
        )
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[:4])} ... failed:\n{done.stderr[-3000:]}")
        peak_kb = int(Path(record.name).read_text().split()[-1])
    return {"wall_seconds": round(wall, 1), "peak_rss_mb": round(peak_kb / 1024, 1), "stdout": done.stdout[-500:]}


def read_only(path: str) -> None:
    from modeling_ctam.data.stream import stream_rows

    counts = {"rows": 0, "bad": 0}

    def count(row):
        counts["rows"] += 1
        counts["bad"] += row.reason is not None

    start = time.perf_counter()
    stream_rows(path, count, text_column="comment")
    print(json.dumps({**counts, "seconds": time.perf_counter() - start}))


def predict_run(model: str, backend: str, data: Path, out: Path, args) -> dict:
    argv = [
        sys.executable,
        str(REPO_ROOT / "eval.py"),
        "predict",
        "--model",
        model,
        "--backend",
        backend,
        "--data",
        str(data),
        "--text-column",
        "comment",
        "--keep-columns",
        "id",
        "--output-dir",
        str(out),
        "--batch-size",
        str(args.batch_size),
        "--num-threads",
        str(args.threads),
        "--no-progress",
        "--overwrite",
    ]
    result = _timed(argv)
    manifest = json.loads((out / "manifest.json").read_text())
    return {
        "backend": backend,
        "rows": manifest["rows"],
        "rows_per_second": manifest["rows_per_second"],
        "bad_rows": manifest["bad_rows"],
        "encodings": manifest["encodings"],
        "labels": manifest["labels"],
        "wall_seconds": result["wall_seconds"],
        "peak_rss_mb": result["peak_rss_mb"],
    }


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.read_only:
        read_only(args.read_only)
        return {}
    work = Path(args.work_dir or tempfile.mkdtemp(prefix="ctam-predict-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    big, small, tiny = work / f"reviews-{args.rows}.csv", work / f"reviews-{args.small}.csv", work / "estimate.csv"
    inputs = {"big": build_input(big, args.rows)}
    inputs["small"] = build_input(small, args.small)  # the same seed: the first rows of the big input
    build_input(tiny, args.pytorch_rows)
    runs = []
    for data, n in ((small, args.small), (big, args.rows)):
        child = _timed([sys.executable, str(Path(__file__).resolve()), "--read-only", str(data)])
        info = json.loads(child["stdout"].strip().splitlines()[-1])
        runs.append(
            {
                "backend": "reader only",
                "rows": n,
                "rows_per_second": round(n / info["seconds"], 1),
                "bad_rows": info["bad"],
                "wall_seconds": child["wall_seconds"],
                "peak_rss_mb": child["peak_rss_mb"],
            }
        )
        print(runs[-1], flush=True)
    onnx_note = None
    if args.onnx:
        for data in (small, big) if args.onnx_inputs == "both" else (small,):
            if data == big and args.onnx_budget_min is not None:
                minutes = args.rows / runs[-1]["rows_per_second"] / 60
                if minutes > args.onnx_budget_min:
                    onnx_note = (
                        f"ONNX on {args.rows:,} rows would take about {minutes:.0f} minutes at the "
                        f"{runs[-1]['rows_per_second']} rows/s of its {args.small:,}-row run (over the "
                        f"{args.onnx_budget_min:.0f}-minute budget): it ran on {args.small:,} rows only."
                    )
                    break
            runs.append(predict_run(args.onnx, "onnx", data, work / f"out-onnx-{data.stem}", args))
            print(runs[-1], flush=True)
    if args.memory_onnx:
        for data in (small, big):
            run = predict_run(args.memory_onnx, "onnx", data, work / f"out-memory-{data.stem}", args)
            runs.append({**run, "backend": f"onnx, {Path(args.memory_onnx).name} (memory run)"})
            print(runs[-1], flush=True)
    pytorch_note = None
    if args.model:
        estimate = predict_run(args.model, "pytorch", tiny, work / "out-pytorch-estimate", args)
        minutes = args.rows / estimate["rows_per_second"] / 60
        runs.append(estimate)
        pytorch_inputs = [small, big] if minutes <= args.pytorch_budget_min else []
        if not pytorch_inputs:
            pytorch_note = (
                f"PyTorch on {args.rows:,} rows would take about {minutes:.0f} minutes at the "
                f"{estimate['rows_per_second']} rows/s of its {args.pytorch_rows:,}-row run (over the "
                f"{args.pytorch_budget_min:.0f}-minute budget): it ran on {args.pytorch_rows:,} rows only."
            )
        for data in pytorch_inputs:
            runs.append(predict_run(args.model, "pytorch", data, work / f"out-pytorch-{data.stem}", args))
            print(runs[-1], flush=True)
    record = {
        "inputs": inputs,
        "threads": args.threads,
        "batch_size": args.batch_size,
        "runs": runs,
        "pytorch_note": pytorch_note,
        "onnx_note": onnx_note,
        "model": Path(args.model).name if args.model else None,
        "onnx": Path(args.onnx).name if args.onnx else None,
        "memory_onnx": Path(args.memory_onnx).name if args.memory_onnx else None,
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (out / f"{args.name}.md").write_text(markdown(record), encoding="utf-8")
    print(markdown(record))
    return record


def markdown(record: dict) -> str:
    big = record["inputs"]["big"]
    lines = [
        f"# eval.py predict at scale: {record['threads']} threads, batch {record['batch_size']}",
        "",
        (
            f"Input: {big['rows']:,} rows ({big['bytes'] / 1e6:.0f} MB CSV) from {big['source_reviews']:,} real "
            f"GKLMIP reviews, {big['converted_to_zawgyi']:,} converted to Zawgyi, {big['bad_rows']:,} bad rows; the "
            f"small input is its first rows."
        ),
        "",
        "| run | rows | rows/s | peak RSS (MB) | wall (s) | bad rows |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for run in record["runs"]:
        bad = run["bad_rows"] if isinstance(run["bad_rows"], int) else sum(run["bad_rows"].values())
        lines.append(
            f"| {run['backend']} | {run['rows']:,} | {run['rows_per_second']} | {run['peak_rss_mb']} | "
            f"{run['wall_seconds']} | {bad} |"
        )
    for note in (record.get("onnx_note"), record["pytorch_note"]):
        if note:
            lines += ["", note]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
