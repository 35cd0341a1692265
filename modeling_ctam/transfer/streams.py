"""Stage-2 training items: several streams in one batch (method.md section 3, "Pairing").

Every item has one Burmese row on the student path and one labelled English row on the source path:

- the **English** row (always): `L_T` keeps the classifier on the English labels, and it is the source side of
  `L_S`, weighted by the target/source class-prior ratio of its label;
- the **Burmese** row comes from one of two streams:
  - *parallel*: a Burmese sentence whose English translation is its eq. 10 teacher pair (`L_R`);
  - *unlabelled*: an in-domain Burmese review. With self-training it carries the teacher's pseudo-label (`L_T`);
    with `pairing="pseudo-label"` its eq. 10 teacher pair is an English review of that class;
  - *labelled* (the few-shot and supervised settings): a Burmese review with its gold label (`L_T`, hard, so the
    run's imbalance handling applies); with `pairing="pseudo-label"` its eq. 10 teacher pair is an English review of
    its gold class (label-aware pairing).

Controls: `pairing="random"` pairs the reviews with an English review of any class, and `shuffle_parallel=True` keeps
the parallel sentences but breaks the translation link.

The items are drawn once, up front (their number is what stage 2 will consume), so that the frozen teacher's states
are computed for exactly the English sentences that are used (:mod:`.teacher`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from ..data import CTAMCollator

UNLABELLED_PAIRINGS = ("pseudo-label", "random", "none")


@dataclass
class Stage2Streams:
    """Inputs of :func:`build_stage2_items`.

    Args:
        english_texts / english_labels: the labelled English rows.
        parallel (`list[tuple[str, str]]`): `(burmese, english)` translation pairs (may be empty).
        unlabelled (`list[str]`): unlabelled Burmese reviews.
        pseudo_targets (`dict[int, np.ndarray]`): per unlabelled row index, its pseudo-label target `(C,)` (one-hot or
            soft), already scaled by its weight.
        pseudo_labels (`dict[int, int]`): per unlabelled row index, the hard pseudo-label (for class-conditional
            pairing).
        source_weights (`np.ndarray` of shape `(C,)`, *optional*): `L_S` weight of an English row of each class.
        labelled (`list[tuple[str, int]]`): gold-labelled Burmese reviews `(text, label)` (may be empty).
    """

    english_texts: list[str]
    english_labels: list[int]
    parallel: list[tuple[str, str]] = field(default_factory=list)
    unlabelled: list[str] = field(default_factory=list)
    pseudo_targets: dict[int, np.ndarray] = field(default_factory=dict)
    pseudo_labels: dict[int, int] = field(default_factory=dict)
    source_weights: np.ndarray | None = None
    labelled: list[tuple[str, int]] = field(default_factory=list)


def build_stage2_items(
    streams: Stage2Streams,
    num_items: int,
    *,
    parallel_share: float,
    pairing: str,
    shuffle_parallel: bool = False,
    seed: int = 0,
    labelled_share: float = 0.5,
) -> list[dict[str, Any]]:
    """Draw `num_items` stage-2 items (see the module docstring). Deterministic for a seed.

    Args:
        parallel_share (`float`): share of items whose Burmese row is a parallel sentence (0 without parallel data).
        pairing (`str`): eq. 10 pair of an unlabelled review: `"pseudo-label"` (an English review of its pseudo-label's
            class; reviews without a pseudo-label get none), `"random"` (any English review, a control) or `"none"`.
        shuffle_parallel (`bool`): the shuffled-parallel control: the translation link is broken by a permutation.
        labelled_share (`float`): share of the non-parallel items whose Burmese row is a gold-labelled review when
            there are unlabelled reviews too (all of them when there are none; none without labelled reviews).

    Each item: `text`, `label` (-100), `source_text`, `source_label`, `source_weight`, `soft_label` (`(C,)` or
    None), `teacher_text` (the English sentence whose teacher states are its eq. 10 target, or None), `stream`.
    """
    if pairing not in UNLABELLED_PAIRINGS:
        raise ValueError(
            f"pairing={pairing!r} is not supported for unlabelled reviews; use one of {UNLABELLED_PAIRINGS}."
        )
    if not 0.0 <= parallel_share <= 1.0:
        raise ValueError(f"parallel_share={parallel_share} must lie in [0, 1].")
    if parallel_share > 0 and not streams.parallel:
        raise ValueError("parallel_share > 0 needs parallel sentences (parallel_data).")
    if parallel_share < 1 and not streams.unlabelled and not streams.labelled:
        raise ValueError("the unlabelled stream is empty: give target_train texts, or set parallel_share=1.")
    if not 0.0 <= labelled_share <= 1.0:
        raise ValueError(f"labelled_share={labelled_share} must lie in [0, 1].")
    rng = np.random.default_rng(seed)
    english_labels = np.asarray(streams.english_labels)
    by_class = {int(c): np.flatnonzero(english_labels == c) for c in np.unique(english_labels)}
    n_parallel = int(round(num_items * parallel_share))
    share = 0.0 if not streams.labelled else 1.0 if not streams.unlabelled else labelled_share
    n_labelled = int(round((num_items - n_parallel) * share))
    parallel_rows = _cycle(rng, len(streams.parallel), n_parallel)
    labelled_rows = _cycle(rng, len(streams.labelled), n_labelled)
    unlabelled_rows = _cycle(rng, len(streams.unlabelled), num_items - n_parallel - n_labelled)
    partner = rng.permutation(len(streams.parallel)) if shuffle_parallel and streams.parallel else None
    english_rows = rng.integers(0, len(english_labels), size=num_items)
    items = []
    for k in range(num_items):
        e = int(english_rows[k])
        item = {
            "label": -100,
            "source_text": streams.english_texts[e],
            "source_label": int(english_labels[e]),
            "source_weight": 1.0
            if streams.source_weights is None
            else float(streams.source_weights[english_labels[e]]),
            "soft_label": None,
            "teacher_text": None,
            "stream": "unlabelled",
        }
        if k < n_parallel:
            p = int(parallel_rows[k])
            item["text"] = streams.parallel[p][0]
            item["stream"] = "parallel"
            item["teacher_text"] = streams.parallel[p if partner is None else int(partner[p])][1]
        elif k < n_parallel + n_labelled:
            text, gold = streams.labelled[int(labelled_rows[k - n_parallel])]
            item.update(text=text, label=int(gold), stream="labelled")
            if pairing == "pseudo-label" and len(by_class.get(int(gold), ())):
                item["teacher_text"] = streams.english_texts[int(rng.choice(by_class[int(gold)]))]
            elif pairing == "random":
                item["teacher_text"] = streams.english_texts[int(rng.integers(0, len(english_labels)))]
        else:
            u = int(unlabelled_rows[k - n_parallel - n_labelled])
            item["text"] = streams.unlabelled[u]
            if u in streams.pseudo_targets:
                item["soft_label"] = streams.pseudo_targets[u]
            if pairing == "pseudo-label" and u in streams.pseudo_labels:
                pool = by_class.get(streams.pseudo_labels[u])
                if pool is not None and len(pool):
                    item["teacher_text"] = streams.english_texts[int(rng.choice(pool))]
            elif pairing == "random":
                item["teacher_text"] = streams.english_texts[int(rng.integers(0, len(english_labels)))]
        items.append(item)
    order = rng.permutation(num_items)  # mix the streams within batches
    return [items[i] for i in order]


def _cycle(rng: np.random.Generator, n: int, count: int) -> np.ndarray:
    """`count` indices into `range(n)`: whole shuffled passes, then a shuffled part of one more."""
    if count <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    passes = [rng.permutation(n) for _ in range(-(-count // n))]
    return np.concatenate(passes)[:count]


def attach_teacher_states(items: list[dict], states_by_text: Mapping[str, torch.Tensor]) -> None:
    """Give every item with a `teacher_text` its cached `teacher_states` `(M, k)` (in place)."""
    for item in items:
        text = item.get("teacher_text")
        item["teacher_states"] = None if text is None else states_by_text[text]


class ItemDataset(torch.utils.data.Dataset):
    """A list of stage-1 or stage-2 items as a map-style dataset."""

    def __init__(self, items: Sequence[dict]):
        self.items = list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict:
        return self.items[index]


@dataclass
class Stage2Collator:
    """Batches stage-2 items: the tensors of :class:`CTAMCollator` plus the stage-2 streams' own.

    Adds `teacher_states` `(B, M, k)` and `teacher_weights` `(B,)` (0 for rows without a teacher pair) when any item
    has teacher states, `soft_labels` `(B, C)` (zero rows for rows without a pseudo-label) and `source_weights` `(B,)`.
    """

    base: CTAMCollator
    num_labels: int

    def __call__(self, features: list[Mapping[str, Any]]) -> dict[str, Any]:
        batch = self.base([{k: f[k] for k in ("text", "label", "source_text", "source_label")} for f in features])
        batch["source_weights"] = torch.tensor([float(f.get("source_weight", 1.0)) for f in features])
        soft = torch.zeros(len(features), self.num_labels)
        for i, f in enumerate(features):
            if f.get("soft_label") is not None:
                soft[i] = torch.as_tensor(np.asarray(f["soft_label"]), dtype=torch.float32)
        if bool(soft.any()):
            batch["soft_labels"] = soft
        states = [f.get("teacher_states") for f in features]
        present = [s for s in states if s is not None]
        if present:
            template = torch.zeros_like(present[0])
            batch["teacher_states"] = torch.stack([template if s is None else s for s in states])  # (B, M, k)
            batch["teacher_weights"] = torch.tensor([0.0 if s is None else 1.0 for s in states])  # (B,)
        return batch


@dataclass
class SourceOnlyCollator:
    """Stage-1 batches: English rows on the teacher path only (`source_input_ids`, `source_attention_mask`,
    `source_labels`)."""

    base: CTAMCollator

    def __call__(self, features: list[Mapping[str, Any]]) -> dict[str, Any]:
        texts = [f["source_text"] for f in features]
        side = self.base.encode_side(texts, self.base.source_language)
        return {
            "source_input_ids": side["input_ids"],
            "source_attention_mask": side["attention_mask"],
            "source_labels": torch.tensor([int(f["source_label"]) for f in features], dtype=torch.long),
        }
