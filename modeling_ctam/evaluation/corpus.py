# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Prediction at corpus scale: any number of unlabelled rows, streamed in, classified a chunk at a time, streamed
out, in one process or many, resumable after a kill (``python eval.py predict``).

:func:`predict_corpus` reads the input with :func:`modeling_ctam.data.stream.stream_rows` (CSV, JSON Lines,
Parquet, a folder of shards, or a Hub dataset streamed), classifies the rows of this process a chunk at a time with
a :class:`~modeling_ctam.serving.Classifier` (PyTorch or ONNX Runtime) and appends them to this process's shard
(:class:`~.manifest.ShardWriter`). Memory stays flat: a chunk of rows is all it holds. Row ``i`` of the input is
classified by process ``i % world_size``; each shard keeps input order. Each output row (one JSON object a line)::

    {"row": 17, "source": "comments.csv:19", "label": "positive", "p_negative": 0.08, "p_positive": 0.92,
     "encoding": "zawgyi", "reason": null, "error": null, ...kept input columns...}

A bad row (empty, undecodable, too long, not Burmese, malformed) is written too, with ``label`` null, its
``reason`` and the ``error`` message naming file and line, and counted per reason in the manifest: every input row
has exactly one output row.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..data.stream import StreamRow, input_files, is_local_input, stream_rows, stream_texts
from .manifest import MANIFEST, ShardWriter, merge_manifests, shard_stem

logger = logging.getLogger(__name__)

OUTPUT_FORMATS = ("jsonl", "parquet")
RESERVED_COLUMNS = ("row", "source", "label", "encoding", "reason", "error")


def kept_key(column: str, labels: Sequence[str]) -> str:
    """The output field of a kept input column: its own name, or ``input_<name>`` when an output field has that name
    (a gold ``label`` column is kept as ``input_label``)."""
    return f"input_{column}" if column in RESERVED_COLUMNS or column in map(probability_key, labels) else column


DEFAULT_CHUNK_SIZE = 1024


def probability_key(label: str) -> str:
    """The output column of a class probability: ``p_<label>``."""
    return f"p_{label}"


def run_settings(
    classifier,
    data,
    *,
    data_format: str | None,
    text_column: str,
    keep_columns: Sequence[str],
    language: str,
    split: str,
    chunk_size: int,
    world_size: int,
    encoding: str | None,
) -> dict:
    """What makes two prediction runs the same run (a resumed shard must match them): model, backend, the input
    (and each local file's size), the columns, the tokenisation and the chunking."""
    files = []
    if is_local_input(data, data_format):
        data_format, paths = input_files(data, data_format)
        files = [{"name": p.name, "bytes": p.stat().st_size} for p in paths]
    return {
        "model": classifier.source,
        "backend": classifier.backend,
        "labels": classifier.label_names,
        "data": os.fspath(data),
        "data_format": data_format or "hub",
        "data_files": files,
        "split": split,
        "text_column": text_column,
        "keep_columns": list(keep_columns),
        "language": language,
        "encoding": encoding,
        "max_length": classifier.max_length,
        "word_ids": classifier.word_ids,
        "batch_size": classifier.batch_size,
        "chunk_size": chunk_size,
        "world_size": world_size,
    }


def _output_row(
    row: StreamRow, probabilities: list[float] | None, labels: Sequence[str], keep_columns: Sequence[str]
) -> dict:
    out: dict[str, Any] = {"row": row.index, "source": row.location, "label": None}
    if probabilities is not None:
        out["label"] = labels[max(range(len(probabilities)), key=probabilities.__getitem__)]
    for name, index in zip(labels, range(len(labels))):
        out[probability_key(name)] = probabilities[index] if probabilities is not None else None
    out.update(encoding=row.encoding, reason=row.reason, error=row.message)
    for column in keep_columns:
        out[kept_key(column, labels)] = (row.record or {}).get(column)
    return out


def classified(classifier, rows: Sequence[StreamRow], keep_columns: Sequence[str] = ()) -> list[dict]:
    """The output rows of `rows`: the valid ones classified (in one call), the bad ones with their reason."""
    probabilities = iter(classifier.probabilities([row.text for row in rows if row.text is not None]))
    return [
        _output_row(row, next(probabilities) if row.text is not None else None, classifier.label_names, keep_columns)
        for row in rows
    ]


def predict_texts(classifier, texts: Sequence[Any], *, language: str = "my", first_row: int = 0) -> list[dict]:
    """Output rows (as ``eval.py predict`` writes them) for a batch of raw texts in memory: each validated,
    preprocessed and classified as a file's rows are, bad ones with their reason. For engines that hand out
    batches themselves (docs/evaluation.md: Ray Data's ``map_batches``)."""
    rows: list[StreamRow] = []
    stream_texts(texts, rows.append, language=language, first_index=first_row, name="batch")
    return classified(classifier, rows)


def predict_corpus(
    classifier,
    data: str | os.PathLike,
    output_dir: str | os.PathLike,
    *,
    data_format: str | None = None,
    text_column: str = "text",
    keep_columns: Sequence[str] = (),
    language: str = "my",
    split: str = "train",
    encoding: str | None = None,
    revision: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    output_format: str = "jsonl",
    rank: int = 0,
    world_size: int = 1,
    resume: bool = True,
    progress: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> dict:
    """Classifies every row of `data` that belongs to process `rank` and writes its shard in `output_dir`.

    Args:
        classifier (:class:`~modeling_ctam.serving.Classifier`): the model
            (:func:`~modeling_ctam.serving.load_classifier` gives one).
        data (`str` or `os.PathLike`): input file, folder of shards, or Hub dataset id (:func:`stream_rows`).
        output_dir (`str` or `os.PathLike`): where the shards and manifests go.
        data_format, text_column, keep_columns, language, split, encoding, revision: as in :func:`stream_rows`.
        chunk_size (`int`, *optional*, defaults to 1024): rows of this process classified and written at a time (a
            resumed run restarts at the last written chunk).
        output_format (`str`, *optional*, defaults to `"jsonl"`): ``"parquet"`` also writes each finished shard
            as Parquet (the JSON Lines shard stays: it is what a resumed run continues).
        rank (`int`, *optional*, defaults to 0), world_size (`int`, *optional*, defaults to 1): this process, and
            how many share the input (row ``i`` goes to process ``i % world_size``).
        resume (`bool`, *optional*, defaults to `True`): continue the shard a killed run left; `False` starts it
            again.
        progress (`bool`, *optional*, defaults to `True`): show a progress bar with rows per second.
        extra (`Mapping`, *optional*): more fields for the shard manifest (e.g. the command line).

    Returns:
        `dict`: this shard's manifest.
    """
    from tqdm.auto import tqdm

    from ..data.rows import check_choice

    check_choice("output_format", output_format, OUTPUT_FORMATS)
    if chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size} must be >= 1.")
    settings = run_settings(
        classifier,
        data,
        data_format=data_format,
        text_column=text_column,
        keep_columns=keep_columns,
        language=language,
        split=split,
        chunk_size=chunk_size,
        world_size=world_size,
        encoding=encoding,
    )
    writer = ShardWriter(output_dir, rank, world_size, settings, resume=resume)
    if writer.done:
        writer.close()
        logger.info("%s is complete already (%d rows).", writer.path.name, writer.rows_written)
        return writer.state
    if writer.resumed:
        logger.info(
            "Resuming %s at input row %d (%d rows written).", writer.path.name, writer.next_row, writer.rows_written
        )
    chunk: list[StreamRow] = []
    bar = tqdm(
        desc=f"predict [{rank + 1}/{world_size}]",
        unit=" rows",
        initial=writer.rows_written,
        disable=not progress,
        dynamic_ncols=True,
        mininterval=1.0,
    )
    labels = classifier.label_names

    def flush(next_row: int) -> None:
        truncated_before = classifier.num_truncated
        rows = classified(classifier, chunk, keep_columns)
        writer.write_chunk(rows, next_row, classifier.num_truncated - truncated_before)
        bar.update(len(chunk))
        chunk.clear()

    def on_row(row: StreamRow) -> None:
        chunk.append(row)
        if len(chunk) == chunk_size:
            flush(row.index + 1)

    try:
        stats = stream_rows(
            data,
            on_row,
            data_format=data_format,
            text_column=text_column,
            keep_columns=keep_columns,
            language=language,
            split=split,
            encoding=encoding,
            start=writer.next_row,
            rank=rank,
            world_size=world_size,
            revision=revision,
        )
        flush(stats.rows_read)  # the last, partial chunk (possibly empty): records the end of the input
    except BaseException:
        writer.close()
        raise
    finally:
        bar.close()
    finished = {"extra": dict(extra or {})}
    if output_format == "parquet":
        finished["parquet"] = write_parquet(
            writer.path, writer.path.with_suffix(".parquet"), labels, keep_columns
        ).name
    return writer.finish(stats.rows_read, finished)


def write_parquet(
    jsonl: Path, parquet: Path, labels: Sequence[str], keep_columns: Sequence[str], block_rows: int = 20_000
) -> Path:
    """Copies a finished JSON Lines shard to Parquet, `block_rows` rows at a time (memory stays flat)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    fixed = [("row", pa.int64()), ("source", pa.string()), ("label", pa.string())]
    fixed += [(probability_key(name), pa.float64()) for name in labels]
    fixed += [("encoding", pa.string()), ("reason", pa.string()), ("error", pa.string())]
    schema, writer = None, None
    tmp = parquet.with_name(f".{parquet.name}.tmp")
    try:
        with open(jsonl, encoding="utf-8") as handle:
            while True:
                block = [json.loads(line) for _, line in zip(range(block_rows), handle)]
                if not block:
                    break
                if schema is None:
                    keys = [kept_key(c, labels) for c in keep_columns]
                    kept = pa.Table.from_pylist([{k: r.get(k) for k in keys} for r in block]).schema
                    schema = pa.schema(
                        fixed
                        + [(k, kept.field(k).type if kept.field(k).type != pa.null() else pa.string()) for k in keys]
                    )
                    writer = pq.ParquetWriter(tmp, schema)
                try:
                    writer.write_table(pa.Table.from_pylist(block, schema=schema))
                except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
                    raise ValueError(
                        f"{jsonl.name}: a kept column changes type between rows ({error}); keep the "
                        "JSON Lines output, or keep columns of one type."
                    ) from error
        if writer is None:
            keys = [kept_key(c, labels) for c in keep_columns]
            writer = pq.ParquetWriter(tmp, pa.schema(fixed + [(k, pa.string()) for k in keys]))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, parquet)
    return parquet


def process_identity() -> tuple[int, int, int, Any]:
    """``(rank, world_size, local_world_size, state)`` of this process: accelerate's when launched with
    ``accelerate launch`` (or ``torchrun``), else ``(0, 1, 1, None)``. Without a GPU the processes meet over gloo on
    the CPU."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return 0, 1, 1, None
    import torch
    from accelerate import PartialState

    state = PartialState(cpu=not torch.cuda.is_available())
    if state.num_processes != world_size:  # never let several processes write one shard
        raise RuntimeError(
            f"WORLD_SIZE is {world_size} but accelerate set up {state.num_processes} process(es); "
            "launch with a multi-process configuration (docs/evaluation.md)."
        )
    local = int(os.environ.get("LOCAL_WORLD_SIZE", state.num_processes))
    return state.process_index, state.num_processes, local, state


def finish_run(output_dir: str | os.PathLike, world_size: int, state=None, extra: Mapping[str, Any] | None = None):
    """After every process wrote its shard: the main process merges the manifests into ``manifest.json``. Returns
    the merged manifest on the main process, `None` on the others."""
    if state is not None:
        state.wait_for_everyone()
        if not state.is_main_process:
            return None
    return merge_manifests(output_dir, world_size, extra)


__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MANIFEST",
    "OUTPUT_FORMATS",
    "finish_run",
    "predict_corpus",
    "probability_key",
    "process_identity",
    "run_settings",
    "shard_stem",
    "write_parquet",
]
