# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Parallel (translation) corpora: English-Burmese sentence pairs from TALPCo and myXNLI.

:func:`load_parallel` returns the pairs as a :class:`datasets.Dataset` for ``pairing="parallel"`` training; the
per-format readers (:func:`read_id_file`, :func:`read_myxnli`) also give the one-language sentences of the alignment
corpora (:mod:`modeling_ctam.data.corpus`). Both sides are checked with the shared row rules (:mod:`.rows`).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from .readers import numbered_lines, read_text_file, split_tsv, tsv_rows
from .rows import (
    DEFAULT_MAX_CHARS,
    ON_ERROR_CHOICES,
    DataFormatError,
    LoadStats,
    RowSink,
    bad_byte_message,
    check_choice,
    load_burmese,
)

logger = logging.getLogger(__name__)

PARALLEL_FORMATS = ("talpco", "myxnli")
_MYXNLI_COLUMNS = ("genre", "label", "sentence1_en", "sentence2_en", "sentence1_my", "sentence2_my")


def _resolve_parallel_format(path: Path, data_format: str | None) -> str:
    if data_format is not None:
        check_choice("data_format", data_format, PARALLEL_FORMATS)
        return data_format
    if path.is_dir() and (path / "data_eng.txt").is_file() and (path / "data_myn.txt").is_file():
        return "talpco"
    if path.name in ("data_eng.txt", "data_myn.txt"):
        return "talpco"
    if path.suffix.lower() == ".tsv":
        return "myxnli"
    raise ValueError(f"{path.name}: cannot tell the parallel format; pass data_format= one of {PARALLEL_FORMATS}")


def load_parallel(
    path: str | os.PathLike,
    data_format: str | None = None,
    *,
    on_error: str = "raise",
    max_chars: int | None = DEFAULT_MAX_CHARS,
    deduplicate: bool = True,
    return_stats: bool = False,
):
    """Reads English-Burmese translation pairs into a :class:`datasets.Dataset`.

    Columns: ``source_text`` (English), ``target_text`` (Burmese, through
    :func:`modeling_ctam.data.burmese.preprocess`), ``source_label`` and ``label`` (both ``-1``: these corpora carry no
    sentiment labels), ``pair_id`` and ``source_line``.

    Args:
        path (`str` or `os.PathLike`):
            TALPCo: the folder holding ``data_eng.txt`` and ``data_myn.txt`` (``id<TAB>sentence``, aligned by id), or
            one of those files (its sibling is read too). myXNLI: ``my.genre.dev.tsv`` with the columns ``genre label
            sentence1_en sentence2_en sentence1_my sentence2_my``; each row gives two pairs (premise, hypothesis).
        data_format (`str`, *optional*): ``"talpco"`` or ``"myxnli"``; inferred from the name when ``None``.
        on_error (`str`, *optional*, defaults to `"raise"`):
            As in :func:`load_examples`. Ids present on one side only are ``unaligned_id`` rows.
        max_chars (`int`, *optional*, defaults to 10000): longest accepted sentence.
        deduplicate (`bool`, *optional*, defaults to `True`):
            Keep the first of identical (English, Burmese) pairs (myXNLI repeats each premise three times); the
            duplicates are counted in ``LoadStats.dropped["duplicate_pair"]``.
        return_stats (`bool`, *optional*, defaults to `False`): also return the :class:`LoadStats`.
    """
    check_choice("on_error", on_error, ON_ERROR_CHOICES)
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (parallel corpora live under CTAM_DATA_DIR/parallel).")
    data_format = _resolve_parallel_format(path, data_format)
    stats = LoadStats(source=path.name, data_format=data_format, label_scheme=None, language="en-my")
    checker = RowSink(
        stats,
        kind=None,
        labels="raw",
        label_map=None,
        on_error=on_error,
        max_chars=max_chars,
        language="en",
        check_utf8=True,
    )
    if data_format == "talpco":
        pairs = read_talpco(path, checker)
    else:
        pairs = read_myxnli(path, checker)

    preprocess = load_burmese().preprocess
    rows: dict[str, list[Any]] = {"pair_id": [], "source_text": [], "target_text": [], "source_line": []}
    seen: set[tuple[str, str]] = set()
    for pair_id, location, english, burmese in pairs:
        stats.rows_read += 1
        burmese = preprocess(burmese)
        if deduplicate and (english, burmese) in seen:
            stats.dropped["duplicate_pair"] = stats.dropped.get("duplicate_pair", 0) + 1
            continue
        seen.add((english, burmese))
        rows["pair_id"].append(pair_id)
        rows["source_text"].append(english)
        rows["target_text"].append(burmese)
        rows["source_line"].append(location)
        stats.rows_kept += 1
    stats.label_counts = {"-1": stats.rows_kept}
    if stats.skipped:
        logger.warning(
            "%s: skipped %d bad rows (%s). First ones:\n  %s",
            stats.source,
            stats.num_skipped,
            ", ".join(f"{k}: {v}" for k, v in sorted(stats.skipped.items())),
            "\n  ".join(stats.first_skipped),
        )

    from datasets import Dataset, DatasetInfo, Features, Value

    n = len(rows["pair_id"])
    rows["source_label"] = [-1] * n
    rows["label"] = [-1] * n
    features = Features(
        {
            "pair_id": Value("string"),
            "source_text": Value("string"),
            "target_text": Value("string"),
            "source_line": Value("string"),
            "source_label": Value("int64"),
            "label": Value("int64"),
        }
    )
    dataset = Dataset.from_dict(
        rows, features=features, info=DatasetInfo(description=stats.to_json(), features=features)
    )
    return (dataset, stats) if return_stats else dataset


def _checked_sentence(checker: RowSink, location: str, text: str) -> str | None:
    """Validates one side of a pair with the shared rules; returns the stripped text or ``None`` (reported)."""
    message = bad_byte_message(text)
    if message is not None:
        checker.bad(location, "invalid_utf8", message)
        return None
    text = text.strip()
    if not text:
        checker.bad(location, "empty_text", "empty or whitespace-only sentence")
        return None
    if checker.max_chars is not None and len(text) > checker.max_chars:
        checker.bad(
            location, "text_too_long", f"sentence has {len(text)} characters, over max_chars={checker.max_chars}"
        )
        return None
    return text


def read_id_file(path: Path, checker: RowSink) -> dict[str, tuple[str, str]]:
    name = path.name
    out: dict[str, tuple[str, str]] = {}
    wrong = "expected 'id<TAB>sentence', got {n} columns"
    for location, parts in tsv_rows(numbered_lines(read_text_file(path, "utf-8")), checker, name, 2, wrong):
        pair_id = parts[0].strip()
        if not pair_id:
            checker.stats.rows_read += 1
            checker.bad(location, "bad_record", "empty id")
            continue
        if pair_id in out:
            checker.stats.rows_read += 1
            checker.bad(location, "bad_record", f"duplicate id {pair_id!r} (first at {out[pair_id][0]})")
            continue
        text = _checked_sentence(checker, location, parts[1])
        if text is None:
            checker.stats.rows_read += 1
            continue
        out[pair_id] = (location, text)
    return out


def read_talpco(path: Path, checker: RowSink) -> list[tuple[str, str, str, str]]:
    folder = path if path.is_dir() else path.parent
    english = read_id_file(folder / "data_eng.txt", checker)
    burmese = read_id_file(folder / "data_myn.txt", checker)
    pairs = []
    for pair_id, (location, text) in english.items():
        if pair_id not in burmese:
            checker.stats.rows_read += 1
            checker.bad(location, "unaligned_id", f"id {pair_id!r} has no Burmese sentence in data_myn.txt")
            continue
        pairs.append((pair_id, f"{location}|{burmese[pair_id][0]}", text, burmese[pair_id][1]))
    for pair_id, (location, _) in burmese.items():
        if pair_id not in english:
            checker.stats.rows_read += 1
            checker.bad(location, "unaligned_id", f"id {pair_id!r} has no English sentence in data_eng.txt")
    return pairs


def read_myxnli(path: Path, checker: RowSink) -> list[tuple[str, str, str, str]]:
    name = path.name
    lines = numbered_lines(read_text_file(path, "utf-8"))
    try:
        _, header_line = next(lines)
    except StopIteration:
        raise DataFormatError(f"{name}:1", "file", "empty file") from None
    header = [h.strip() for h in header_line.split("\t")]
    missing = [c for c in _MYXNLI_COLUMNS if c not in header]
    if missing:
        raise DataFormatError(f"{name}:1", "file", f"header lacks the myXNLI columns {missing}")
    index = {c: header.index(c) for c in _MYXNLI_COLUMNS}
    pairs = []
    for number, line in lines:
        location = f"{name}:{number}"
        if line == "":
            checker.stats.blank_lines += 1
            continue
        parts = split_tsv(line, len(header))
        if len(parts) != len(header):
            checker.stats.rows_read += 1
            checker.bad(location, "wrong_column_count", f"expected {len(header)} columns, got {len(parts)}")
            continue
        for which in ("sentence1", "sentence2"):
            english = _checked_sentence(checker, f"{location}:{which}_en", parts[index[f"{which}_en"]])
            burmese = None
            if english is not None:
                burmese = _checked_sentence(checker, f"{location}:{which}_my", parts[index[f"{which}_my"]])
            if english is None or burmese is None:
                checker.stats.rows_read += 1
                continue
            pairs.append((f"{number}:{which}", f"{location}:{which}", english, burmese))
    return pairs
