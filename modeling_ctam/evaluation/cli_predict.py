# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The ``predict`` and ``export-onnx`` commands of ``eval.py``: their arguments and what they run.

    python eval.py predict --model DIR --data FILE_OR_FOLDER_OR_HUB_ID --data-format csv --text-column comment \\
        --output-dir OUT [--keep-columns id url --backend onnx --output-format parquet --batch-size 32 ...]
        -> OUT/predictions-RRRRR-of-WWWWW.jsonl (+ .manifest.json) per process, OUT/manifest.json

    accelerate launch [--num_processes N] eval.py predict ...   (row i goes to process i % N)

    python eval.py export-onnx --model DIR --output-dir ONNX_DIR [--method blockwise|dynamic --block-size 32
        --smooth-alpha 0.75 --calibration-data TRAIN_FILE --fp32-nodes REGEX --keep-fp32]
        -> ONNX_DIR/model_quantized.onnx, config.json, tokenizer, ctam_onnx.json

Entries of :data:`modeling_ctam.evaluation.cli.COMMANDS` (docs/evaluation.md).
"""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    from ..data.stream import STREAM_FORMATS
    from ..serving.backends import BACKENDS
    from .corpus import DEFAULT_CHUNK_SIZE, OUTPUT_FORMATS

    parser.add_argument(
        "--model", required=True, help="Model folder or Hub id (pytorch), or a folder written by export-onnx (onnx)."
    )
    parser.add_argument("--backend", choices=BACKENDS, default="pytorch", help="Runtime (default pytorch).")
    parser.add_argument("--revision", default=None, help="Hub revision of the model to pin.")
    parser.add_argument(
        "--trust-remote-code",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Load the modeling code saved with the model (default on).",
    )
    parser.add_argument(
        "--data",
        required=True,
        help="Input: a CSV / TSV, JSON Lines or Parquet file, a folder of such shards, or a Hub "
        "dataset id (streamed).",
    )
    parser.add_argument(
        "--data-format",
        choices=STREAM_FORMATS,
        default=None,
        help="Format of --data (default: from the file names; an owner/name id is hub).",
    )
    parser.add_argument("--text-column", default="text", help="Column or field with the text (default text).")
    parser.add_argument(
        "--keep-columns",
        nargs="+",
        default=[],
        metavar="COLUMN",
        help="Input columns copied to each output row (e.g. an id).",
    )
    parser.add_argument("--split", default="train", help="Hub split (default train).")
    parser.add_argument("--encoding", default=None, help="Text encoding of local files (default utf-8).")
    parser.add_argument(
        "--language",
        choices=("my", "en"),
        default="my",
        help="my (default): Burmese preprocessing and Zawgyi detection, rows without a Myanmar "
        "character are bad rows (not_burmese); en: none of that.",
    )
    parser.add_argument("--output-dir", required=True, help="Folder for the prediction shards and manifest.json.")
    parser.add_argument(
        "--output-format",
        choices=OUTPUT_FORMATS,
        default="jsonl",
        help="jsonl (default), or parquet: also a Parquet copy of each finished shard.",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="Texts per forward pass (default 32).")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=DEFAULT_CHUNK_SIZE,
        help=f"Rows classified and written at a time, the resume step (default {DEFAULT_CHUNK_SIZE}).",
    )
    parser.add_argument(
        "--max-length", type=int, default=None, help="Truncation length in tokens (default: the training run's)."
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: accelerate's, else cuda if there).")
    parser.add_argument(
        "--num-threads",
        type=int,
        default=None,
        help="Intra-op threads per process (default: the cores shared out among the processes).",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="Start again in a folder that holds a run (default: resume it where it stopped).",
    )
    parser.add_argument("--no-progress", action="store_true", help="No progress bar.")


def add_export_onnx_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="A trained model folder (train.py / save_pretrained).")
    parser.add_argument("--output-dir", required=True, help="Folder for model_quantized.onnx and its tokenizer.")
    parser.add_argument(
        "--per-channel",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="--method dynamic: quantize_dynamic per_channel (default on).",
    )
    parser.add_argument(
        "--fp32-nodes",
        nargs="+",
        default=[],
        metavar="REGEX",
        help="Keep the MatMuls whose ONNX node name matches in fp32 (besides the eq. 2 mapping, the gate and the "
        "classifier), e.g. 'layer\\.\\d+/output/dense' (docs/evaluation.md).",
    )
    parser.add_argument(
        "--reduce-range", action="store_true", help="--method dynamic: quantize_dynamic reduce_range=True (7-bit)."
    )
    parser.add_argument(
        "--weight-type",
        choices=("int8", "uint8"),
        default="int8",
        help="--method dynamic: integer type of the weights (default int8; uint8 avoids AVX2's u8s8 saturation).",
    )
    parser.add_argument(
        "--method",
        choices=("dynamic", "blockwise"),
        default="blockwise",
        help="blockwise (default): int8 weights in blocks of --block-size (MatMulNBits), activations quantised per "
        "token and block at run time; dynamic: quantize_dynamic, int8 weights per channel, one activation scale per "
        "tensor (docs/evaluation.md compares them).",
    )
    parser.add_argument("--block-size", type=int, default=32, help="Block of --method blockwise (default 32).")
    parser.add_argument(
        "--embeddings",
        choices=("rows", "tensor", "fp32"),
        default="rows",
        help="The word-embedding table: int8 with a scale per row (default), int8 with one scale (quantize_dynamic's "
        "way), or fp32.",
    )
    parser.add_argument(
        "--smooth-alpha",
        type=float,
        default=None,
        help="SmoothQuant migration strength (e.g. 0.75): divide the activations' outlier channels down before "
        "quantising, calibrated on --calibration-data (docs/evaluation.md).",
    )
    parser.add_argument(
        "--calibration-data",
        default=None,
        help="Reviews the smoothing is calibrated on (any file predict reads, or a JSON array; training reviews, "
        "never the evaluation set).",
    )
    parser.add_argument("--calibration-column", default="text", help="Text column of --calibration-data.")
    parser.add_argument("--no-quantize", action="store_true", help="Write the fp32 model.onnx only.")
    parser.add_argument("--keep-fp32", action="store_true", help="Keep model.onnx beside the int8 graph.")
    parser.add_argument(
        "--max-length", type=int, default=None, help="Truncation length to record (default: the training run's)."
    )
    parser.add_argument("--overwrite", action="store_true", help="Replace an earlier export in --output-dir.")


def _threads(num_threads: int | None, local_world_size: int) -> int | None:
    import os

    if num_threads is not None or local_world_size <= 1:
        return num_threads
    return max(1, (os.cpu_count() or 1) // local_world_size)


def run_predict(args: argparse.Namespace, argv: list[str] | None = None) -> dict | None:
    """``eval.py predict``: classify every row of --data into --output-dir; returns the merged manifest (main
    process) or `None` (the other processes)."""
    from ..serving import load_classifier
    from .corpus import finish_run, predict_corpus, process_identity
    from .manifest import ResumeError

    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --output-dir {out} is an existing file; give a folder.")
    for name in ("batch_size", "chunk_size"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be a positive integer.")
    rank, world_size, local_world_size, state = process_identity()
    if args.overwrite and rank == 0 and out.is_dir():
        for child in out.iterdir():
            if child.name.startswith(("predictions-", "manifest.json", ".predictions-", ".manifest")):
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    if state is not None:
        state.wait_for_everyone()  # the folder is cleared before any process writes
    device = args.device or (str(state.device) if state is not None else None)
    try:
        classifier = load_classifier(
            args.model,
            args.backend,
            revision=args.revision,
            device=device,
            batch_size=args.batch_size,
            max_length=args.max_length,
            num_threads=_threads(args.num_threads, local_world_size),
            trust_remote_code=args.trust_remote_code,
            language=args.language,
        )
    except ImportError as error:  # the [onnx] extra is not installed
        raise SystemExit(f"error: {error}") from error
    command = "python eval.py predict " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[2:])
    )
    try:
        predict_corpus(
            classifier,
            args.data,
            out,
            data_format=args.data_format,
            text_column=args.text_column,
            keep_columns=args.keep_columns,
            language=args.language,
            split=args.split,
            encoding=args.encoding,
            chunk_size=args.chunk_size,
            output_format=args.output_format,
            rank=rank,
            world_size=world_size,
            resume=not args.overwrite,
            progress=not args.no_progress and rank == 0,
        )
        manifest = finish_run(out, world_size, state, extra={"command": command})
    except ResumeError as error:
        raise SystemExit(f"error: {error}") from error
    if manifest is not None:
        bad = ", ".join(f"{k} {v}" for k, v in manifest["bad_rows"].items()) or "none"
        labels = ", ".join(f"{k} {v}" for k, v in manifest["labels"].items())
        print(
            f"{manifest['rows']} rows -> {out} ({world_size} shard{'s' if world_size > 1 else ''}): {labels}; "
            f"bad rows: {bad}; {manifest['rows_per_second']} rows/s"
        )
    return manifest


def run_export_onnx(args: argparse.Namespace, argv: list[str] | None = None) -> dict:
    """``eval.py export-onnx``: the student path as an int8 ONNX graph with its tokenizer and config."""
    from ..serving.onnx import calibration_texts, export_onnx

    if args.smooth_alpha is not None and not args.calibration_data:
        raise SystemExit("error: --smooth-alpha needs --calibration-data (training reviews).")
    texts = None
    if args.smooth_alpha is not None:
        texts = calibration_texts(args.calibration_data, text_column=args.calibration_column)
    try:
        record = export_onnx(
            args.model,
            args.output_dir,
            quantize=not args.no_quantize,
            per_channel=args.per_channel,
            reduce_range=args.reduce_range,
            weight_type=args.weight_type,
            method=args.method,
            block_size=args.block_size,
            embeddings=args.embeddings,
            smooth_alpha=args.smooth_alpha,
            calibration_texts=texts,
            fp32_nodes=args.fp32_nodes,
            keep_fp32=args.keep_fp32,
            max_length=args.max_length,
            overwrite=args.overwrite,
        )
    except (FileExistsError, ImportError) as error:
        raise SystemExit(f"error: {error}") from error
    print(
        f"{Path(args.output_dir) / record['file']}: {record['bytes'] / 1e6:.1f} MB, fp32 graph within "
        f"{record['max_abs_logit_difference_fp32']:.1e} of PyTorch's logits, {record['seconds']} s"
    )
    return record
