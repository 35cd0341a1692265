# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Data for CTAM: readers, label schemes, subsampling, bilingual pairing and batch collation.

Everything that turns files (or Hub datasets) into model inputs lives here, so that training, evaluation and the
pipeline see the same text and the same token ids.

Readers
    :func:`load_examples` reads one labelled (or unlabelled) corpus and returns a :class:`datasets.Dataset` with the
    columns ``text`` (`str`), ``label`` (`int`, ``-1`` when unlabelled) and ``source_line`` (`str`, where the row
    came from, e.g. ``"train.tsv:17"``). Formats: GKLMIP JSON, SST-2 label-first TSV, UCI ``sentence<TAB>0|1``,
    MR (Latin-1 ``rt-polarity.pos``/``.neg``), generic CSV / JSON / JSON Lines with a column mapping, and Hub ids
    through :func:`datasets.load_dataset`. :func:`load_parallel` reads translation pairs (TALPCo, myXNLI).

Label schemes
    ``labels="binary"`` (negative=0, positive=1), ``labels="three-class"`` (negative=0, neutral=1, positive=2) or
    ``labels="raw"`` (the source's own integers: stars 1..5, or 0/1). Star ratings map as in ``docs/method.md``
    section 5: binary 1-2 -> negative, 4-5 -> positive, 3 dropped (and counted); three-class 1-2 -> negative,
    3-4 -> neutral, 5 -> positive. Natively binary data (SST-2, UCI, MR, ``fancyzhx/yelp_polarity``) cannot be
    turned into three classes: asking for it raises a :class:`ValueError` (there is no neutral class to learn from).
    For ``binary`` and ``three-class`` the ``label`` column is a :class:`datasets.ClassLabel` with the names of
    :data:`LABEL_SCHEMES`, so ``dataset.features["label"].names`` gives ``id2label`` for the model config.

Bad rows and statistics
    A malformed row (wrong column count, unknown label, empty or whitespace-only text, a text longer than
    ``max_chars``, bytes that are not UTF-8 in a UTF-8 file, a missing field) raises :class:`DataFormatError` (a
    :class:`ValueError`) whose message starts with the location, e.g.
    ``train.tsv:17: unknown label 'x' (expected one of 0, 1)``. With ``on_error="skip"`` the row is skipped and
    counted instead, and one warning per file summarises the counts per reason with the first few locations.
    Nothing is lost silently: every loaded dataset carries a :class:`LoadStats` (rows read, kept, dropped by the
    label scheme, skipped per reason, blank lines, label counts), stored as JSON in ``dataset.info.description``
    (it survives ``select``/``filter``/``shuffle``) and returned by :func:`get_load_stats`, or directly with
    ``load_examples(..., return_stats=True)``. ``rows_read == rows_kept + sum(dropped) + sum(skipped)`` always holds.

Burmese
    Texts in language ``"my"`` go through :func:`modeling_ctam.burmese.preprocess` (Zawgyi detection and
    conversion, normalisation) when loaded, and through the same function in :func:`tokenize_for_eval`, so the
    training and inference paths see identical text. Word boundaries for Burmese come from
    :func:`modeling_ctam.burmese.batch_word_ids`.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

import numpy as np
import torch.utils.data

logger = logging.getLogger(__name__)

__all__ = [
    "LABEL_SCHEMES",
    "DATA_FORMATS",
    "SOURCE_LABEL_KINDS",
    "HUB_DATASETS",
    "DataFormatError",
    "LoadStats",
    "HubDatasetSpec",
    "PairingConfig",
    "PairedDataset",
    "CTAMCollator",
    "id2label",
    "label2id",
    "label_scheme_of",
    "check_label_schemes",
    "resolve_format",
    "load_examples",
    "examples_from_hf_dataset",
    "load_parallel",
    "get_load_stats",
    "drop_labels",
    "balanced_subsample",
    "few_shot_subsample",
    "tokenize_for_eval",
]

# --------------------------------------------------------------------------------------------------------------------
# Label schemes
# --------------------------------------------------------------------------------------------------------------------

LABEL_SCHEMES: dict[str, list[str]] = {
    "binary": ["negative", "positive"],
    "three-class": ["negative", "neutral", "positive"],
}
"""Class names per label scheme; the list index is the label id."""

LABEL_CHOICES = ("binary", "three-class", "raw")

SOURCE_LABEL_KINDS: dict[str, tuple[int, ...]] = {
    "binary": (0, 1),  # 0 = negative, 1 = positive
    "stars": (1, 2, 3, 4, 5),  # star ratings
    "stars0": (0, 1, 2, 3, 4),  # star ratings minus one (Yelp/yelp_review_full)
    "three-class": (0, 1, 2),  # negative, neutral, positive
}
"""What the labels of a source mean, with the raw integer values each kind accepts."""

DATA_FORMATS = ("gklmip-json", "sst2-tsv", "uci-tsv", "mr", "csv", "json", "jsonl", "hub")
ON_ERROR_CHOICES = ("raise", "skip")
LANGUAGES = ("en", "my")

# Reasons a row can be rejected (keys of ``LoadStats.skipped``).
BAD_ROW_REASONS = (
    "wrong_column_count",
    "unknown_label",
    "empty_text",
    "text_too_long",
    "invalid_utf8",
    "missing_field",
    "bad_record",
    "unaligned_id",
)

DEFAULT_MAX_CHARS = 10_000
_MAX_LOGGED_BAD_ROWS = 5


def id2label(scheme: str) -> dict[int, str]:
    """Returns ``{0: "negative", 1: "positive"}`` (or the three-class names) for a scheme of :data:`LABEL_SCHEMES`."""
    return dict(enumerate(_scheme_names(scheme)))


def label2id(scheme: str) -> dict[str, int]:
    """Returns ``{"negative": 0, "positive": 1}`` (or the three-class ids) for a scheme of :data:`LABEL_SCHEMES`."""
    return {name: i for i, name in enumerate(_scheme_names(scheme))}


def _scheme_names(scheme: str) -> list[str]:
    if scheme not in LABEL_SCHEMES:
        raise ValueError(
            f"Unknown label scheme {scheme!r}: expected one of {sorted(LABEL_SCHEMES)} "
            "('raw' labels have no class names)."
        )
    return list(LABEL_SCHEMES[scheme])


def label_scheme_of(dataset) -> str | None:
    """The label scheme of a dataset from :func:`load_examples`: ``"binary"``, ``"three-class"`` or ``None``.

    ``None`` means the ``label`` column is not a :class:`datasets.ClassLabel` of a known scheme (``labels="raw"``, or
    a dataset built elsewhere).
    """
    from datasets import ClassLabel

    feature = getattr(dataset, "features", {}).get("label") if hasattr(dataset, "features") else None
    if isinstance(feature, ClassLabel):
        for name, names in LABEL_SCHEMES.items():
            if list(feature.names) == names:
                return name
    return None


def check_label_schemes(source_scheme: str | None, target_scheme: str | None) -> None:
    """Raises a clear error when labelled source and target data use different label schemes.

    The classifier is shared by the teacher (English) and student (Burmese) paths, so both must use the same classes.
    In particular binary English data (SST-2, UCI, MR, yelp_polarity) cannot train a three-class Burmese model: the
    source has no neutral class. ``None`` (unknown or unlabelled) is not checked.
    """
    if source_scheme is None or target_scheme is None or source_scheme == target_scheme:
        return
    if source_scheme == "binary" and target_scheme == "three-class":
        raise ValueError(
            "The source data is binary (negative/positive) but the target uses three classes "
            "(negative/neutral/positive): binary English data cannot train a three-class model, it has no neutral "
            "examples. Use labels='binary' for the target, or a star-rated source (e.g. 'Yelp/yelp_review_full') "
            "loaded with labels='three-class'."
        )
    raise ValueError(
        f"Label schemes differ: source {source_scheme!r} {LABEL_SCHEMES.get(source_scheme)} vs target "
        f"{target_scheme!r} {LABEL_SCHEMES.get(target_scheme)}. Load both sides with the same `labels=`."
    )


def _convert_label(value: int, kind: str, labels: str) -> int | str:
    """Maps a validated raw label to the scheme; returns a drop reason (`str`) when the scheme has no class for it."""
    if kind == "stars0":
        value, kind = value + 1, "stars"
    if labels == "raw":
        return value
    if kind == "binary":
        if labels == "binary":
            return value
        raise ValueError(
            "Binary data (negative/positive) cannot be loaded with labels='three-class': it has no neutral class, "
            "so binary English data cannot train a three-class model. Use labels='binary', or a star-rated source."
        )
    if kind == "stars":
        if labels == "binary":
            return {1: 0, 2: 0, 4: 1, 5: 1}.get(value, "3_star_in_binary")
        return {1: 0, 2: 0, 3: 1, 4: 1, 5: 2}[value]
    if kind == "three-class":
        if labels == "three-class":
            return value
        return {0: 0, 2: 1}.get(value, "neutral_in_binary")
    raise AssertionError(kind)


# --------------------------------------------------------------------------------------------------------------------
# Errors and statistics
# --------------------------------------------------------------------------------------------------------------------


class DataFormatError(ValueError):
    """A malformed row or file. The message starts with the location (``"train.tsv:17: ..."``).

    Attributes:
        location (`str`): file name and line (``"train.tsv:17"``), or JSON array index (``"data.json[16]"``).
        reason (`str`): one of ``BAD_ROW_REASONS``, or ``"file"`` for errors that concern the whole file.
    """

    def __init__(self, location: str, reason: str, message: str):
        super().__init__(f"{location}: {message}")
        self.location = location
        self.reason = reason


@dataclass
class LoadStats:
    """What a loader read, kept, dropped and skipped. Stored as JSON in ``dataset.info.description``.

    ``rows_read == rows_kept + sum(dropped.values()) + sum(skipped.values())``; blank lines are counted apart (they
    hold no example).
    """

    source: str = field(metadata={"help": "File, folder or Hub id that was read (file names only, no directories)."})
    data_format: str = field(metadata={"help": "Format that was used, one of DATA_FORMATS (or a parallel format)."})
    label_scheme: str | None = field(default=None, metadata={"help": "'binary', 'three-class', 'raw' or None."})
    language: str | None = field(default=None, metadata={"help": "Language of the texts ('en' or 'my')."})
    rows_read: int = field(default=0, metadata={"help": "Records seen (header and blank lines excluded)."})
    rows_kept: int = field(default=0, metadata={"help": "Rows in the returned dataset."})
    blank_lines: int = field(default=0, metadata={"help": "Empty lines ignored in line-based files."})
    dropped: dict[str, int] = field(
        default_factory=dict,
        metadata={"help": "Well-formed rows left out by design, per reason (e.g. '3_star_in_binary')."},
    )
    skipped: dict[str, int] = field(
        default_factory=dict, metadata={"help": "Malformed rows skipped with on_error='skip', per reason."}
    )
    first_skipped: list[str] = field(
        default_factory=list, metadata={"help": f"The first {_MAX_LOGGED_BAD_ROWS} skip messages, with locations."}
    )
    label_counts: dict[str, int] = field(
        default_factory=dict, metadata={"help": "Kept rows per label id (as a string key; '-1' = unlabelled)."}
    )

    @property
    def num_dropped(self) -> int:
        return sum(self.dropped.values())

    @property
    def num_skipped(self) -> int:
        return sum(self.skipped.values())

    def to_json(self) -> str:
        return json.dumps({"ctam_load_stats": asdict(self)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> "LoadStats":
        payload = json.loads(text)["ctam_load_stats"]
        return cls(**{f.name: payload[f.name] for f in fields(cls) if f.name in payload})

    def merge(self, other: "LoadStats") -> None:
        """Adds the counts of ``other`` (e.g. the second file of a folder) into this object."""
        self.rows_read += other.rows_read
        self.rows_kept += other.rows_kept
        self.blank_lines += other.blank_lines
        for mine, theirs in ((self.dropped, other.dropped), (self.skipped, other.skipped),
                             (self.label_counts, other.label_counts)):
            for key, value in theirs.items():
                mine[key] = mine.get(key, 0) + value
        self.first_skipped = (self.first_skipped + other.first_skipped)[:_MAX_LOGGED_BAD_ROWS]

    def summary(self) -> str:
        parts = [f"{self.source}: read {self.rows_read} rows, kept {self.rows_kept}"]
        if self.dropped:
            parts.append("dropped " + ", ".join(f"{k}: {v}" for k, v in sorted(self.dropped.items())))
        if self.skipped:
            parts.append("skipped " + ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items())))
        if self.blank_lines:
            parts.append(f"{self.blank_lines} blank lines")
        return "; ".join(parts)


def get_load_stats(dataset) -> LoadStats | None:
    """The :class:`LoadStats` a loader stored in ``dataset.info.description``, or ``None`` if there are none.

    Derived datasets (``select``, ``filter``, ``shuffle``, the subsampling helpers) keep the stats of the load they
    come from; they describe the load, not the derived dataset.
    """
    description = getattr(getattr(dataset, "info", None), "description", None)
    if not description or "ctam_load_stats" not in description:
        return None
    try:
        return LoadStats.from_json(description)
    except (ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------------------------------------------------
# Row validation shared by all readers
# --------------------------------------------------------------------------------------------------------------------

_BAD_BYTE = re.compile("[\udc80-\udcff]")
_INT = re.compile(r"^[+-]?\d+$")


def _is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")


def _bad_byte_message(text: str) -> str | None:
    match = _BAD_BYTE.search(text)
    if match is None:
        return None
    byte = ord(match.group()) - 0xDC00
    return (
        f"invalid UTF-8 (byte 0x{byte:02x} at character {match.start()}); if the file is Latin-1, "
        "pass encoding='latin-1'"
    )


class _RowSink:
    """Validates raw rows, maps their labels and collects the dataset columns and the statistics."""

    def __init__(
        self,
        stats: LoadStats,
        *,
        kind: str | None,
        labels: str,
        label_map: Mapping[Any, Any] | None,
        on_error: str,
        max_chars: int | None,
        language: str,
        check_utf8: bool,
    ):
        self.stats = stats
        self.kind = kind  # None = unlabelled
        self.labels = labels
        self.label_map = None if label_map is None else {str(k).strip(): v for k, v in label_map.items()}
        self.on_error = on_error
        self.max_chars = max_chars
        self.language = language
        self.check_utf8 = check_utf8
        if kind == "binary" and labels == "three-class":
            _convert_label(0, "binary", "three-class")  # raises the binary -> three-class error
        self.texts: list[str] = []
        self.label_ids: list[int] = []
        self.locations: list[str] = []
        self._preprocess = _burmese().preprocess if language == "my" else None

    # -- errors -------------------------------------------------------------------------------------------------------
    def bad(self, location: str, reason: str, message: str) -> None:
        """Raises, or counts a skipped row (``on_error="skip"``)."""
        error = DataFormatError(location, reason, message)
        if self.on_error == "raise":
            raise error
        self.stats.skipped[reason] = self.stats.skipped.get(reason, 0) + 1
        if len(self.stats.first_skipped) < _MAX_LOGGED_BAD_ROWS:
            self.stats.first_skipped.append(str(error))
        logger.debug("skipped %s", error)

    def drop(self, reason: str) -> None:
        self.stats.dropped[reason] = self.stats.dropped.get(reason, 0) + 1

    # -- labels -------------------------------------------------------------------------------------------------------
    def _expected(self) -> str:
        if self.label_map is not None:
            return ", ".join(repr(k) for k in self.label_map)
        return ", ".join(str(v) for v in SOURCE_LABEL_KINDS[self.kind])

    def parse_label(self, raw: Any, location: str) -> int | None:
        """The raw label as a validated integer of ``self.kind``, or ``None`` after reporting a bad row."""
        value: Any = raw
        if self.label_map is not None:
            key = str(raw).strip() if not isinstance(raw, float) or not raw.is_integer() else str(int(raw))
            if key not in self.label_map:
                self.bad(location, "unknown_label", f"unknown label {raw!r} (expected one of {self._expected()})")
                return None
            value = self.label_map[key]
        parsed: int | None = None
        if isinstance(value, bool):
            parsed = None
        elif isinstance(value, (int, np.integer)):
            parsed = int(value)
        elif isinstance(value, float) and value.is_integer():
            parsed = int(value)
        elif isinstance(value, str) and _INT.match(value.strip()):
            parsed = int(value.strip())
        if parsed is None or parsed not in SOURCE_LABEL_KINDS[self.kind]:
            if self.label_map is not None:
                self.bad(
                    location,
                    "unknown_label",
                    f"label {raw!r} maps to {value!r}, which is not a valid {self.kind!r} label "
                    f"({', '.join(map(str, SOURCE_LABEL_KINDS[self.kind]))})",
                )
            else:
                self.bad(location, "unknown_label", f"unknown label {raw!r} (expected one of {self._expected()})")
            return None
        return parsed

    # -- rows ---------------------------------------------------------------------------------------------------------
    def add(self, location: str, text: Any, raw_label: Any = None) -> None:
        """Validates one record and appends it (or reports it as bad, or drops it by the label scheme)."""
        self.stats.rows_read += 1
        if text is None:
            self.bad(location, "missing_field", "text is missing (null)")
            return
        if not isinstance(text, str):
            self.bad(location, "bad_record", f"text is not a string but {type(text).__name__}: {text!r:.60}")
            return
        if self.check_utf8:
            message = _bad_byte_message(text)
            if message is None and isinstance(raw_label, str):
                message = _bad_byte_message(raw_label)
            if message is not None:
                self.bad(location, "invalid_utf8", message)
                return
        text = text.strip()
        if not text:
            self.bad(location, "empty_text", "empty or whitespace-only text")
            return
        if self.max_chars is not None and len(text) > self.max_chars:
            self.bad(location, "text_too_long", f"text has {len(text)} characters, over max_chars={self.max_chars}")
            return
        if self.kind is None:
            label_id = -1
        else:
            parsed = self.parse_label(raw_label, location)
            if parsed is None:
                return
            converted = _convert_label(parsed, self.kind, self.labels)
            if isinstance(converted, str):
                self.drop(converted)
                return
            label_id = converted
        if self._preprocess is not None:
            text = self._preprocess(text)
            if not text.strip():
                self.bad(location, "empty_text", "text is empty after Burmese preprocessing")
                return
        self.texts.append(text)
        self.label_ids.append(label_id)
        self.locations.append(location)
        self.stats.rows_kept += 1

    def finish(self) -> None:
        self.stats.label_counts = {str(k): v for k, v in sorted(Counter(self.label_ids).items())}
        if self.stats.skipped:
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(self.stats.skipped.items()))
            first = "\n  ".join(self.stats.first_skipped)
            logger.warning(
                "%s: skipped %d bad rows (%s). First ones:\n  %s",
                self.stats.source,
                self.stats.num_skipped,
                counts,
                first,
            )
        if self.stats.dropped:
            logger.info(
                "%s: left out %s (no class for them in the %r scheme)",
                self.stats.source,
                ", ".join(f"{v} rows {k}" for k, v in sorted(self.stats.dropped.items())),
                self.labels,
            )


def _burmese():
    """Lazy import of :mod:`modeling_ctam.burmese` (the one place for Burmese preprocessing and segmentation)."""
    try:
        from . import burmese
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            "Burmese text needs modeling_ctam.burmese (preprocess, batch_word_ids) and its dependencies "
            "(myanmartools, python-myanmar, burmesenlp)."
        ) from error
    return burmese


# --------------------------------------------------------------------------------------------------------------------
# Format resolution
# --------------------------------------------------------------------------------------------------------------------


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
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")  # "owner/name" (or a legacy canonical name)
_MR_FILES = ("rt-polarity.neg", "rt-polarity.pos")


def resolve_format(path_or_id: str | os.PathLike, data_format: str | None = None) -> str:
    """Decides how :func:`load_examples` reads ``path_or_id``.

    An existing local path is read from disk; its format comes from ``data_format`` or, when that is ``None``, from
    its name: a folder or file named ``rt-polarity.*`` -> ``"mr"``, ``product_sentiment_dataset_*.json`` ->
    ``"gklmip-json"``, ``*_labelled.txt`` -> ``"uci-tsv"``, a ``.tsv`` whose header has a ``label`` column ->
    ``"sst2-tsv"``, ``.csv`` / ``.json`` / ``.jsonl`` -> generic. Anything else that looks like ``owner/name`` (and
    is not a missing file with a data-file extension) is a Hub id -> ``"hub"``, read with
    ``datasets.load_dataset(id, split=...)``.

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
            and _HUB_ID.match(text)
            and ("/" in text or text in HUB_DATASETS)
            and not text.lower().endswith(_LOCAL_SUFFIXES)
        ):
            return "hub"
        raise FileNotFoundError(
            f"{text} does not exist (and is not a Hub dataset id). Local data lives under the folder given by "
            "CTAM_DATA_DIR (see modeling_ctam.paths)."
        )
    if data_format == "hub":
        raise ValueError(f"{text} is a local path, but data_format='hub' was given.")
    if data_format is not None:
        return data_format
    name = path.name
    if path.is_dir():
        if all((path / f).is_file() for f in _MR_FILES):
            return "mr"
        raise ValueError(f"{text}: cannot tell the format of a folder that is not MR (rt-polarity.pos/.neg).")
    if name in _MR_FILES:
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


# --------------------------------------------------------------------------------------------------------------------
# Readers
# --------------------------------------------------------------------------------------------------------------------


def _read_text(path: Path, encoding: str) -> str:
    """Whole file as text. UTF-8 files keep undecodable bytes as lone surrogates, reported per row later."""
    data = path.read_bytes()
    if _is_utf8(encoding):
        text = data.decode("utf-8", errors="surrogateescape")
        return text[1:] if text.startswith("\ufeff") else text
    return data.decode(encoding)


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its end) for every line, without a phantom last line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        yield number, line[:-1] if line.endswith("\r") else line


def _split_tsv(line: str, expected: int) -> list[str]:
    """Tab-split fields; empty trailing fields beyond ``expected`` (a stray final tab) are ignored."""
    parts = line.split("\t")
    while len(parts) > expected and not parts[-1].strip():
        parts.pop()
    return parts


def _read_sst2(path: Path, sink: _RowSink, encoding: str) -> None:
    name = path.name
    lines = _lines(_read_text(path, encoding))
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
    for number, line in lines:
        location = f"{name}:{number}"
        if line == "":
            sink.stats.blank_lines += 1
            continue
        parts = _split_tsv(line, 2)
        if len(parts) != 2:
            sink.stats.rows_read += 1
            sink.bad(
                location, "wrong_column_count", f"expected 2 tab-separated columns (label, sentence), got {len(parts)}"
            )
            continue
        sink.add(location, parts[1 - label_index], parts[label_index])


def _read_uci(path: Path, sink: _RowSink, encoding: str) -> None:
    name = path.name
    for number, line in _lines(_read_text(path, encoding)):
        location = f"{name}:{number}"
        if line == "":
            sink.stats.blank_lines += 1
            continue
        parts = _split_tsv(line, 2)
        if len(parts) != 2:
            sink.stats.rows_read += 1
            sink.bad(
                location, "wrong_column_count", f"expected 2 tab-separated columns (sentence, 0|1), got {len(parts)}"
            )
            continue
        sink.add(location, parts[0], parts[1])


def _read_mr_file(path: Path, sink: _RowSink, encoding: str, label: int) -> None:
    name = path.name
    for number, line in _lines(_read_text(path, encoding)):
        if line == "":
            sink.stats.blank_lines += 1
            continue
        sink.add(f"{name}:{number}", line, label)


def _read_mr(path: Path, sink: _RowSink, encoding: str) -> None:
    if path.is_dir():
        for index, file_name in enumerate(_MR_FILES):  # neg (0) first, then pos (1)
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


def _add_record(sink: _RowSink, location: str, record: Any, text_column: str, label_column: str | None) -> None:
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
    sink.add(location, record[text_column], raw_label)


def _skip_ws(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return index


def _read_json(path: Path, sink: _RowSink, encoding: str, text_column: str, label_column: str | None) -> None:
    """A JSON array of objects (location ``name[i]``), or JSON Lines when the file does not start with ``[``."""
    name = path.name
    text = _read_text(path, encoding)
    start = _skip_ws(text, 0)
    if start >= len(text):
        raise DataFormatError(f"{name}:1", "file", "empty file (expected a JSON array of objects)")
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
        _add_record(sink, f"{name}[{record_number}]", record, text_column, label_column)
        record_number += 1
        index = _skip_ws(text, end)
        if index < len(text) and text[index] == ",":
            index = _skip_ws(text, index + 1)
            continue
        if index < len(text) and text[index] == "]":
            break
        line += text.count("\n", line_pos, index)
        raise DataFormatError(f"{name}:{line}", "file", "invalid JSON: expected ',' or ']' after an array element")


def _read_jsonl_text(name: str, text: str, sink: _RowSink, text_column: str, label_column: str | None) -> None:
    for number, line in _lines(text):
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
        _add_record(sink, location, record, text_column, label_column)


def _read_csv(
    path: Path, sink: _RowSink, encoding: str, text_column: str, label_column: str | None, delimiter: str
) -> None:
    name = path.name
    reader = csv.reader(io.StringIO(_read_text(path, encoding), newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise DataFormatError(f"{name}:1", "file", "empty file (expected a header row)") from None
    header = [h.strip() for h in header]
    for column in (text_column, label_column):
        if column is not None and column not in header:
            raise DataFormatError(
                f"{name}:1", "file", f"no column {column!r} in the header ({', '.join(map(repr, header))}); "
                "set text_column= / label_column= (label_column=None for unlabelled data)"
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
            sink.bad(location, "wrong_column_count", f"expected {len(header)} columns as in the header, got {len(row)}")
            continue
        sink.add(location, row[text_index], row[label_index] if label_index is not None else None)


def _label_feature(labels: str, kind: str | None):
    from datasets import ClassLabel, Value

    if labels in LABEL_SCHEMES:
        return ClassLabel(names=LABEL_SCHEMES[labels])
    return Value("int64")


def _build_dataset(sink: _RowSink):
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
            A local file or folder (e.g. ``modeling_ctam.paths.data_path("en", "sst2", "dev.tsv")``) or a Hub
            dataset id (``"fancyzhx/yelp_polarity"``, ``"Yelp/yelp_review_full"``, ``"SEACrowd/gklmip_sentiment"``).
        data_format (`str`, *optional*):
            One of :data:`DATA_FORMATS`; ``None`` infers it with :func:`resolve_format`.
        split (`str`, *optional*, defaults to `"train"`):
            Split to load from the Hub (any slice ``datasets`` accepts, e.g. ``"train[:10%]"``). Local files are one
            split each, and ignore it.
        labels (`str`, *optional*, defaults to `"binary"`):
            ``"binary"``, ``"three-class"`` or ``"raw"`` (see the module docstring). Star ratings of 3 are dropped
            (and counted in ``LoadStats.dropped``) under ``"binary"``. Binary sources with ``"three-class"`` raise.
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
            ``"en"`` or ``"my"``; Burmese texts go through :func:`modeling_ctam.burmese.preprocess`. Defaults to
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
    >>> from modeling_ctam.paths import data_path
    >>> train = load_examples(data_path("my", "gklmip", "product_sentiment_dataset_train.json"))
    >>> len(train), get_load_stats(train).dropped
    (2392, {'3_star_in_binary': 100})
    ```
    """
    _check_choice("labels", labels, LABEL_CHOICES)
    _check_choice("on_error", on_error, ON_ERROR_CHOICES)
    if language is not None:
        _check_choice("language", language, LANGUAGES)
    if source_labels is not None:
        _check_choice("source_labels", source_labels, tuple(SOURCE_LABEL_KINDS))
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
                f"{source_labels!r} does not apply."
            )
        kind: str | None = _FORMAT_KIND[data_format]
    else:
        kind = source_labels or "binary"
        if label_column is None:
            kind = None
    language = language or _FORMAT_LANGUAGE.get(data_format, "en")
    encoding = encoding or ("latin-1" if data_format == "mr" else "utf-8")
    stats = LoadStats(source=path.name, data_format=data_format, label_scheme=labels, language=language)
    sink = _RowSink(
        stats,
        kind=kind,
        labels=labels,
        label_map=label_map,
        on_error=on_error,
        max_chars=max_chars,
        language=language,
        check_utf8=_is_utf8(encoding),
    )
    if data_format == "sst2-tsv":
        _read_sst2(path, sink, encoding)
    elif data_format == "uci-tsv":
        _read_uci(path, sink, encoding)
    elif data_format == "mr":
        _read_mr(path, sink, encoding)
    elif data_format == "gklmip-json":
        _read_json(path, sink, encoding, "text", "label")
    elif data_format == "json":
        _read_json(path, sink, encoding, text_column, label_column)
    elif data_format == "jsonl":
        _read_jsonl_text(path.name, _read_text(path, encoding), sink, text_column, label_column)
    elif data_format == "csv":
        if delimiter is None:
            delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        _read_csv(path, sink, encoding, text_column, label_column, delimiter)
    else:  # pragma: no cover - resolve_format only returns DATA_FORMATS
        raise AssertionError(data_format)
    dataset = _build_dataset(sink)
    return (dataset, stats) if return_stats else dataset


def _check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(map(repr, choices))}")


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
                "GKLMIP JSON files instead (data_format='gklmip-json')."
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

    _check_choice("labels", labels, LABEL_CHOICES)
    _check_choice("on_error", on_error, ON_ERROR_CHOICES)
    if spec is not None:
        text_column = spec.text_column if text_column == "text" else text_column
        label_column = spec.label_column if label_column == "label" else label_column
        source_labels = source_labels or spec.source_labels
        language = language or spec.language
    language = language or "en"
    _check_choice("language", language, LANGUAGES)
    columns = list(hf_dataset.column_names)
    for column in (text_column, label_column):
        if column is not None and column not in columns:
            raise ValueError(
                f"{name}: no column {column!r} (columns: {', '.join(columns)}); set text_column= / label_column="
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
            f"source_labels= one of {sorted(SOURCE_LABEL_KINDS)} (and label_map= if needed)."
        )
    stats = LoadStats(source=name, data_format="hub", label_scheme=labels, language=language)
    sink = _RowSink(
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


# --------------------------------------------------------------------------------------------------------------------
# Parallel corpora
# --------------------------------------------------------------------------------------------------------------------

PARALLEL_FORMATS = ("talpco", "myxnli")
_MYXNLI_COLUMNS = ("genre", "label", "sentence1_en", "sentence2_en", "sentence1_my", "sentence2_my")


def _resolve_parallel_format(path: Path, data_format: str | None) -> str:
    if data_format is not None:
        _check_choice("data_format", data_format, PARALLEL_FORMATS)
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

    Columns: ``source_text`` (English), ``target_text`` (Burmese, through :func:`modeling_ctam.burmese.preprocess`),
    ``source_label`` and ``label`` (both ``-1``: these corpora carry no sentiment labels), ``pair_id`` and
    ``source_line``.

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
    _check_choice("on_error", on_error, ON_ERROR_CHOICES)
    path = Path(path).expanduser()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist (parallel corpora live under CTAM_DATA_DIR/parallel).")
    data_format = _resolve_parallel_format(path, data_format)
    stats = LoadStats(source=path.name, data_format=data_format, label_scheme=None, language="en-my")
    checker = _RowSink(
        stats, kind=None, labels="raw", label_map=None, on_error=on_error, max_chars=max_chars, language="en",
        check_utf8=True,
    )
    if data_format == "talpco":
        pairs = _read_talpco(path, checker)
    else:
        pairs = _read_myxnli(path, checker)

    preprocess = _burmese().preprocess
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


def _checked_sentence(checker: _RowSink, location: str, text: str) -> str | None:
    """Validates one side of a pair with the shared rules; returns the stripped text or ``None`` (reported)."""
    message = _bad_byte_message(text)
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


def _read_id_file(path: Path, checker: _RowSink) -> dict[str, tuple[str, str]]:
    name = path.name
    out: dict[str, tuple[str, str]] = {}
    for number, line in _lines(_read_text(path, "utf-8")):
        location = f"{name}:{number}"
        if line == "":
            checker.stats.blank_lines += 1
            continue
        parts = _split_tsv(line, 2)
        if len(parts) != 2:
            checker.stats.rows_read += 1
            checker.bad(location, "wrong_column_count", f"expected 'id<TAB>sentence', got {len(parts)} columns")
            continue
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


def _read_talpco(path: Path, checker: _RowSink) -> list[tuple[str, str, str, str]]:
    folder = path if path.is_dir() else path.parent
    english = _read_id_file(folder / "data_eng.txt", checker)
    burmese = _read_id_file(folder / "data_myn.txt", checker)
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


def _read_myxnli(path: Path, checker: _RowSink) -> list[tuple[str, str, str, str]]:
    name = path.name
    lines = _lines(_read_text(path, "utf-8"))
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
        parts = _split_tsv(line, len(header))
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


# --------------------------------------------------------------------------------------------------------------------
# Subsampling
# --------------------------------------------------------------------------------------------------------------------


def _labels_array(dataset, label_column: str) -> np.ndarray:
    if label_column not in dataset.column_names:
        raise ValueError(f"No column {label_column!r} in the dataset (columns: {dataset.column_names})")
    return np.asarray(dataset[label_column], dtype=np.int64)


def _class_ids(dataset, label_column: str, labels: np.ndarray) -> list[int]:
    from datasets import ClassLabel

    if (labels < 0).any():
        raise ValueError(
            f"{int((labels < 0).sum())} rows are unlabelled (label -1); class-balanced sampling needs labels."
        )
    feature = dataset.features.get(label_column)
    if isinstance(feature, ClassLabel):
        return list(range(feature.num_classes))
    return sorted(int(v) for v in np.unique(labels))


def _per_class_sample(dataset, per_class: int, seed: int, label_column: str, what: str):
    labels = _labels_array(dataset, label_column)
    classes = _class_ids(dataset, label_column, labels)
    if not classes:
        raise ValueError(f"{what}: the dataset has no rows.")
    rng = np.random.default_rng(seed)
    chosen = []
    counts = {c: int((labels == c).sum()) for c in classes}
    short = {c: n for c, n in counts.items() if n < per_class}
    if short:
        raise ValueError(
            f"{what}: need {per_class} examples per class, but "
            + ", ".join(f"class {c} has only {n}" for c, n in short.items())
            + f" (class counts: {counts})."
        )
    for c in classes:
        members = np.flatnonzero(labels == c)
        chosen.append(rng.choice(members, size=per_class, replace=False))
    indices = np.concatenate(chosen)
    rng.shuffle(indices)
    return dataset.select(indices.tolist())


def balanced_subsample(dataset, n: int, seed: int = 0, label_column: str = "label"):
    """``n`` examples drawn without replacement with equal counts per class (the paper's 50,000 balanced Yelp reviews).

    Classes are those of the ``ClassLabel`` (so a class missing from the data is an error), else the labels present.
    The result is shuffled with the same seed.

    Raises:
        ValueError: ``n`` not divisible by the number of classes, a class with fewer than ``n / k`` examples, or
            unlabelled rows.
    """
    if n <= 0:
        raise ValueError(f"balanced_subsample: n={n} must be positive")
    labels = _labels_array(dataset, label_column)
    k = len(_class_ids(dataset, label_column, labels))
    if k == 0 or n % k:
        raise ValueError(f"balanced_subsample: n={n} is not divisible by the number of classes ({k})")
    return _per_class_sample(dataset, n // k, seed, label_column, "balanced_subsample")


def few_shot_subsample(dataset, n_per_class: int, seed: int = 0, label_column: str = "label"):
    """``n_per_class`` examples of every class, drawn without replacement and shuffled (few-shot target sets).

    Raises:
        ValueError: a class with fewer than ``n_per_class`` examples, or unlabelled rows.
    """
    if n_per_class <= 0:
        raise ValueError(f"few_shot_subsample: n_per_class={n_per_class} must be positive")
    return _per_class_sample(dataset, n_per_class, seed, label_column, "few_shot_subsample")


# --------------------------------------------------------------------------------------------------------------------
# Bilingual pairing
# --------------------------------------------------------------------------------------------------------------------

PAIRING_MODES = ("random", "label", "parallel")
PAIRING_DRIVERS = ("source", "target")


@dataclass
class PairingConfig:
    """How :class:`PairedDataset` pairs each example of the driving side with one of the other side."""

    mode: str = field(
        default="random",
        metadata={
            "help": "'random' (an example of the other side from a per-epoch permutation; the paper's setting), "
            "'label' (an example of the same label; needs labels on both sides) or 'parallel' (translation pairs)."
        },
    )
    driver: str = field(
        default="source",
        metadata={
            "help": "Which side drives an epoch: 'source' (len = number of English examples) or 'target' "
            "(len = number of Burmese examples). The other side is drawn from per-epoch permutations, cycled."
        },
    )
    seed: int = field(default=42, metadata={"help": "Seed of the pairing; with set_epoch(e) it fixes every pair."})
    use_target_labels: bool = field(
        default=True,
        metadata={
            "help": "Pass target (Burmese) labels to the model (few-shot/supervised). Set False for zero-shot "
            "transfer: items then carry label -100 even when the target data has labels."
        },
    )

    def __post_init__(self):
        _check_choice("PairingConfig.mode", self.mode, PAIRING_MODES)
        _check_choice("PairingConfig.driver", self.driver, PAIRING_DRIVERS)
        if not isinstance(self.seed, (int, np.integer)) or isinstance(self.seed, bool):
            raise ValueError(f"PairingConfig.seed={self.seed!r}: must be an integer")
        if not isinstance(self.use_target_labels, bool):
            raise ValueError(f"PairingConfig.use_target_labels={self.use_target_labels!r}: must be a bool")


def _column(dataset, name: str, default: Any = None) -> list:
    if name in dataset.column_names:
        return list(dataset[name])
    if default is None:
        raise ValueError(f"The dataset has no column {name!r} (columns: {dataset.column_names})")
    return [default] * len(dataset)


def _as_item_label(value: Any) -> int:
    value = int(value)
    return -100 if value < 0 else value


class PairedDataset(torch.utils.data.Dataset):
    """A map-style :class:`torch.utils.data.Dataset` of English-Burmese training pairs.

    Each item is ``{"text": target text, "label": target label or -100, "source_text": ..., "source_label": ... or
    -100}``, ready for :class:`CTAMCollator`.

    Args:
        source (:class:`datasets.Dataset`, *optional*):
            Labelled source-language (English) examples with ``text`` and ``label`` (from :func:`load_examples`).
            Required for ``random`` and ``label`` modes.
        target (:class:`datasets.Dataset`, *optional*):
            Target-language (Burmese) examples with ``text`` and ``label`` (``-1`` = unlabelled).
        config (:class:`PairingConfig`, *optional*): pairing options; keyword arguments override its fields.
        parallel (:class:`datasets.Dataset`, *optional*):
            For ``mode="parallel"``: translation pairs from :func:`load_parallel` (``source_text``, ``target_text``,
            optional ``source_label`` / ``label``). One item per pair, in order (let the sampler shuffle).

    Pairing: the driving side (``driver``) sets the length. In ``random`` mode, driving index ``i`` is paired with
    ``perm[i % m]`` of the other side (size ``m``), where ``perm`` is a permutation drawn from ``(seed, epoch,
    i // m)``: every example of the other side is used once before any repeats, and pairs change with
    :meth:`set_epoch`. ``label`` mode does the same within each class. The same seed and epoch give the same pairs.

    With :class:`transformers.Trainer`: items carry raw text (tokenised by :class:`CTAMCollator`), so set
    ``remove_unused_columns=False``. ``accelerate``'s single-process data loader calls :meth:`set_epoch` at each
    epoch; calling it yourself (e.g. from a callback's ``on_epoch_begin``) is harmless and safer in distributed runs.

    Raises:
        ValueError: missing inputs for the mode, ``label`` mode without labels on both sides, a class with no
            example on the other side, or label schemes that differ (binary source, three-class target).
    """

    def __init__(self, source=None, target=None, config: PairingConfig | None = None, *, parallel=None, **kwargs):
        if config is None:
            config = PairingConfig(**kwargs)
        elif kwargs:
            config = PairingConfig(**{**asdict(config), **kwargs})
        self.config = config
        self.epoch = 0
        self._cache: dict[tuple, np.ndarray] = {}
        mode = config.mode

        if mode == "parallel":
            if parallel is None:
                raise ValueError("PairedDataset(mode='parallel') needs parallel= (a dataset from load_parallel).")
            if source is not None or target is not None:
                raise ValueError(
                    "PairedDataset(mode='parallel') reads its pairs from parallel= only; drop source= and target=."
                )
            self._src_text = _column(parallel, "source_text")
            self._tgt_text = _column(parallel, "target_text")
            self._src_label = [_as_item_label(v) for v in _column(parallel, "source_label", -1)]
            tgt_labels = [_as_item_label(v) for v in _column(parallel, "label", -1)]
            self._tgt_label = tgt_labels if config.use_target_labels else [-100] * len(tgt_labels)
            self._length = len(self._src_text)
            return

        if target is None:
            raise ValueError(f"PairedDataset(mode={mode!r}) needs target= (the Burmese examples).")
        if source is None:
            raise ValueError(f"PairedDataset(mode={mode!r}) needs source= (the labelled English examples).")
        if parallel is not None:
            raise ValueError(f"parallel= is only used with mode='parallel', not mode={mode!r}.")
        self._src_text = _column(source, "text")
        self._tgt_text = _column(target, "text")
        src_raw = np.asarray(_column(source, "label", -1), dtype=np.int64)
        tgt_raw = np.asarray(_column(target, "label", -1), dtype=np.int64)
        if len(self._src_text) == 0 or len(self._tgt_text) == 0:
            raise ValueError("PairedDataset: source and target must both be non-empty.")
        target_labelled = bool((tgt_raw >= 0).any())
        if target_labelled and config.use_target_labels:
            check_label_schemes(label_scheme_of(source), label_scheme_of(target))
        self._src_label = [_as_item_label(v) for v in src_raw]
        self._tgt_label = [_as_item_label(v) for v in tgt_raw] if config.use_target_labels else [-100] * len(tgt_raw)

        driver_is_source = config.driver == "source"
        self._length = len(self._src_text) if driver_is_source else len(self._tgt_text)
        self._n_other = len(self._tgt_text) if driver_is_source else len(self._src_text)

        if mode == "label":
            if (src_raw < 0).any():
                raise ValueError(
                    f"PairedDataset(mode='label'): {int((src_raw < 0).sum())} source examples are unlabelled."
                )
            if not target_labelled or (tgt_raw < 0).any():
                raise ValueError(
                    "PairedDataset(mode='label') pairs examples of the same label, so it needs labels on every target "
                    f"example ({int((tgt_raw < 0).sum())} of {len(tgt_raw)} are unlabelled). Use mode='random' for "
                    "unlabelled Burmese data."
                )
            check_label_schemes(label_scheme_of(source), label_scheme_of(target))
            driver_labels, other_labels = (src_raw, tgt_raw) if driver_is_source else (tgt_raw, src_raw)
            self._pools = {int(c): np.flatnonzero(other_labels == c) for c in np.unique(driver_labels)}
            empty = [c for c, pool in self._pools.items() if len(pool) == 0]
            if empty:
                other = "target" if driver_is_source else "source"
                raise ValueError(
                    f"PairedDataset(mode='label'): no {other} example has label {empty} "
                    f"(counts: {dict(Counter(other_labels.tolist()))})."
                )
            self._driver_labels = driver_labels
            # rank of each driving example among the driving examples of its class
            self._rank = np.zeros(len(driver_labels), dtype=np.int64)
            for c in self._pools:
                members = np.flatnonzero(driver_labels == c)
                self._rank[members] = np.arange(len(members))

    # -- epochs -------------------------------------------------------------------------------------------------------
    def set_epoch(self, epoch: int) -> None:
        """Selects the pairing of ``epoch`` (called by ``accelerate``/Trainer data loaders at each epoch)."""
        if int(epoch) != self.epoch:
            self.epoch = int(epoch)
            self._cache.clear()

    def _perm(self, size: int, cycle: int, class_id: int = -1) -> np.ndarray:
        key = (self.epoch, cycle, class_id)
        perm = self._cache.get(key)
        if perm is None:
            rng = np.random.default_rng([self.config.seed, self.epoch, cycle, class_id + 1])
            perm = rng.permutation(size)
            self._cache[key] = perm
        return perm

    def partner(self, index: int) -> int:
        """Index, on the other side, of the example paired with driving example ``index`` in the current epoch."""
        if self.config.mode == "parallel":
            return index
        if self.config.mode == "random":
            cycle, position = divmod(index, self._n_other)
            return int(self._perm(self._n_other, cycle)[position])
        class_id = int(self._driver_labels[index])
        pool = self._pools[class_id]
        cycle, position = divmod(int(self._rank[index]), len(pool))
        return int(pool[self._perm(len(pool), cycle, class_id)[position]])

    # -- torch Dataset protocol ---------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: int) -> dict[str, Any]:
        if index < 0:
            index += self._length
        if not 0 <= index < self._length:
            raise IndexError(f"PairedDataset index {index} out of range for length {self._length}")
        other = self.partner(index)
        if self.config.mode == "parallel" or self.config.driver == "source":
            source_index, target_index = index, other
        else:
            source_index, target_index = other, index
        return {
            "text": self._tgt_text[target_index],
            "label": self._tgt_label[target_index],
            "source_text": self._src_text[source_index],
            "source_label": self._src_label[source_index],
        }


# --------------------------------------------------------------------------------------------------------------------
# Tokenisation and collation
# --------------------------------------------------------------------------------------------------------------------

_warned: set[str] = set()


def _word_ids_tensor(rows: Sequence[Sequence[int | None]], length: int, where: str):
    out = torch.full((len(rows), length), -1, dtype=torch.long)
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) > length:
            raise ValueError(
                f"{where}: word_ids of sequence {i} have {len(row)} positions, more than the {length} tokens of the "
                "batch; the word segmenter and the tokenizer disagree."
            )
        values = [-1 if w is None or w < 0 else int(w) for w in row]
        if values:
            out[i, : len(values)] = torch.tensor(values, dtype=torch.long)
    return out


def _encode(
    tokenizer,
    texts: Sequence[str],
    *,
    language: str,
    max_length: int,
    word_ids: bool,
    preprocess: bool,
    pad_to_multiple_of: int | None = None,
) -> tuple[dict[str, Any], int]:
    """Tokenises one side of a batch. Returns ``(tensors, number of truncated texts)``."""
    _check_choice("language", language, LANGUAGES)
    texts = list(texts)
    if preprocess and language == "my":
        preprocess_fn = _burmese().preprocess
        texts = [preprocess_fn(t) for t in texts]
    call_kwargs = dict(
        padding="longest",
        truncation=True,
        max_length=max_length,
        pad_to_multiple_of=pad_to_multiple_of,
        return_token_type_ids=False,
    )
    encoding = tokenizer(texts, return_tensors="pt", **call_kwargs)
    encodings = getattr(encoding, "encodings", None)
    if encodings is not None:
        n_truncated = sum(1 for e in encodings if e.overflowing)
    else:  # slow tokenizer: count with an untruncated pass
        lengths = tokenizer(texts, truncation=False, return_length=True)["length"]
        n_truncated = sum(1 for n in lengths if n > max_length)
    out = {"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"]}
    if word_ids:
        if language == "my":
            segmented = _burmese().batch_word_ids(tokenizer, texts, return_tensors="pt", **call_kwargs)
            if not torch.equal(segmented["input_ids"], out["input_ids"]):
                raise RuntimeError(
                    "burmese.batch_word_ids tokenised the batch differently from the collator; word_ids would not "
                    "line up with input_ids."
                )
            out["word_ids"] = segmented["word_ids"].long()
        else:
            if encodings is None:
                raise ValueError("word_ids=True for English needs a fast tokenizer (its word_ids()).")
            rows = [encoding.word_ids(i) for i in range(len(texts))]
            out["word_ids"] = _word_ids_tensor(rows, out["input_ids"].shape[1], f"word_ids ({language})")
    return out, n_truncated


def _warn_truncation(key: str, n_truncated: int, total: int, max_length: int) -> None:
    if n_truncated and key not in _warned:
        _warned.add(key)
        logger.warning(
            "%d of %d texts in a batch were truncated to max_length=%d tokens (further truncation is counted "
            "silently; see CTAMCollator.num_truncated).",
            n_truncated,
            total,
            max_length,
        )


def tokenize_for_eval(
    tokenizer,
    texts: str | Sequence[str],
    language: str = "my",
    *,
    max_length: int = 128,
    word_ids: bool = False,
    preprocess: bool = True,
) -> dict[str, Any]:
    """Tokenises raw texts exactly as training does, for evaluation and the pipeline.

    Burmese texts (``language="my"``) go through :func:`modeling_ctam.burmese.preprocess` (as :func:`load_examples`
    does), then the tokenizer with dynamic padding and truncation at ``max_length``.

    Returns:
        `dict` of `torch.LongTensor`: ``input_ids``, ``attention_mask`` (and ``word_ids`` with ``word_ids=True``:
        ``-1`` for special and padding tokens, words numbered from 0 in each sequence).
    """
    if isinstance(texts, str):
        texts = [texts]
    out, n_truncated = _encode(
        tokenizer, texts, language=language, max_length=max_length, word_ids=word_ids, preprocess=preprocess
    )
    _warn_truncation(f"eval-{language}", n_truncated, len(texts), max_length)
    return out


@dataclass
class CTAMCollator:
    """Batches :class:`PairedDataset` items (or plain ``load_examples`` rows) into the tensors CTAM's ``forward`` takes.

    Output keys: ``input_ids``, ``attention_mask``, ``labels`` (target labels, ``-100`` where unknown) and, when the
    items carry ``source_text``, ``source_input_ids``, ``source_attention_mask``, ``source_labels``; with
    ``word_ids=True`` also ``word_ids`` (and ``source_word_ids``): `torch.LongTensor` ``(B, T)``, ``-1`` for special
    and padding tokens, words numbered from 0 in each sequence (Burmese from the word segmenter through
    :func:`modeling_ctam.burmese.batch_word_ids`, English from the fast tokenizer's ``word_ids()``).
    Each side is padded to its longest sequence and truncated at ``max_length``.
    """

    tokenizer: Any = field(metadata={"help": "A (fast) Hugging Face tokenizer."})
    max_length: int = field(default=128, metadata={"help": "Truncate longer sequences to this many tokens."})
    word_ids: bool = field(default=False, metadata={"help": "Also return word_ids / source_word_ids."})
    language: str = field(default="my", metadata={"help": "Language of the items' `text` (the target)."})
    source_language: str = field(default="en", metadata={"help": "Language of the items' `source_text`."})
    preprocess: bool = field(
        default=False,
        metadata={
            "help": "Run Burmese preprocessing on the texts. False by default because load_examples/load_parallel "
            "already did; set True for datasets built without them."
        },
    )
    pad_to_multiple_of: int | None = field(default=None, metadata={"help": "Pad lengths to a multiple of this."})

    def __post_init__(self):
        if self.tokenizer is None or not callable(self.tokenizer):
            raise ValueError("CTAMCollator.tokenizer must be a Hugging Face tokenizer.")
        if not isinstance(self.max_length, int) or self.max_length < 2:
            raise ValueError(f"CTAMCollator.max_length={self.max_length!r}: must be an integer >= 2")
        _check_choice("CTAMCollator.language", self.language, LANGUAGES)
        _check_choice("CTAMCollator.source_language", self.source_language, LANGUAGES)
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise ValueError(f"CTAMCollator.pad_to_multiple_of={self.pad_to_multiple_of}: must be >= 1 or None")
        self.num_truncated = 0
        self._warned = False

    def _side(self, texts: list[str], language: str) -> dict[str, Any]:
        out, n_truncated = _encode(
            self.tokenizer,
            texts,
            language=language,
            max_length=self.max_length,
            word_ids=self.word_ids,
            preprocess=self.preprocess,
            pad_to_multiple_of=self.pad_to_multiple_of,
        )
        if n_truncated:
            self.num_truncated += n_truncated
            if not self._warned:
                self._warned = True
                logger.warning(
                    "CTAMCollator: %d of %d %s texts in this batch were longer than max_length=%d tokens and were "
                    "truncated; later truncations are counted in CTAMCollator.num_truncated without warning.",
                    n_truncated,
                    len(texts),
                    language,
                    self.max_length,
                )
        return out

    def __call__(self, features: list[Mapping[str, Any]]) -> dict[str, Any]:
        if not features:
            raise ValueError("CTAMCollator got an empty batch.")
        has_source = ["source_text" in f for f in features]
        if any(has_source) and not all(has_source):
            raise ValueError(
                "CTAMCollator: some items have 'source_text' and some do not; do not mix paired and plain items."
            )
        texts = [f["text"] for f in features]
        batch: dict[str, Any] = {}
        target = self._side(texts, self.language)
        batch["input_ids"] = target["input_ids"]
        batch["attention_mask"] = target["attention_mask"]
        batch["labels"] = torch.tensor([_as_item_label(f.get("label", -100)) for f in features], dtype=torch.long)
        if all(has_source):
            source = self._side([f["source_text"] for f in features], self.source_language)
            batch["source_input_ids"] = source["input_ids"]
            batch["source_attention_mask"] = source["attention_mask"]
            batch["source_labels"] = torch.tensor(
                [_as_item_label(f.get("source_label", -100)) for f in features], dtype=torch.long
            )
            if self.word_ids:
                batch["source_word_ids"] = source["word_ids"]
        if self.word_ids:
            batch["word_ids"] = target["word_ids"]
        return batch
