# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Row validation and load statistics: the checks every reader shares, and what a load kept, dropped and skipped.

Labels are the source's numbers (``0``/``1``, stars ``1``-``5``, ...) or class names (``positive``, `` Negative``,
``NEUTRAL``: case and surrounding space ignored), mapped onto the scheme's classes; ``neutral`` in the binary scheme
is dropped and counted (``neutral_in_binary``), as 3-star rows are.

A malformed row (wrong column count, unknown label, empty or whitespace-only text, a text longer than
``max_chars``, bytes that are not UTF-8 in a UTF-8 file, a missing field) raises :class:`DataFormatError` (a
:class:`ValueError`) whose message starts with the location, e.g. ``train.tsv:17: unknown label 'x' (expected one
of 0, 1)``. With ``on_error="skip"`` the row is skipped and counted instead, and one warning per file summarises the
counts per reason with the first few locations. Every loaded dataset carries a :class:`LoadStats`, stored as JSON in
``dataset.info.description`` (it survives ``select``/``filter``/``shuffle``) and returned by :func:`get_load_stats`.
``rows_read == rows_kept + sum(dropped) + sum(skipped)`` always holds.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Mapping, Sequence

import numpy as np

from .labels import LABEL_SCHEMES, SOURCE_LABEL_KINDS, convert_label

logger = logging.getLogger(__name__)

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
    "not_burmese",
)

DEFAULT_MAX_CHARS = 10_000
_MAX_LOGGED_BAD_ROWS = 5


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raises a `ValueError` naming the argument when `value` is not one of `choices`."""
    if value not in choices:
        raise ValueError(f"{name}={value!r}: expected one of {', '.join(map(repr, choices))}")


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
    label_scheme: str | None = field(
        default=None, metadata={"help": "'binary', 'three-class', 'five-class', 'raw' or None."}
    )
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
        for mine, theirs in (
            (self.dropped, other.dropped),
            (self.skipped, other.skipped),
            (self.label_counts, other.label_counts),
        ):
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


def is_utf8(encoding: str) -> bool:
    return encoding.lower().replace("_", "-") in ("utf-8", "utf8", "utf-8-sig")


def bad_byte_message(text: str) -> str | None:
    match = _BAD_BYTE.search(text)
    if match is None:
        return None
    byte = ord(match.group()) - 0xDC00
    return (
        f"invalid UTF-8 (byte 0x{byte:02x} at character {match.start()}); if the file is Latin-1, "
        "pass --encoding latin-1 (eval.py; encoding='latin-1' in load_examples)"
    )


class RowSink:
    """Validates raw rows, maps their labels and collects the dataset columns and the statistics.

    ``kind=None`` reads unlabelled text (label ``-1``). Burmese texts go through ``burmese.preprocess`` unless
    ``preprocess=False`` (the alignment corpora, whose static-vector pass prepares each text itself).
    """

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
        preprocess: bool = True,
    ):
        self.stats = stats
        self.kind = kind  # None = unlabelled
        self.labels = labels
        self.label_map = None if label_map is None else {str(k).strip(): v for k, v in label_map.items()}
        self.on_error = on_error
        self.max_chars = max_chars
        self.language = language
        self.check_utf8 = check_utf8
        if kind == "binary" and labels in ("three-class", "five-class"):
            convert_label(0, "binary", labels)  # raises the binary -> three/five-class error
        self.texts: list[str] = []
        self.label_ids: list[int] = []
        self.locations: list[str] = []
        self._preprocess = load_burmese().preprocess if language == "my" and preprocess else None

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

    def _names_hint(self) -> str:
        names = [n for n in LABEL_SCHEMES.get(self.labels, []) if n in _CLASS_NAMES]
        return f" or a class name ({', '.join(names)})" if names and self.label_map is None else ""

    def parse_label(self, raw: Any, location: str) -> int | None:
        """The raw label as a validated integer of ``self.kind``, or ``None`` after reporting a bad row."""
        value: Any = raw
        if self.label_map is not None:
            key = str(raw).strip() if not isinstance(raw, float) or not raw.is_integer() else str(int(raw))
            if key not in self.label_map:
                self.bad(
                    location,
                    "unknown_label",
                    f"unknown label {raw!r} (expected one of {self._expected()}){self._names_hint()}",
                )
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
                self.bad(
                    location,
                    "unknown_label",
                    f"unknown label {raw!r} (expected one of {self._expected()}){self._names_hint()}",
                )
            return None
        return parsed

    def label_from_name(self, raw: str, location: str) -> int | str | None:
        """A label written as a class name (case and surrounding space ignored) as the scheme's id; a drop reason
        when the scheme has no such class (`neutral` in the binary scheme, counted like 3-star rows); `None` after
        reporting a bad row."""
        name = _class_name(raw)
        names = LABEL_SCHEMES.get(self.labels, [])
        if name in names:
            return names.index(name)
        if name == "neutral" and self.labels == "binary":
            return "neutral_in_binary"
        self.bad(
            location,
            "unknown_label",
            f"label {raw!r} is a class name the {self.labels!r} scheme does not have "
            f"(its classes: {', '.join(names) or 'none by name'})",
        )
        return None

    # -- rows ---------------------------------------------------------------------------------------------------------
    wants_records = False  # readers pass each whole record to `add` only when a sink asks for them

    def add(self, location: str, text: Any, raw_label: Any = None, record: Mapping[str, Any] | None = None) -> None:
        """Validates one record and appends it (or reports it as bad, or drops it by the label scheme). ``record``,
        the whole input record, is given to sinks with ``wants_records`` (this one ignores it)."""
        self.stats.rows_read += 1
        if text is None:
            self.bad(location, "missing_field", "text is missing (null)")
            return
        if not isinstance(text, str):
            self.bad(location, "bad_record", f"text is not a string but {type(text).__name__}: {text!r:.60}")
            return
        if self.check_utf8:
            message = bad_byte_message(text)
            if message is None and isinstance(raw_label, str):
                message = bad_byte_message(raw_label)
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
            if self.label_map is None and _class_name(raw_label) is not None:
                converted = self.label_from_name(raw_label, location)  # 'positive', ' Negative', 'NEUTRAL'
            else:
                parsed = self.parse_label(raw_label, location)
                converted = None if parsed is None else convert_label(parsed, self.kind, self.labels)
            if converted is None:
                return
            if isinstance(converted, str):
                self.drop(converted)
                return
            label_id = converted
        if self._preprocess is not None:
            text = self._preprocess(text)
            if not text.strip():
                self.bad(location, "empty_text", "text is empty after Burmese preprocessing")
                return
        self._keep(location, text, label_id)

    def _keep(self, location: str, text: str, label_id: int) -> None:
        """Collects one valid row (a streaming sink hands it on instead, :mod:`.stream`)."""
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


_CLASS_NAMES = ("negative", "neutral", "positive")


def _class_name(raw: Any) -> str | None:
    """`raw` as a sentiment class name (`negative`, `neutral`, `positive`; case and surrounding space ignored)."""
    if isinstance(raw, str) and raw.strip().lower() in _CLASS_NAMES:
        return raw.strip().lower()
    return None


def load_burmese():
    """Lazy import of :mod:`modeling_ctam.data.burmese` (the one place for Burmese preprocessing and segmentation)."""
    try:
        from . import burmese
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError(
            "Burmese text needs modeling_ctam.data.burmese (preprocess, batch_word_ids) and its dependencies "
            "(myanmartools, python-myanmar, burmesenlp)."
        ) from error
    return burmese
