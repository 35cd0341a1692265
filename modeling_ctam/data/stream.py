# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Unlabelled rows of any size, a row at a time: the input side of corpus-scale prediction (``eval.py predict``).

:func:`stream_rows` reads CSV / TSV, JSON Lines, Parquet, a folder of such shards, or a Hub dataset with
``streaming=True``, and hands every row to a callback as a :class:`StreamRow`, in input order, without ever holding
the input: local files go through the format readers of :mod:`.readers` line by line (so a bad row names its file
and line as everywhere else), Parquet through ``pyarrow`` a record batch at a time, Hub datasets through
``datasets``' streaming. JSON arrays (``json``, ``gklmip-json``) are read whole (their reader needs the whole text);
use JSON Lines, CSV or Parquet for large inputs.

Each row carries its number ``index`` (0-based, over every record of the input: header and blank lines are not
records), its location (``file.csv:17``, ``part-0.parquet[41]``, ``owner/name:train:5``), and either the
preprocessed text with the encoding that :func:`~.burmese.preprocess_with_encoding` detected, or the reason it is
a bad row (:data:`~.rows.BAD_ROW_REASONS`: ``empty_text``, ``invalid_utf8``, ``text_too_long``, ``missing_field``,
``bad_record``, ``wrong_column_count``, and ``not_burmese`` for Burmese input without a Myanmar character). Bad rows
are counted per reason in the :class:`~.rows.LoadStats`, never dropped silently.

Rows can be split between processes (row ``i`` goes to process ``i % world_size``) and skipped up to a resume
position; rows that are not read are not validated either, so a resumed or sharded reader spends nothing on them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .formats import HUB_DATASETS, resolve_format, shard_files
from .readers import add_record, read_file
from .rows import DEFAULT_MAX_CHARS, LoadStats, RowSink, check_choice, is_utf8, load_burmese

logger = logging.getLogger(__name__)

STREAM_FORMATS = ("csv", "jsonl", "parquet", "hub", "json", "gklmip-json")
"""The formats :func:`stream_rows` reads (``json`` and ``gklmip-json`` are read whole, the others streamed)."""

_PARQUET_BATCH = 2048


@dataclass
class StreamRow:
    """One input row, valid (``text`` set) or bad (``reason`` set)."""

    index: int = field(metadata={"help": "Row number in the input (0-based, over all records)."})
    location: str = field(metadata={"help": "Where it came from: file:line, file[i] or hub-id:split:i."})
    text: str | None = field(default=None, metadata={"help": "The preprocessed text (None for a bad row)."})
    encoding: str | None = field(default=None, metadata={"help": "'unicode', 'zawgyi' or None (no Burmese)."})
    reason: str | None = field(default=None, metadata={"help": "Why the row is bad (one of BAD_ROW_REASONS)."})
    message: str | None = field(default=None, metadata={"help": "The bad row's message, with its location."})
    record: Mapping[str, Any] | None = field(default=None, metadata={"help": "The input record (keep_columns)."})


class _StreamSink(RowSink):
    """A row sink that validates and preprocesses rows like every reader, then hands each one on instead of keeping
    it. Rows of other processes, and rows before the resume position, are counted as read and nothing more."""

    def __init__(
        self,
        stats: LoadStats,
        on_row: Callable[[StreamRow], None],
        *,
        language: str,
        max_chars,
        check_utf8: bool,
        keep_records: bool,
        start: int,
        rank: int,
        world_size: int,
    ):
        super().__init__(
            stats,
            kind=None,
            labels="raw",
            label_map=None,
            on_error="skip",
            max_chars=max_chars,
            language=language,
            check_utf8=check_utf8,
        )
        self.on_row, self.start, self.rank, self.world_size = on_row, start, rank, world_size
        self.wants_records = keep_records
        self.check_burmese = language == "my"
        if self._preprocess is not None:
            self._preprocess = self._preprocess_and_detect
        self._record: Mapping[str, Any] | None = None
        self._encoding: str | None = None

    def mine(self, index: int) -> bool:
        return index >= self.start and index % self.world_size == self.rank

    def _preprocess_and_detect(self, text: str) -> str:
        text, self._encoding = load_burmese().preprocess_with_encoding(text)
        return text

    def add(self, location: str, text: Any, raw_label: Any = None, record: Mapping[str, Any] | None = None) -> None:
        if not self.mine(self.stats.rows_read):
            self.stats.rows_read += 1
            return
        self._record, self._encoding = record, None
        try:
            super().add(location, text, raw_label, record)
        finally:
            self._record = None

    def bad(self, location: str, reason: str, message: str) -> None:
        index = self.stats.rows_read - 1  # the reader (or `add`) has counted the row already
        if not self.mine(index):
            return
        super().bad(location, reason, message)
        self.on_row(StreamRow(index, location, reason=reason, message=f"{location}: {message}", record=self._record))

    def _keep(self, location: str, text: str, label_id: int) -> None:
        if self.check_burmese and not load_burmese().contains_myanmar(text):
            self.bad(location, "not_burmese", "no Burmese (Myanmar) character in the text")
            return
        self.stats.rows_kept += 1
        encoding = self._encoding if self._preprocess is not None else None
        self.on_row(StreamRow(self.stats.rows_read - 1, location, text, encoding, record=self._record))


def input_files(data: str | os.PathLike, data_format: str | None = None) -> tuple[str, list[Path]]:
    """``(format, files)`` of a local input: one file, or the shard files of a folder in name order.

    Raises:
        FileNotFoundError: a missing path.
        ValueError: a folder without data files, shards of several kinds, an unknown format.
    """
    path = Path(data).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"--data {data} does not exist.")
    files = shard_files(path) if path.is_dir() else [path]
    if data_format is None:
        data_format = "parquet" if files[0].suffix.lower() == ".parquet" else resolve_format(files[0])
    check_choice("data_format", data_format, STREAM_FORMATS)
    if data_format == "hub":
        raise ValueError(f"{data} is a local path, but --data-format hub was given.")
    return data_format, files


def is_local_input(data: str | os.PathLike, data_format: str | None) -> bool:
    """Whether ``data`` is read from disk (an existing path) rather than streamed from the Hub."""
    return data_format != "hub" and Path(data).expanduser().exists()


def stream_rows(
    data: str | os.PathLike,
    on_row: Callable[[StreamRow], None],
    *,
    data_format: str | None = None,
    text_column: str = "text",
    keep_columns: Sequence[str] = (),
    language: str = "my",
    split: str = "train",
    encoding: str | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    start: int = 0,
    rank: int = 0,
    world_size: int = 1,
    revision: str | None = None,
    stats: LoadStats | None = None,
) -> LoadStats:
    """Reads ``data`` row by row and calls ``on_row`` with each :class:`StreamRow` this process owns, in order.

    Args:
        data (`str` or `os.PathLike`): a CSV / TSV, JSON Lines or Parquet file, a folder of such shards, a JSON
            array file, or a Hub dataset id (read with ``datasets.load_dataset(..., streaming=True)``).
        on_row (`Callable[[StreamRow], None]`): called once per row of this process, valid or bad.
        data_format (`str`, *optional*): one of :data:`STREAM_FORMATS`; inferred from the file names when omitted
            (``.csv``/``.tsv`` csv, ``.jsonl`` jsonl, ``.parquet`` parquet, an ``owner/name`` id hub).
        text_column (`str`, *optional*, defaults to `"text"`): the column or field holding the text.
        keep_columns (`Sequence[str]`, *optional*): columns whose values travel with each row (``StreamRow.record``).
            A column missing from a CSV header or a Parquet schema is an error before any row is read.
        language (`str`, *optional*, defaults to `"my"`): ``"my"`` runs Burmese preprocessing and Zawgyi detection,
            and makes rows without a Myanmar character bad (``not_burmese``); ``"en"`` only strips.
        split (`str`, *optional*, defaults to `"train"`): the Hub split.
        encoding (`str`, *optional*): text encoding of local files (default UTF-8).
        max_chars (`int`, *optional*, defaults to 10000): longer texts are bad rows (``text_too_long``).
        start (`int`, *optional*, defaults to 0): rows before this index are skipped (a resumed run).
        rank (`int`, *optional*, defaults to 0), world_size (`int`, *optional*, defaults to 1): this process takes
            the rows with ``index % world_size == rank``.
        revision (`str`, *optional*): Hub revision of the dataset.
        stats (`LoadStats`, *optional*): counts to add to (a resumed run's); a new one otherwise.

    Returns:
        `LoadStats`: ``rows_read`` counts every record of the input; ``rows_kept`` and ``skipped`` (per reason)
        count this process's rows from ``start`` on.
    """
    check_choice("language", language, ("en", "my"))
    if not 0 <= rank < world_size:
        raise ValueError(f"rank={rank} must be in [0, world_size={world_size}).")
    local = is_local_input(data, data_format)
    data_format, files = input_files(data, data_format) if local else ("hub", [])
    stats = stats or LoadStats(source=Path(str(data)).name, data_format=data_format, language=language)
    stats.rows_read = 0  # the row counter: every record from the start, whatever was read before
    encoding = encoding or "utf-8"
    sink = _StreamSink(
        stats,
        on_row,
        language=language,
        max_chars=max_chars,
        check_utf8=is_utf8(encoding),
        keep_records=bool(keep_columns),
        start=start,
        rank=rank,
        world_size=world_size,
    )
    if data_format == "hub":
        _stream_hub(str(data), sink, split, text_column, keep_columns, revision)
    elif data_format == "parquet":
        for path in files:
            _stream_parquet(path, sink, text_column, keep_columns)
    else:
        for path in files:
            if keep_columns and data_format == "csv":
                _check_csv_header(path, encoding, text_column, keep_columns)
            read_file(path, data_format, sink, encoding, text_column, None)
    sink.finish()  # one warning with the bad rows' counts and first locations
    return stats


def stream_texts(
    texts: Sequence[Any],
    on_row: Callable[[StreamRow], None],
    *,
    language: str = "my",
    max_chars: int | None = DEFAULT_MAX_CHARS,
    first_index: int = 0,
    name: str = "texts",
) -> LoadStats:
    """Validates and preprocesses texts already in memory (a batch of a Ray / Spark / pandas job) exactly as
    :func:`stream_rows` does a file's rows, and calls ``on_row`` for each, valid or bad. Row ``i`` of `texts` gets
    the index ``first_index + i`` and the location ``name[first_index + i]``."""
    check_choice("language", language, ("en", "my"))
    stats = LoadStats(source=name, data_format="texts", language=language)
    stats.rows_read = first_index
    sink = _StreamSink(
        stats,
        on_row,
        language=language,
        max_chars=max_chars,
        check_utf8=True,
        keep_records=False,
        start=0,
        rank=0,
        world_size=1,
    )
    for index, text in enumerate(texts, start=first_index):
        sink.add(f"{name}[{index}]", text)
    return stats


def _check_csv_header(path: Path, encoding: str, text_column: str, keep_columns: Sequence[str]) -> None:
    import csv

    from .readers import open_text_file, without_bom
    from .rows import DataFormatError

    with open_text_file(path, encoding, newline="") as handle:
        header = [
            h.strip()
            for h in next(
                csv.reader(without_bom(handle), delimiter="\t" if path.suffix.lower() == ".tsv" else ","), []
            )
        ]
    missing = [c for c in keep_columns if c not in header]
    if missing and header:
        raise DataFormatError(
            f"{path.name}:1",
            "file",
            f"no column {missing[0]!r} to keep in the header ({', '.join(map(repr, header))}); check --keep-columns",
        )


def _stream_parquet(path: Path, sink: _StreamSink, text_column: str, keep_columns: Sequence[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .rows import DataFormatError

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, pa.ArrowInvalid) as error:  # not a Parquet file, or a truncated one
        raise DataFormatError(path.name, "file", f"not a readable Parquet file ({error})") from None
    names = parquet.schema_arrow.names
    wanted = list(dict.fromkeys([text_column, *keep_columns]))
    missing = [c for c in wanted if c not in names]
    if missing:
        raise DataFormatError(
            path.name,
            "file",
            f"no column {missing[0]!r} (columns: {', '.join(names)}); pass --text-column / --keep-columns",
        )
    number = 0
    for batch in parquet.iter_batches(batch_size=_PARQUET_BATCH, columns=wanted):
        for record in batch.to_pylist():
            add_record(sink, f"{path.name}[{number}]", record, text_column, None)
            number += 1


def _stream_hub(
    repo_id: str, sink: _StreamSink, split: str, text_column: str, keep_columns: Sequence[str], revision: str | None
) -> None:
    import datasets

    spec = HUB_DATASETS.get(repo_id)
    try:
        dataset = datasets.load_dataset(
            repo_id, name=spec.config_name if spec else None, split=split, revision=revision, streaming=True
        )
    except Exception as error:
        raise RuntimeError(f"Could not stream Hub dataset {repo_id!r} (split={split!r}): {error}") from error
    columns = getattr(dataset, "column_names", None)
    for column in [text_column, *keep_columns]:
        if columns is not None and column not in columns:
            raise ValueError(
                f"{repo_id}:{split}: no column {column!r} (columns: {', '.join(columns)}); pass "
                "--text-column / --keep-columns"
            )
    for number, record in enumerate(dataset):
        add_record(sink, f"{repo_id}:{split}:{number}", record, text_column, None)
