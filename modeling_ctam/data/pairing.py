# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Which examples a training step sees: class-balanced and few-shot subsampling, and bilingual pairing.

:class:`PairedDataset` pairs every example of the driving side (English source or Burmese target) with one of the
other side, drawn from per-epoch permutations (``random``), from the same class (``label``), or by translation
(``parallel``, from :func:`modeling_ctam.data.parallel.load_parallel`). The pairing modes are CTAMConfig's
:data:`~modeling_ctam.configuration_ctam.PAIRING_MODES`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch.utils.data

from ..configuration_ctam import PAIRING_MODES
from .labels import check_label_schemes, label_scheme_of
from .rows import check_choice

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

    The draw is nested: class ``c``'s members are permuted once by ``(seed, c)`` and the first ``n_per_class`` taken,
    so for one seed the k=8 set lies inside the k=32 set, which lies inside the k=128 set (a learning curve adds
    labels rather than redrawing them). The same seed gives the same rows.

    Raises:
        ValueError: a class with fewer than ``n_per_class`` examples, or unlabelled rows.
    """
    if n_per_class <= 0:
        raise ValueError(f"few_shot_subsample: n_per_class={n_per_class} must be positive")
    labels = _labels_array(dataset, label_column)
    classes = _class_ids(dataset, label_column, labels)
    counts = {c: int((labels == c).sum()) for c in classes}
    short = {c: n for c, n in counts.items() if n < n_per_class}
    if not classes or short:
        raise ValueError(
            f"few_shot_subsample: need {n_per_class} examples per class, but "
            + ", ".join(f"class {c} has only {n}" for c, n in short.items())
            + f" (class counts: {counts})."
        )
    chosen = [np.random.default_rng([seed, c]).permutation(np.flatnonzero(labels == c))[:n_per_class] for c in classes]
    indices = np.concatenate(chosen)
    np.random.default_rng(seed).shuffle(indices)
    return dataset.select(indices.tolist())


# --------------------------------------------------------------------------------------------------------------------
# Bilingual pairing
# --------------------------------------------------------------------------------------------------------------------

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
        check_choice("PairingConfig.mode", self.mode, PAIRING_MODES)
        check_choice("PairingConfig.driver", self.driver, PAIRING_DRIVERS)
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


def as_item_label(value: Any) -> int:
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

    Attributes:
        target_labels (`list[int]`): the label each Burmese row carries into the items (-100 where it is unlabelled,
            or where the setting withholds its label); the class-imbalance handling reads it.

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
            self._src_label = [as_item_label(v) for v in _column(parallel, "source_label", -1)]
            tgt_labels = [as_item_label(v) for v in _column(parallel, "label", -1)]
            self.target_labels = tgt_labels if config.use_target_labels else [-100] * len(tgt_labels)
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
        self._src_label = [as_item_label(v) for v in src_raw]
        self.target_labels = [as_item_label(v) for v in tgt_raw] if config.use_target_labels else [-100] * len(tgt_raw)

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
            "label": self.target_labels[target_index],
            "source_text": self._src_text[source_index],
            "source_label": self._src_label[source_index],
        }
