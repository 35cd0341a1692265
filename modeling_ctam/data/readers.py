# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The format readers, each written once: labelled corpora for training and evaluation (:func:`load_examples`), and
the same readers, unlabelled, for the alignment corpora (:mod:`modeling_ctam.data.corpus`).

:func:`load_examples` reads one labelled (or unlabelled) corpus and returns a :class:`datasets.Dataset` with the
columns ``text`` (`str`), ``label`` (`int`, ``-1`` when unlabelled) and ``source_line`` (`str`, where the row came
from, e.g. ``"train.tsv:17"``). Formats: GKLMIP JSON, SST-2 label-first TSV, UCI ``sentence<TAB>0|1``, MR (Latin-1
``rt-polarity.pos``/``.neg``), generic CSV / JSON / JSON Lines with a column mapping, plain text (one sentence a line,
unlabelled), and Hub ids through :func:`datasets.load_dataset`. Every reader feeds a :class:`~.rows.RowSink`, which
validates rows, maps labels (:mod:`.labels`) and counts what it kept.

Texts in language ``"my"`` go through :func:`modeling_ctam.data.burmese.preprocess` (Zawgyi detection and
conversion, normalisation) when loaded, and through the same function in
:func:`modeling_ctam.data.collator.tokenize_for_eval`, so the training and inference paths see identical text.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

from .formats import HUB_DATASETS, MR_FILES, HubDatasetSpec, resolve_format, shard_files
from .labels import LABEL_CHOICES, LABEL_SCHEMES, SOURCE_LABEL_KINDS
from .rows import (
    DEFAULT_MAX_CHARS,
    LANGUAGES,
    ON_ERROR_CHOICES,
    DataFormatError,
    LoadStats,
    RowSink,
    check_choice,
    get_load_stats,
    is_utf8,
)


def read_text_file(path: Path, encoding: str) -> str:
    """Whole file as text. UTF-8 files keep undecodable bytes as lone surrogates, reported per row later."""
    data = path.read_bytes()
    if is_utf8(encoding):
        text = data.decode("utf-8", errors="surrogateescape")
        return text[1:] if text.startswith("\ufeff") else text
    return data.decode(encoding)


def open_text_file(path: Path, encoding: str, newline: str | None):
    """The file opened for reading as text a line at a time (never whole): UTF-8 keeps undecodable bytes as lone
    surrogates, as :func:`read_text_file` does."""
    errors = "surrogateescape" if is_utf8(encoding) else "strict"
    return open(path, encoding="utf-8" if is_utf8(encoding) else encoding, errors=errors, newline=newline)


def without_bom(lines: Iterator[str]) -> Iterator[str]:
    for number, line in enumerate(lines):
        yield line[1:] if number == 0 and line.startswith("\ufeff") else line


def streamed_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """What :func:`numbered_lines` gives for the file's text, read a line at a time (memory flat whatever the size)."""
    with open_text_file(path, encoding, newline="\n") as handle:
        for number, line in enumerate(without_bom(handle), start=1):
            line = line[:-1] if line.endswith("\n") else line
            yield number, line[:-1] if line.endswith("\r") else line


def numbered_lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its end) for every line, without a phantom last line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        yield number, line[:-1] if line.endswith("\r") else line


def split_tsv(line: str, expected: int) -> list[str]:
    """Tab-split fields; empty trailing fields beyond ``expected`` (a stray final tab) are ignored."""
    parts = line.split("\t")
    while len(parts) > expected and not parts[-1].strip():
        parts.pop()
    return parts


def tsv_rows(
    lines: Iterator[tuple[int, str]], sink: RowSink, name: str, expected: int, wrong_count: str
) -> Iterator[tuple[str, list[str]]]:
    """``(location, fields)`` of the well-formed rows of a TSV; blank lines are counted, rows with another number of
    fields are reported as ``wrong_column_count`` with `wrong_count` (a format string with ``{n}``)."""
    for number, line in lines:
        location = f"{name}:{number}"
        if line == "":
            sink.stats.blank_lines += 1
            continue
        parts = split_tsv(line, expected)
        if len(parts) != expected:
            sink.stats.rows_read += 1
            sink.bad(location, "wrong_column_count", wrong_count.format(n=len(parts)))
            continue
        yield location, parts


def read_sst2_rows(path: Path, sink: RowSink, encoding: str) -> None:
    name = path.name
    lines = numbered_lines(read_text_file(path, encoding))
    try:
        _, header_line = next(lines)
    except StopIteration:
        raise DataFormatError(f"{name}:1", "file", "empty file (expected a header 'label<TAB>sentence')") from None
    header = [h.strip().lower() for h in header_line.split("\t")]
    if len(header) != 2 or "label" not in header:
        raise DataFormatError(
            f"{name}:1",
            "file",
            f"expected a header 'label<TAB>sentence' (SST-2 label-first TSV), got {header_line!r:.80}",
        )
    label_index = header.index("label")
    wrong = "expected 2 tab-separated columns (label, sentence), got {n}"
    for location, parts in tsv_rows(lines, sink, name, 2, wrong):
        sink.add(location, parts[1 - label_index], parts[label_index])


def read_uci_rows(path: Path, sink: RowSink, encoding: str) -> None:
    wrong = "expected 2 tab-separated columns (sentence, 0|1), got {n}"
    for location, parts in tsv_rows(numbered_lines(read_text_file(path, encoding)), sink, path.name, 2, wrong):
        sink.add(location, parts[0], parts[1])


def _read_mr_file(path: Path, sink: RowSink, encoding: str, label: int | None) -> None:
    name = path.name
    for number, line in numbered_lines(read_text_file(path, encoding)):
        if line == "":
            sink.stats.blank_lines += 1
            continue
        sink.add(f"{name}:{number}", line, label)


def _read_mr(path: Path, sink: RowSink, encoding: str) -> None:
    if path.is_dir():
        for index, file_name in enumerate(MR_FILES):  # neg (0) first, then pos (1)
            file_path = path / file_name
            if not file_path.is_file():
                raise DataFormatError(str(path.name), "file", f"MR folder lacks {file_name}")
            _read_mr_file(file_path, sink, encoding, index)
        return
    if path.name.endswith(".pos"):
        _read_mr_file(path, sink, encoding, 1)
    elif path.name.endswith(".neg"):
        _read_mr_file(path, sink, encoding, 0)
    else:
        raise DataFormatError(path.name, "file", "an MR file must end in .pos or .neg (or pass the folder)")


def read_plain_rows(path: Path, sink: RowSink, encoding: str) -> None:
    """Plain text, one unlabelled sentence a line (alignment corpora)."""
    _read_mr_file(path, sink, encoding, None)


def add_record(sink: RowSink, location: str, record: Any, text_column: str, label_column: str | None) -> None:
    if not isinstance(record, dict):
        sink.stats.rows_read += 1
        sink.bad(location, "bad_record", f"expected a JSON object, got {type(record).__name__}")
        return
    for column in (text_column, label_column):
        if column is not None and column not in record:
            sink.stats.rows_read += 1
            sink.bad(location, "missing_field", f"missing field {column!r} (fields: {', '.join(map(repr, record))})")
            return
    raw_label = record[label_column] if label_column is not None else None
    if label_column is not None and raw_label is None:
        sink.stats.rows_read += 1
        sink.bad(location, "missing_field", f"field {label_column!r} is null")
        return
    sink.add(location, record[text_column], raw_label, record=record)


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def read_json_rows(path: Path, sink: RowSink, encoding: str, text_column: str, label_column: str | None) -> None:
    """A JSON array of objects (location ``name[i]``), or JSON Lines when the file does not start with ``[``."""
    name = path.name
    text = read_text_file(path, encoding)
    start = _skip_ws(text, 0)
    if start >= len(text):
        raise DataFormatError(f"{name}:1", "file", "empty file (expected a JSON array of objects)")
    if text[start] == "{":
        _refuse_single_object(name, text)
    if text[start] != "[":
        _read_jsonl_text(name, text, sink, text_column, label_column)
        return
    decoder = json.JSONDecoder()
    index = _skip_ws(text, start + 1)
    record_number = 0
    line, line_pos = 1, 0
    if index < len(text) and text[index] == "]":
        return
    while True:
        line += text.count("\n", line_pos, index)
        line_pos = index
        try:
            record, end = decoder.raw_decode(text, index)
        except json.JSONDecodeError as error:
            location = f"{name}:{error.lineno}:{error.colno}"
            raise DataFormatError(location, "file", f"invalid JSON: {error.msg}") from None
        add_record(sink, f"{name}[{record_number}]", record, text_column, label_column)
        record_number += 1
        index = _skip_ws(text, end)
        if index < len(text) and text[index] == ",":
            index = _skip_ws(text, index + 1)
            continue
        if index < len(text) and text[index] == "]":
            break
        line += text.count("\n", line_pos, index)
        raise DataFormatError(f"{name}:{line}", "file", "invalid JSON: expected ',' or ']' after an array element")


def _refuse_single_object(name: str, text: str) -> None:
    """A .json file that is one JSON object (not a list of records, not JSON Lines) is refused, naming a key that
    holds the records when there is one; JSON Lines (several objects, one a line) pass."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return  # several values: JSON Lines, read line by line
    if not isinstance(value, dict):
        return
    lists = [key for key, item in value.items() if isinstance(item, list) and item and isinstance(item[0], dict)]
    hint = (
        f"; its key {lists[0]!r} holds a list of {len(value[lists[0]])} records: save that list as the file"
        if lists
        else f" (keys: {', '.join(map(repr, list(value)[:8]))})"
    )
    raise DataFormatError(
        f"{name}:1",
        "file",
        "the file holds one JSON object, not a list of records "
        f"([{{...}}, {{...}}]) or JSON Lines (one object a line){hint}. A file of one record "
        "in JSON Lines form is read with --data-format jsonl",
    )


def _read_jsonl_text(name: str, text: str, sink: RowSink, text_column: str, label_column: str | None) -> None:
    read_jsonl_lines(name, numbered_lines(text), sink, text_column, label_column)


def read_jsonl_lines(
    name: str, lines: Iterator[tuple[int, str]], sink: RowSink, text_column: str, label_column: str | None
) -> None:
    for number, line in lines:
        location = f"{name}:{number}"
        if not line.strip():
            sink.stats.blank_lines += 1
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            sink.stats.rows_read += 1
            sink.bad(location, "bad_record", f"invalid JSON at column {error.colno}: {error.msg}")
            continue
        add_record(sink, location, record, text_column, label_column)


def read_csv_rows(
    path: Path, sink: RowSink, encoding: str, text_column: str, label_column: str | None, delimiter: str
) -> None:
    with open_text_file(path, encoding, newline="") as handle:  # streamed: csv reads a line at a time
        _read_csv_reader(
            path.name, csv.reader(without_bom(handle), delimiter=delimiter), sink, text_column, label_column
        )


def _read_csv_reader(name: str, reader, sink: RowSink, text_column: str, label_column: str | None) -> None:
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(f"{name}:1", "file", "empty file (expected a header row)") from None
    header = [h.strip() for h in header]
    for column in (text_column, label_column):
        if column is not None and column not in header:
            raise DataFormatError(
                f"{name}:1",
                "file",
                f"no column {column!r} in the header ({', '.join(map(repr, header))}); "
                "pass --text-column / --label-column (eval.py; text_column= / label_column= in load_examples, "
                "label_column=None for unlabelled data)",
            )
    text_index = header.index(text_column)
    label_index = header.index(label_column) if label_column is not None else None
    previous_end = reader.line_num
    for row in reader:
        location = f"{name}:{previous_end + 1}"
        previous_end = reader.line_num
        if not row:
            sink.stats.blank_lines += 1
            continue
        if len(row) != len(header):
            sink.stats.rows_read += 1
            sink.bad(
                location, "wrong_column_count", f"expected {len(header)} columns as in the header, got {len(row)}"
            )
            continue
        sink.add(
            location,
            row[text_index],
            row[label_index] if label_index is not None else None,
            record=dict(zip(header, row)) if sink.wants_records else None,
        )


def _label_feature(labels: str, kind: str | None):
    from datasets import ClassLabel, Value

    if labels in LABEL_SCHEMES:
        return ClassLabel(names=LABEL_SCHEMES[labels])
    return Value("int64")


def _build_dataset(sink: RowSink):
    from datasets import Dataset, DatasetInfo, Features, Value

    sink.finish()
    features = Features(
        {"text": Value("string"), "label": _label_feature(sink.labels, sink.kind), "source_line": Value("string")}
    )
    return Dataset.from_dict(
        {"text": sink.texts, "label": sink.label_ids, "source_line": sink.locations},
        features=features,
        info=DatasetInfo(description=sink.stats.to_json(), features=features),
    )


_FORMAT_KIND = {"gklmip-json": "stars", "sst2-tsv": "binary", "uci-tsv": "binary", "mr": "binary"}
_FORMAT_LANGUAGE = {"gklmip-json": "my"}


def load_examples(
    path_or_id: str | os.PathLike,
    data_format: str | None = None,
    *,
    split: str = "train",
    labels: str = "binary",
    text_column: str = "text",
    label_column: str | None = "label",
    source_labels: str | None = None,
    label_map: Mapping[Any, Any] | None = None,
    on_error: str = "raise",
    language: str | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
    encoding: str | None = None,
    delimiter: str | None = None,
    hub_config: str | None = None,
    revision: str | None = None,
    return_stats: bool = False,
):
    """Reads a sentiment corpus into a :class:`datasets.Dataset` with columns ``text``, ``label``, ``source_line``.

    Args:
        path_or_id (`str` or `os.PathLike`):
            A local file or folder (e.g. ``modeling_ctam.utils.paths.data_path("en", "sst2", "dev.tsv")``) or a Hub
            dataset id (``"fancyzhx/yelp_polarity"``, ``"Yelp/yelp_review_full"``, ``"SEACrowd/gklmip_sentiment"``).
        data_format (`str`, *optional*):
            One of :data:`DATA_FORMATS`; ``None`` infers it with :func:`resolve_format`.
        split (`str`, *optional*, defaults to `"train"`):
            Split to load from the Hub (any slice ``datasets`` accepts, e.g. ``"train[:10%]"``). Local files are one
            split each, and ignore it.
        labels (`str`, *optional*, defaults to `"binary"`):
            ``"binary"``, ``"three-class"``, ``"five-class"`` or ``"raw"`` (see the module docstring). Star ratings
            of 3 are dropped (and counted in ``LoadStats.dropped``) under ``"binary"``. Binary sources with three or
            five classes raise.
        text_column (`str`, *optional*, defaults to `"text"`):
            Text column/field for ``csv``, ``json``, ``jsonl`` and ``hub``.
        label_column (`str`, *optional*, defaults to `"label"`):
            Label column/field for ``csv``, ``json``, ``jsonl`` and ``hub``; ``None`` loads unlabelled data
            (``label == -1``).
        source_labels (`str`, *optional*):
            What the raw labels mean, one of :data:`SOURCE_LABEL_KINDS` (``"binary"`` 0/1, ``"stars"`` 1..5,
            ``"stars0"`` 0..4, ``"three-class"`` 0/1/2). Fixed for the named formats and known Hub ids; defaults to
            ``"binary"`` for generic files.
        label_map (`Mapping`, *optional*):
            Maps raw label values (compared as stripped strings, e.g. ``{"neg": 0, "pos": 1}``) to labels of
            ``source_labels``. Values not in the map are unknown labels.
        on_error (`str`, *optional*, defaults to `"raise"`):
            ``"raise"`` stops at the first malformed row with a :class:`DataFormatError` naming file and line;
            ``"skip"`` skips malformed rows, counts them per reason and logs one warning. Errors about the whole file
            (missing header, broken JSON array) always raise.
        language (`str`, *optional*):
            ``"en"`` or ``"my"``; Burmese texts go through :func:`modeling_ctam.data.burmese.preprocess`. Defaults to
            ``"my"`` for GKLMIP (file or Hub) and ``"en"`` otherwise.
        max_chars (`int`, *optional*, defaults to 10000):
            Texts longer than this (after stripping) are malformed rows; ``None`` disables the check.
        encoding (`str`, *optional*):
            File encoding; defaults to ``"latin-1"`` for MR and ``"utf-8"`` otherwise. Undecodable bytes in a UTF-8
            file are malformed rows (reason ``invalid_utf8``).
        delimiter (`str`, *optional*):
            CSV delimiter; defaults to a tab for ``.tsv`` files and ``","`` otherwise.
        hub_config (`str`, *optional*): configuration name for ``datasets.load_dataset``.
        revision (`str`, *optional*): Hub revision to pin (recommended for reproducibility).
        return_stats (`bool`, *optional*, defaults to `False`): also return the :class:`LoadStats`.

    Returns:
        :class:`datasets.Dataset` (or ``(dataset, stats)`` with ``return_stats=True``). ``label`` is a
        :class:`datasets.ClassLabel` of the scheme (``-1`` = unlabelled) unless ``labels="raw"``. The statistics are
        also stored in ``dataset.info.description``; read them with :func:`get_load_stats`.

    Raises:
        DataFormatError: a malformed row with ``on_error="raise"``, or a malformed file (always).
        ValueError: bad arguments, or a binary source asked for three classes.
        FileNotFoundError: a missing local file.

    Example:

    ```python
    >>> from modeling_ctam.data import load_examples, get_load_stats
    >>> from modeling_ctam.utils.paths import data_path
    >>> train = load_examples(data_path("my", "gklmip", "product_sentiment_dataset_train.json"))
    >>> len(train), get_load_stats(train).dropped
    (2392, {'3_star_in_binary': 100})
    ```
    """
    check_choice("labels", labels, LABEL_CHOICES)
    check_choice("on_error", on_error, ON_ERROR_CHOICES)
    if language is not None:
        check_choice("language", language, LANGUAGES)
    if source_labels is not None:
        check_choice("source_labels", source_labels, tuple(SOURCE_LABEL_KINDS))
    if max_chars is not None and max_chars < 1:
        raise ValueError(f"max_chars={max_chars}: must be a positive number of characters, or None")

    data_format = resolve_format(path_or_id, data_format)
    if data_format == "hub":
        dataset = _load_hub(
            os.fspath(path_or_id),
            split=split,
            labels=labels,
            text_column=text_column,
            label_column=label_column,
            source_labels=source_labels,
            label_map=label_map,
            on_error=on_error,
            language=language,
            max_chars=max_chars,
            hub_config=hub_config,
            revision=revision,
        )
        return (dataset, get_load_stats(dataset)) if return_stats else dataset

    path = Path(path_or_id).expanduser()
    if data_format in _FORMAT_KIND:
        if source_labels is not None and source_labels != _FORMAT_KIND[data_format]:
            raise ValueError(
                f"data_format={data_format!r} has {_FORMAT_KIND[data_format]!r} labels; source_labels="
                f"{source_labels!r} does not apply (drop --source-labels, or pass another --data-format)."
            )
        kind: str | None = _FORMAT_KIND[data_format]
    else:
        kind = source_labels or "binary"
        if label_column is None:
            kind = None
    language = language or _FORMAT_LANGUAGE.get(data_format, "en")
    encoding = encoding or ("latin-1" if data_format == "mr" else "utf-8")
    stats = LoadStats(source=path.name, data_format=data_format, label_scheme=labels, language=language)
    sink = RowSink(
        stats,
        kind=kind,
        labels=labels,
        label_map=label_map,
        on_error=on_error,
        max_chars=max_chars,
        language=language,
        check_utf8=is_utf8(encoding),
    )
    read_file(path, data_format, sink, encoding, text_column, label_column, delimiter)
    dataset = _build_dataset(sink)
    return (dataset, stats) if return_stats else dataset


def read_file(
    path: Path,
    data_format: str,
    sink: RowSink,
    encoding: str,
    text_column: str,
    label_column: str | None,
    delimiter: str | None = None,
) -> None:
    """Feeds every row of a local file (or of each file of a folder of shards, in name order) to ``sink``."""
    if path.is_dir() and data_format != "mr":
        for shard in shard_files(path):
            read_file(shard, data_format, sink, encoding, text_column, label_column, delimiter)
    elif data_format == "sst2-tsv":
        read_sst2_rows(path, sink, encoding)
    elif data_format == "uci-tsv":
        read_uci_rows(path, sink, encoding)
    elif data_format == "mr":
        _read_mr(path, sink, encoding)
    elif data_format == "gklmip-json":
        read_json_rows(path, sink, encoding, "text", "label")
    elif data_format == "json":
        read_json_rows(path, sink, encoding, text_column, label_column)
    elif data_format == "jsonl":
        read_jsonl_lines(path.name, streamed_lines(path, encoding), sink, text_column, label_column)
    elif data_format == "csv":
        read_csv_rows(
            path,
            sink,
            encoding,
            text_column,
            label_column,
            delimiter or ("\t" if path.suffix.lower() == ".tsv" else ","),
        )
    else:  # pragma: no cover - resolve_format only returns DATA_FORMATS
        raise AssertionError(data_format)


def _load_hub(repo_id: str, *, split: str, hub_config: str | None, revision: str | None, **kwargs):
    """``datasets.load_dataset(repo_id, name=..., split=..., revision=...)`` then :func:`examples_from_hf_dataset`."""
    import datasets

    spec = HUB_DATASETS.get(repo_id)
    config_name = hub_config if hub_config is not None else (spec.config_name if spec else None)
    try:
        hf_dataset = datasets.load_dataset(repo_id, name=config_name, split=split, revision=revision)
    except Exception as error:
        hint = ""
        if repo_id == "SEACrowd/gklmip_sentiment":
            hint = (
                " This Hub dataset is defined by a loading script, which datasets>=4 no longer runs; read the "
                "GKLMIP JSON files instead (--data-format gklmip-json; data_format='gklmip-json' in load_examples)."
            )
        raise RuntimeError(
            f"Could not load Hub dataset {repo_id!r} (config={config_name!r}, split={split!r}): {error}.{hint}"
        ) from error
    return examples_from_hf_dataset(hf_dataset, name=f"{repo_id}:{split}", spec=spec, **kwargs)


def examples_from_hf_dataset(
    hf_dataset,
    *,
    name: str = "dataset",
    spec: HubDatasetSpec | None = None,
    labels: str = "binary",
    text_column: str = "text",
    label_column: str | None = "label",
    source_labels: str | None = None,
    label_map: Mapping[Any, Any] | None = None,
    on_error: str = "raise",
    language: str | None = None,
    max_chars: int | None = DEFAULT_MAX_CHARS,
):
    """Converts an already loaded :class:`datasets.Dataset` (Hub or ``load_from_disk``) like :func:`load_examples`.

    Rows are validated as for files; ``source_line`` is ``f"{name}:{row index}"``. With a ``spec`` (a known Hub
    dataset) its columns, label meaning and language are used unless given explicitly. Without ``source_labels``, a
    two-class :class:`datasets.ClassLabel` label is read as binary (index 0 negative, 1 positive); anything else needs
    ``source_labels=``.
    """
    from datasets import ClassLabel

    check_choice("labels", labels, LABEL_CHOICES)
    check_choice("on_error", on_error, ON_ERROR_CHOICES)
    if spec is not None:
        text_column = spec.text_column if text_column == "text" else text_column
        label_column = spec.label_column if label_column == "label" else label_column
        source_labels = source_labels or spec.source_labels
        language = language or spec.language
    language = language or "en"
    check_choice("language", language, LANGUAGES)
    columns = list(hf_dataset.column_names)
    for column in (text_column, label_column):
        if column is not None and column not in columns:
            raise ValueError(
                f"{name}: no column {column!r} (columns: {', '.join(columns)}); pass --text-column / --label-column "
                "(eval.py; text_column= / label_column= in load_examples)"
            )
    feature = hf_dataset.features.get(label_column) if label_column is not None else None
    class_names = list(feature.names) if isinstance(feature, ClassLabel) else None
    use_names = bool(spec and spec.use_class_names and class_names)
    if label_column is None:
        kind = None
    elif source_labels is not None:
        kind = source_labels
    elif class_names is not None and len(class_names) == 2:
        kind = "binary"
    elif label_map is not None:
        kind = "binary"
    else:
        raise ValueError(
            f"{name}: cannot tell what the labels of column {label_column!r} mean ({feature}); pass "
            f"--source-labels (eval.py; source_labels= in load_examples) one of {sorted(SOURCE_LABEL_KINDS)} (and "
            "label_map= if needed)."
        )
    stats = LoadStats(source=name, data_format="hub", label_scheme=labels, language=language)
    sink = RowSink(
        stats,
        kind=kind,
        labels=labels,
        label_map=label_map,
        on_error=on_error,
        max_chars=max_chars,
        language=language,
        check_utf8=True,
    )
    wanted = [c for c in (text_column, label_column) if c is not None]
    row = 0
    for batch in hf_dataset.select_columns(wanted).iter(batch_size=10_000):
        texts = batch[text_column]
        raw_labels = batch[label_column] if label_column is not None else [None] * len(texts)
        for text, raw in zip(texts, raw_labels):
            if use_names and isinstance(raw, int) and 0 <= raw < len(class_names):
                raw = class_names[raw]
            sink.add(f"{name}:{row}", text, raw)
            row += 1
    return _build_dataset(sink)


def drop_labels(dataset):
    """A copy of ``dataset`` with every ``label`` set to ``-1`` (unlabelled), e.g. Burmese data for zero-shot runs."""
    return dataset.map(lambda batch: {"label": [-1] * len(batch["label"])}, batched=True, desc="drop labels")
