# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Which reader a corpus needs: the labelled data formats, the known Hub datasets, and format resolution.

:func:`resolve_format` tells the format of a local file from its name (and a TSV's header), or recognises a Hub
dataset id; :data:`HUB_DATASETS` records what the labels of the known Hub datasets mean.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..utils.paths import is_hub_id
from .labels import SOURCE_LABEL_KINDS
from .rows import LANGUAGES

DATA_FORMATS = ("gklmip-json", "sst2-tsv", "uci-tsv", "mr", "csv", "json", "jsonl", "hub")
"""The labelled-corpus formats :func:`modeling_ctam.data.load_examples` reads (the choices of every CLI)."""


@dataclass(frozen=True)
class HubDatasetSpec:
    """How to read a known Hub dataset: its columns, what its labels mean, and its language."""

    text_column: str = field(default="text", metadata={"help": "Column holding the text."})
    label_column: str = field(default="label", metadata={"help": "Column holding the label."})
    source_labels: str = field(default="binary", metadata={"help": f"One of {sorted(SOURCE_LABEL_KINDS)}."})
    use_class_names: bool = field(
        default=False, metadata={"help": "Read a ClassLabel's name (e.g. '5') instead of its index."}
    )
    language: str = field(default="en", metadata={"help": "'en' or 'my'."})
    config_name: str | None = field(default=None, metadata={"help": "Hub configuration to load."})

    def __post_init__(self):
        if self.source_labels not in SOURCE_LABEL_KINDS:
            raise ValueError(
                f"HubDatasetSpec.source_labels={self.source_labels!r}: expected one of {sorted(SOURCE_LABEL_KINDS)}"
            )
        if self.language not in LANGUAGES:
            raise ValueError(f"HubDatasetSpec.language={self.language!r}: expected one of {LANGUAGES}")


HUB_DATASETS: dict[str, HubDatasetSpec] = {
    # ClassLabel names '1' (negative) and '2' (positive): index 0 = negative, 1 = positive.
    "fancyzhx/yelp_polarity": HubDatasetSpec(source_labels="binary"),
    "yelp_polarity": HubDatasetSpec(source_labels="binary"),
    # ClassLabel '1 star'..'5 stars': index = stars - 1.
    "Yelp/yelp_review_full": HubDatasetSpec(source_labels="stars0"),
    "yelp_review_full": HubDatasetSpec(source_labels="stars0"),
    # GKLMIP product reviews; labels are star strings '1'..'5' (or a ClassLabel with those names).
    "SEACrowd/gklmip_sentiment": HubDatasetSpec(source_labels="stars", use_class_names=True, language="my"),
}
"""Hub datasets whose label meaning is known. Others need ``source_labels=`` (or a 2-class ClassLabel)."""

_LOCAL_SUFFIXES = (".json", ".jsonl", ".csv", ".tsv", ".txt", ".pos", ".neg")
MR_FILES = ("rt-polarity.neg", "rt-polarity.pos")


SHARD_SUFFIXES = (".csv", ".tsv", ".json", ".jsonl", ".parquet")


def shard_files(folder: str | os.PathLike) -> list[Path]:
    """The data files of a folder of shards (``part-00000.csv``, ``train-00001-of-00004.parquet``, ...), by name.

    Files whose names start with ``.`` or ``_`` (``_SUCCESS``, ``.crc``) and files without a data suffix
    (:data:`SHARD_SUFFIXES`) are left out; the others must share one suffix.

    Raises:
        ValueError: no data file, or files of several kinds (the message names them).
    """
    folder = Path(folder)
    files = sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "_")) and p.suffix.lower() in SHARD_SUFFIXES
    )
    if not files:
        raise ValueError(f"{folder}: a folder of shards needs data files ({', '.join(SHARD_SUFFIXES)}); it has none.")
    kinds = sorted({p.suffix.lower() for p in files})
    if len(kinds) > 1:
        raise ValueError(
            f"{folder}: its shards must be of one kind, but it holds {', '.join(kinds)} files "
            f"({', '.join(p.name for p in files[:6])}{' ...' if len(files) > 6 else ''})."
        )
    return files


def resolve_format(path_or_id: str | os.PathLike, data_format: str | None = None) -> str:
    """Decides how :func:`load_examples` reads ``path_or_id``.

    An existing local path is read from disk; its format comes from ``data_format`` or, when that is ``None``, from its
    name (a folder of shards, :func:`shard_files`, from its files' names): a folder or file named ``rt-polarity.*`` ->
    ``"mr"``, ``product_sentiment_dataset_*.json`` -> ``"gklmip-json"``, ``*_labelled.txt`` -> ``"uci-tsv"``, a
    ``.tsv`` whose header has a ``label`` column -> ``"sst2-tsv"``, ``.csv`` / ``.json`` / ``.jsonl`` -> generic.
    Anything else that looks like ``owner/name`` (and is not a missing file with a data-file extension) is a Hub id ->
    ``"hub"``, read with ``datasets.load_dataset(id, split=...)``.

    Raises:
        FileNotFoundError: a path with a data-file extension that does not exist.
        ValueError: an unknown ``data_format``, or a file whose format cannot be told from its name.
    """
    if data_format is not None and data_format not in DATA_FORMATS:
        raise ValueError(f"data_format={data_format!r}: expected None (auto) or one of {DATA_FORMATS}")
    text = os.fspath(path_or_id)
    path = Path(text).expanduser()
    if not path.exists():
        if data_format == "hub" or (
            data_format is None
            and (is_hub_id(text) or text in HUB_DATASETS)
            and not text.lower().endswith(_LOCAL_SUFFIXES)
        ):
            return "hub"
        raise FileNotFoundError(
            f"{text} does not exist (and is not a Hub dataset id). Local data lives under the folder given by "
            "CTAM_DATA_DIR (see modeling_ctam.utils.paths)."
        )
    if data_format == "hub":
        raise ValueError(f"{text} is a local path, but data_format='hub' was given.")
    if data_format is not None:
        return data_format
    name = path.name
    if path.is_dir():
        if all((path / f).is_file() for f in MR_FILES):
            return "mr"
        return resolve_format(shard_files(path)[0])  # a folder of shards: the format of its files
    if name in MR_FILES:
        return "mr"
    suffix = path.suffix.lower()
    if suffix == ".json":
        return "gklmip-json" if name.startswith("product_sentiment_dataset") else "json"
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".txt" and name.endswith("_labelled.txt"):
        return "uci-tsv"
    if suffix == ".tsv":
        with open(path, "rb") as handle:
            header = handle.readline().decode("utf-8", errors="replace").rstrip("\r\n").split("\t")
        if len(header) == 2 and "label" in [h.strip().lower() for h in header]:
            return "sst2-tsv"
    raise ValueError(
        f"{text}: cannot tell the data format from the file name; pass data_format= one of {DATA_FORMATS}."
    )
