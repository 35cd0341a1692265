# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Unlabelled sentences of one language: the monolingual corpora the alignment (eq. 2) learns static vectors from.

:func:`read_corpus` reads a corpus with the same format readers as training data (:mod:`.readers`,
:mod:`.parallel`), ignoring labels, and :func:`load_corpora` concatenates, deduplicates and caps several. Formats are
told from the name and first line:

- ``*.json`` (a JSON list of objects, e.g. GKLMIP, column ``text``) and ``*.jsonl`` (one object a line);
- ``rt-polarity.*`` (MR: one sentence a line, Latin-1 unless ``encoding`` says otherwise);
- a TSV whose header names the text column: myXNLI (``sentence1_en``/``sentence2_en`` for English,
  ``sentence1_my``/``sentence2_my`` for Burmese), SST-2 (``label<TAB>sentence``), or any header with ``text``,
  ``sentence`` or ``text_column``;
- a TSV without header: UCI (``sentence<TAB>0|1``) or TALPCo (``id<TAB>sentence``);
- anything else: plain text, one sentence a line;
- a string that is not an existing path and looks like ``owner/name``: a Hub dataset read with
  ``datasets.load_dataset(id, split=split)`` and ``text_column`` (default ``text``).

Texts are returned as written (stripped): the static-vector pass prepares each one itself
(:func:`modeling_ctam.alignment.static_vectors.prepare_text`). Malformed rows (e.g. whitespace-only lines) are
skipped with one warning per file; bytes that are not UTF-8 (a file in another encoding), or a file that yields no
sentence at all, are an error.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from ..utils.paths import data_path, is_hub_id
from .parallel import read_id_file, read_myxnli
from .readers import (
    numbered_lines,
    read_csv_rows,
    read_json_rows,
    read_plain_rows,
    read_sst2_rows,
    read_text_file,
    read_uci_rows,
)
from .rows import LANGUAGES, LoadStats, RowSink, check_choice

DEFAULT_CORPORA = {
    "en": (
        "en/sst2/train.tsv",
        "en/mr/rt-polarity.pos",
        "en/mr/rt-polarity.neg",
        "en/uci_sentiment_labelled/yelp_labelled.txt",
        "en/uci_sentiment_labelled/amazon_cells_labelled.txt",
        "en/uci_sentiment_labelled/imdb_labelled.txt",
    ),
    "my": (
        "my/gklmip/product_sentiment_dataset_train.json",
        "my/gklmip/product_sentiment_dataset_dev.json",
        "parallel/myxnli/my.genre.dev.tsv",
        "parallel/talpco/data_myn.txt",
    ),
}
"""The corpora the benchmarks use, relative to the shared data folder: English SST-2 train + MR + UCI; Burmese
GKLMIP train+dev texts, myXNLI `sentence1_my`/`sentence2_my`, TALPCo Burmese."""

DEDUPE_MODES = ("none", "exact", "subsumed")


def default_corpora(language: str) -> list[str]:
    """Paths of :data:`DEFAULT_CORPORA` for `language` under :func:`modeling_ctam.utils.paths.data_dir`."""
    return [str(data_path(*p.split("/"))) for p in DEFAULT_CORPORA[language]]


def read_corpus(
    path_or_id: str | os.PathLike,
    language: str,
    text_column: str | None = None,
    encoding: str | None = None,
    split: str = "train",
    max_sentences: int | None = None,
) -> list[str]:
    """Sentences of one corpus, in file order (formats: see the module docstring).

    Args:
        path_or_id (`str` or `os.PathLike`): a file or a Hub dataset id.
        language (`str`): `"en"` or `"my"` (picks myXNLI's columns).
        text_column (`str`, *optional*): column to read (JSON, headed TSV, Hub).
        encoding (`str`, *optional*): file encoding; default UTF-8 (Latin-1 for `rt-polarity.*`).
        split (`str`, *optional*, defaults to `"train"`): Hub split.
        max_sentences (`int`, *optional*): keep only the first `max_sentences` sentences.

    Returns:
        `list[str]`: non-empty sentences, stripped.
    """
    if language not in LANGUAGES:
        raise ValueError(f"language={language!r}: use 'en' (English) or 'my' (Burmese).")
    spec = os.fspath(path_or_id)
    path = Path(spec).expanduser()
    if not path.exists():
        if is_hub_id(spec):
            return _read_hub(spec, text_column or "text", split, max_sentences)
        raise FileNotFoundError(f"corpus {spec} does not exist and is not a Hub dataset id (owner/name).")
    if path.is_dir():
        raise IsADirectoryError(f"corpus {spec} is a folder; give the corpus files one by one.")
    name = path.name.lower()
    encoding = encoding or ("latin-1" if name.startswith("rt-polarity") else "utf-8")
    sink = RowSink(
        LoadStats(source=path.name, data_format="corpus", language=language),
        kind=None,
        labels="raw",
        label_map=None,
        on_error="skip",
        max_chars=None,
        language=language,
        check_utf8=True,
        preprocess=False,
    )
    if name.endswith((".json", ".jsonl")):
        read_json_rows(path, sink, encoding, text_column or "text", None)
    elif name.startswith("rt-polarity"):
        read_plain_rows(path, sink, encoding)
    else:
        _read_lines(path, sink, encoding, language, text_column)
    if sink.stats.skipped.get("invalid_utf8"):  # a wrongly encoded file, not a bad row: stop, naming the place
        raise ValueError(next(m for m in sink.stats.first_skipped if "invalid UTF-8" in m))
    sink.finish()
    if not sink.texts and sink.stats.skipped:
        raise ValueError(
            f"{path}: no sentence could be read ({'; '.join(sink.stats.first_skipped)}); pass "
            "--text-column to name the text field."
        )
    return sink.texts[:max_sentences] if max_sentences else sink.texts


def _read_lines(path: Path, sink: RowSink, encoding: str, language: str, column: str | None) -> None:
    """A line-based corpus: headed TSV (a named column, myXNLI, SST-2), headerless UCI / TALPCo, or plain text."""
    lines = [line for _, line in numbered_lines(read_text_file(path, encoding)) if line.strip()]
    header = [h.strip().lower() for h in lines[0].split("\t")] if lines else []
    if column is not None:
        if column.lower() not in header:
            raise ValueError(f"{path}:1: no column {column!r} in the header {lines[0][:120] if lines else ''!r}.")
        read_csv_rows(path, sink, encoding, lines[0].split("\t")[header.index(column.lower())].strip(), None, "\t")
    elif "sentence1_en" in header or "sentence1_my" in header:
        for _, _, english, burmese in read_myxnli(path, sink):
            sink.add(path.name, english if language == "en" else burmese)
    elif len(header) == 2 and "label" in header:
        read_sst2_rows(path, sink, encoding)
    elif len(header) > 1 and ("sentence" in header or "text" in header):
        text = lines[0].split("\t")[header.index("sentence" if "sentence" in header else "text")].strip()
        read_csv_rows(path, sink, encoding, text, None, "\t")
    else:
        rows = [line.split("\t") for line in lines]
        if rows and all(len(r) == 2 for r in rows) and all(r[1].strip() in ("0", "1") for r in rows):
            read_uci_rows(path, sink, encoding)
        elif rows and all(len(r) == 2 for r in rows) and all(r[0].strip().isdigit() for r in rows):
            for _, sentence in read_id_file(path, sink).values():
                sink.add(path.name, sentence)
        else:
            read_plain_rows(path, sink, encoding)


def dedupe_sentences(sentences: Sequence[str], mode: str = "exact", max_span_words: int = 64) -> list[str]:
    """Drop repeated sentences.

    Args:
        sentences (`Sequence[str]`): in corpus order.
        mode (`str`, *optional*, defaults to `"exact"`): `"none"`, `"exact"` (identical strings), or `"subsumed"`
            (also sentences that are a contiguous run of whitespace-separated tokens of a longer kept sentence, as
            SST-2's 67k training phrases are of its 6.9k sentences: counts then follow running text, and encoding
            is 5x cheaper).
        max_span_words (`int`, *optional*, defaults to 64): longer sentences are kept but do not absorb others.

    Returns:
        `list[str]`: kept sentences, in their original order.
    """
    if mode not in DEDUPE_MODES:
        raise ValueError(f"dedupe={mode!r}: use one of {', '.join(DEDUPE_MODES)}.")
    if mode == "none":
        return list(sentences)
    first = list(dict.fromkeys(sentences))
    if mode == "exact":
        return first
    spans: set[str] = set()
    keep: set[str] = set()
    for sent in sorted(first, key=lambda t: (-len(t.split()), t)):
        if sent in spans:
            continue
        keep.add(sent)
        words = sent.split()
        if len(words) <= max_span_words:
            for i in range(len(words)):
                for j in range(i + 1, len(words) + 1):
                    spans.add(" ".join(words[i:j]))
    return [t for t in first if t in keep]


def load_corpora(
    specs: Sequence[str | os.PathLike],
    language: str,
    text_column: str | None = None,
    max_sentences: int | None = None,
    dedupe: str = "exact",
    split: str = "train",
) -> list[str]:
    """Sentences of several corpora (:func:`read_corpus` each), concatenated, deduplicated, then capped."""
    check_choice("dedupe", dedupe, DEDUPE_MODES)
    texts: list[str] = []
    for spec in specs:
        texts += read_corpus(spec, language, text_column=text_column, split=split)
    texts = dedupe_sentences(texts, dedupe)
    return texts[:max_sentences] if max_sentences else texts


def _read_hub(dataset_id: str, column: str, split: str, max_sentences: int | None) -> list[str]:
    """One column of a Hub dataset split, as strings (``datasets.load_dataset``; needs Hub access or its cache)."""
    import datasets

    try:
        ds = datasets.load_dataset(dataset_id, split=split)
    except Exception as err:
        raise RuntimeError(
            f"could not load Hub dataset {dataset_id!r} (split {split!r}): {err}. Without Hub access, "
            "give a local file instead."
        ) from err
    if column not in ds.column_names:
        raise ValueError(
            f"Hub dataset {dataset_id!r} has no column {column!r}; columns: {ds.column_names}. Pass --text-column."
        )
    if max_sentences:
        ds = ds.select(range(min(max_sentences, len(ds))))
    return [str(t).strip() for t in ds[column] if t is not None and str(t).strip()]
