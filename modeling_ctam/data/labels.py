# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Label schemes: the class names a model predicts, and how each source's raw labels map onto them.

``labels="binary"`` (negative=0, positive=1), ``labels="three-class"`` (negative=0, neutral=1, positive=2),
``labels="five-class"`` (one class per star, "1 star"=0 .. "5 stars"=4) or ``labels="raw"`` (the source's own
integers: stars 1..5, or 0/1). Star ratings map as in ``docs/method.md`` section 5: binary 1-2 -> negative,
4-5 -> positive, 3 dropped (and counted); three-class 1-2 -> negative, 3 -> neutral, 4-5 -> positive; five-class one
class per star. Natively binary data (SST-2, UCI, MR, ``fancyzhx/yelp_polarity``) cannot be turned into three or five
classes: asking for it raises a :class:`ValueError` (there is no neutral class to learn from); train.py can still use
such data's texts without their labels (``use_source_labels: false``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LABEL_SCHEMES: dict[str, list[str]] = {
    "binary": ["negative", "positive"],
    "three-class": ["negative", "neutral", "positive"],
    "five-class": ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"],
}
"""Class names per label scheme; the list index is the label id."""

LABEL_CHOICES = ("binary", "three-class", "five-class", "raw")

SOURCE_LABEL_KINDS: dict[str, tuple[int, ...]] = {
    "binary": (0, 1),  # 0 = negative, 1 = positive
    "stars": (1, 2, 3, 4, 5),  # star ratings
    "stars0": (0, 1, 2, 3, 4),  # star ratings minus one (Yelp/yelp_review_full)
    "three-class": (0, 1, 2),  # negative, neutral, positive
}
"""What the labels of a source mean, with the raw integer values each kind accepts."""


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
    """The label scheme of a dataset from :func:`load_examples` (a key of :data:`LABEL_SCHEMES`) or ``None``.

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
    if source_scheme == "binary" and target_scheme in ("three-class", "five-class"):
        raise ValueError(
            f"The source data is binary (negative/positive) but the target uses {LABEL_SCHEMES[target_scheme]}: "
            f"binary English data cannot train a {target_scheme} model, it has no neutral examples. Use "
            "labels='binary' for the target, a star-rated source (e.g. 'Yelp/yelp_review_full') loaded with the same "
            "labels, or pass the English texts without their labels (train.py: use_source_labels: false)."
        )
    raise ValueError(
        f"Label schemes differ: source {source_scheme!r} {LABEL_SCHEMES.get(source_scheme)} vs target "
        f"{target_scheme!r} {LABEL_SCHEMES.get(target_scheme)}. Load both sides with the same `labels=`."
    )


def convert_label(value: int, kind: str, labels: str) -> int | str:
    """Maps a validated raw label to the scheme; returns a drop reason (`str`) when the scheme has no class for it."""
    if kind == "stars0":
        value, kind = value + 1, "stars"
    if labels == "raw":
        return value
    if kind == "binary":
        if labels == "binary":
            return value
        raise ValueError(
            f"Binary data (negative/positive) cannot be loaded with labels={labels!r}: it has no neutral class, "
            f"so binary English data cannot train a {labels} model. Use labels='binary', a star-rated source, or "
            "(train.py) use_source_labels: false to keep the English texts without their labels."
        )
    if kind == "stars":
        if labels == "binary":
            return {1: 0, 2: 0, 4: 1, 5: 1}.get(value, "3_star_in_binary")
        if labels == "five-class":
            return value - 1
        return {1: 0, 2: 0, 3: 1, 4: 2, 5: 2}[value]
    if kind == "three-class":
        if labels == "three-class":
            return value
        if labels == "five-class":
            raise ValueError(
                "Three-class data (negative/neutral/positive) cannot be loaded with labels='five-class': "
                "it has no star ratings. Use labels='three-class' or 'binary'."
            )
        return {0: 0, 2: 1}.get(value, "neutral_in_binary")
    raise AssertionError(kind)


def class_prior(labels: Sequence[int], num_classes: int) -> np.ndarray:
    """The class prior of the labelled rows (labels >= 0), smoothed by one count per class: `(n_c + 1) / (N + C)`."""
    labels = np.asarray([int(v) for v in labels if v is not None and int(v) >= 0], dtype=np.int64)
    counts = np.bincount(labels, minlength=num_classes)[:num_classes].astype(np.float64)
    return (counts + 1.0) / (counts.sum() + num_classes)
