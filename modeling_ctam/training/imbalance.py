# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Class imbalance of the Burmese labels in the supervised and few-shot settings.

GKLMIP train is about 90% positive (binary: 2,151 positive, 241 negative). Plain cross-entropy on it lets a model
score well by predicting "positive" for everything (macro-F1 0.473 on dev). The `imbalance` key chooses how the
Burmese labels' eq. 12 term handles it:

- ``logit-adjustment`` (default): the logit-adjusted softmax cross-entropy of Menon et al. (2021), "Long-tail learning
  via logit adjustment" (ICLR 2021), applied in the loss during training:
  ``l(y, f(x)) = -log( exp(f_y(x) + tau log pi_y) / sum_y' exp(f_y'(x) + tau log pi_y') )``
  with ``pi`` the class prior of the labelled Burmese training rows. The offsets are applied in the loss only; the
  model's own logits ``f`` then estimate the balanced (prior-free) posterior and inference needs no change.
- ``class-weights``: cross-entropy weighted by ``w_c = 1 / (C pi_c)`` (mean weight 1 over the training rows, so the
  loss keeps its scale beside `L_R` and `L_S`).
- ``balanced-sampler``: every class of labelled Burmese rows is drawn equally often, with replacement
  ([`ClassBalancedSampler`]); an epoch keeps its length. Needs `pairing_driver: target` (an item is a Burmese row).
- ``none``: plain cross-entropy.

Each path is adjusted by its own prior: the Burmese path by the labelled Burmese rows', the English path by the English
labels as the training items carry them. Balanced English data (`balance_source`, random pairing) has a uniform prior
and is left as it is; label-aware pairing driven by the Burmese side hands the English stream the Burmese split.

`pi` is smoothed by one count per class (``(n_c + 1) / (N + C)``). Few-shot data has k rows per class, so its prior
is uniform and every method reduces to plain cross-entropy there; that is intended (the few labelled rows are already
balanced). The zero-shot setting has no Burmese label, so nothing is applied there; the record says so. With the
two-stage recipe (few-shot, supervised) the Burmese path is adjusted by the labelled Burmese rows' prior in stage 2,
and the teacher path in stage 1 by the prior of stage 1's English and Burmese labels ([`label_loss_for`]). The
record (`train_config.json`'s ``imbalance_handling``, and the model card) gives the method, whether and why it
applied, the prior and the weights or offsets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from ..data.labels import class_prior

IMBALANCE_CHOICES = ("logit-adjustment", "class-weights", "balanced-sampler", "none")


@dataclass
class ImbalanceArguments:
    """How the supervised and few-shot settings handle the Burmese labels' class imbalance (module docstring)."""

    imbalance: str = field(
        default="logit-adjustment",
        metadata={
            "help": (
                "Class imbalance of the Burmese labels (supervised, few-shot): 'logit-adjustment' (Menon et al. 2021 "
                "logit-adjusted cross-entropy, the default), 'class-weights' (inverse class frequency), "
                "'balanced-sampler' (classes drawn equally often; needs pairing_driver: target) or 'none'. Recorded "
                "in train_config.json and the model card."
            )
        },
    )
    logit_adjustment_tau: float = field(
        default=1.0,
        metadata={
            "help": (
                "tau of the logit adjustment (Menon et al. 2021: 1.0 is Fisher-consistent for the balanced error)."
            )
        },
    )

    def __post_init__(self):
        if self.imbalance not in IMBALANCE_CHOICES:
            raise ValueError(f"imbalance={self.imbalance!r} is not supported; use one of {list(IMBALANCE_CHOICES)}.")
        if not (isinstance(self.logit_adjustment_tau, (int, float)) and self.logit_adjustment_tau >= 0):
            raise ValueError(
                f"logit_adjustment_tau={self.logit_adjustment_tau!r} must be a number >= 0 (1.0 is "
                "Menon et al.'s choice; 0 turns the adjustment off)."
            )


class LabelLoss:
    """One path's eq. 12 adjustment in training: class weights, or the logit offsets of Menon et al. (2021),
    `l(y, f(x)) = -log softmax(f(x) + tau log pi)_y`. [`CTAMTrainer`] holds it and passes it to the model's forward
    ([`forward_kwargs`]); the model keeps nothing, so it is never saved with it."""

    def __init__(self, weights: Optional[Sequence[float]] = None, offsets: Optional[Sequence[float]] = None):
        import torch

        self.weights = None if weights is None else torch.tensor(weights, dtype=torch.float32)
        self.offsets = None if offsets is None else torch.tensor(offsets, dtype=torch.float32)

    def forward_kwargs(self, source: bool = False) -> dict[str, Any]:
        """The forward arguments that apply it: `logit_offsets` / `class_weights` for the target (Burmese) path, with
        `source=True` `source_logit_offsets` / `source_class_weights` for the source (English) path."""
        prefix = "source_" if source else ""
        kwargs = {}
        if self.offsets is not None:
            kwargs[f"{prefix}logit_offsets"] = self.offsets
        if self.weights is not None:
            kwargs[f"{prefix}class_weights"] = self.weights
        return kwargs


@dataclass
class ImbalancePlan:
    """What a run does about class imbalance: the record, each path's eq. 12 adjustment (handed to [`CTAMTrainer`]),
    the sampler's weights."""

    record: dict[str, Any]
    label_loss: Optional[LabelLoss] = None
    sample_weights: Optional[list[float]] = None
    source_label_loss: Optional[LabelLoss] = None

    def summary(self) -> str:
        """One line for the model card, e.g. 'logit-adjustment (tau 1; prior negative 0.101, positive 0.899)'."""
        record = self.record
        if not record.get("applied"):
            return f"{record['method']}: not applied ({record['reason']})"
        prior = ", ".join(f"{name} {p:.3f}" for name, p in record["prior"].items())
        extra = f"tau {record['tau']:g}; " if "tau" in record else ""
        return f"{record['method']} ({extra}Burmese label prior {prior})"


def plan_imbalance(
    args: ImbalanceArguments,
    setting: str,
    recipe: str,
    target_labels: Sequence[int],
    class_names: Sequence[str],
    pairing_driver: str = "target",
    source_labels: Optional[Sequence[int]] = None,
) -> ImbalancePlan:
    """The plan for one run from its Burmese training labels (-1/-100 = unlabelled), setting and recipe.

    `source_labels`: the English labels as the training items carry them. Balanced English data has a uniform prior and
    needs nothing; but label-aware pairing driven by the Burmese side gives every Burmese review an English partner of
    its label, so the English stream inherits the Burmese 90/10 split. The English path then gets the same kind of
    adjustment from its own prior (measured: without it CTAM's supervised run predicted "positive" for everything)."""
    method = args.imbalance
    record: dict[str, Any] = {"method": method, "applied": False}
    if method == "none":
        record["reason"] = "plain cross-entropy"
        return ImbalancePlan(record)
    if setting == "zero-shot":
        record["reason"] = "zero-shot: no Burmese label, nothing to balance"
        return ImbalancePlan(record)
    if recipe == "two-stage" and method == "balanced-sampler":
        raise ValueError(
            "imbalance='balanced-sampler' draws the joint recipe's paired items; the two-stage recipe "
            "draws its own streams. Use 'logit-adjustment' or 'class-weights' with recipe: two-stage."
        )
    k = len(class_names)
    labels = [int(v) for v in target_labels]
    prior = class_prior(labels, k)
    counts = np.bincount([v for v in labels if v >= 0], minlength=k)[:k]
    record.update(
        applied=True,
        labelled_rows={n: int(c) for n, c in zip(class_names, counts)},
        prior={n: round(float(p), 4) for n, p in zip(class_names, prior)},
    )
    source_prior = None
    if source_labels is not None and any(int(v) >= 0 for v in source_labels):
        source_prior = class_prior(source_labels, k)
        record["source_prior"] = {n: round(float(p), 4) for n, p in zip(class_names, source_prior)}
    if method == "logit-adjustment":
        offsets = [args.logit_adjustment_tau * math.log(p) for p in prior]
        record.update(
            tau=args.logit_adjustment_tau,
            logit_offsets={n: round(o, 4) for n, o in zip(class_names, offsets)},
            reference="Menon et al. 2021, logit-adjusted loss: -log softmax(f(x) + tau log pi)_y",
        )
        plan = ImbalancePlan(record, label_loss=LabelLoss(offsets=offsets))
        if source_prior is not None:
            source_offsets = [args.logit_adjustment_tau * math.log(p) for p in source_prior]
            record["source_logit_offsets"] = {n: round(o, 4) for n, o in zip(class_names, source_offsets)}
            plan.source_label_loss = LabelLoss(offsets=source_offsets)
        return plan
    if method == "class-weights":
        weights = [1.0 / (k * p) for p in prior]
        record["class_weights"] = {n: round(w, 4) for n, w in zip(class_names, weights)}
        plan = ImbalancePlan(record, label_loss=LabelLoss(weights=weights))
        if source_prior is not None:
            source_weights = [1.0 / (k * p) for p in source_prior]
            record["source_class_weights"] = {n: round(w, 4) for n, w in zip(class_names, source_weights)}
            plan.source_label_loss = LabelLoss(weights=source_weights)
        return plan
    # balanced-sampler
    if pairing_driver != "target":
        raise ValueError(
            "imbalance='balanced-sampler' draws Burmese rows by class, so a training item must be a "
            "Burmese row: set pairing_driver: target (or choose imbalance 'logit-adjustment')."
        )
    weights = balanced_sample_weights(labels, k)
    record["draws_per_class"] = "equal (with replacement), unlabelled rows keep their share"
    return ImbalancePlan(record, sample_weights=weights)


def label_loss_for(args: ImbalanceArguments, num_classes: int):
    """`labels -> LabelLoss | None`: the run's logit adjustment or class weights for a set of labels with their own
    prior (the two-stage recipe's stage 1 mixes English and Burmese labels; its stage-2 English stream is balanced).
    None for 'none' and for labels whose prior is uniform (nothing to adjust)."""

    def make(labels: Sequence[int]) -> Optional[LabelLoss]:
        prior = class_prior(labels, num_classes)
        if args.imbalance in ("none", "balanced-sampler") or np.allclose(prior, 1.0 / num_classes, atol=1e-3):
            return None
        if args.imbalance == "logit-adjustment":
            return LabelLoss(offsets=[args.logit_adjustment_tau * math.log(p) for p in prior])
        return LabelLoss(weights=[1.0 / (num_classes * p) for p in prior])

    return make


def balanced_sample_weights(labels: Sequence[int], num_classes: int) -> list[float]:
    """Per-row sampling weights under which every class of labelled rows is drawn equally often; unlabelled rows
    (label < 0) keep their share of the draws. The weights sum to 1."""
    labels = np.asarray(labels, dtype=np.int64)
    n = len(labels)
    unlabelled = labels < 0
    weights = np.zeros(n, dtype=np.float64)
    if unlabelled.any():
        weights[unlabelled] = 1.0 / n
    present = [c for c in range(num_classes) if (labels == c).any()]
    labelled_mass = 1.0 - unlabelled.sum() / n
    for c in present:
        members = labels == c
        weights[members] = labelled_mass / len(present) / members.sum()
    return weights.tolist()


class ClassBalancedSampler:
    """Draws `len(weights)` row indices per epoch with replacement, by `weights`; the draw depends on `(seed, epoch)`
    only, so every process of a distributed run draws the same sequence (the data loader shards it) and a resumed
    run draws what the uninterrupted run drew. Accelerate's data loader calls `set_epoch`."""

    def __init__(self, weights: Sequence[float], seed: int):
        self.weights = np.asarray(weights, dtype=np.float64) / float(np.sum(weights))
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.weights)

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        return iter(rng.choice(len(self.weights), size=len(self.weights), replace=True, p=self.weights).tolist())


def target_item_labels(dataset) -> list[int]:
    """The Burmese label of each training item of a `PairedDataset` driven by the target side (-100 = none)."""
    labels = getattr(dataset, "target_labels", None)
    if labels is None or getattr(getattr(dataset, "config", None), "driver", None) != "target":
        raise ValueError(
            "imbalance='balanced-sampler' needs a PairedDataset with pairing_driver: target (and "
            "pairing 'random' or 'label', not 'parallel')."
        )
    return [int(v) for v in labels]


__all__ = [
    "IMBALANCE_CHOICES",
    "ImbalanceArguments",
    "ImbalancePlan",
    "LabelLoss",
    "ClassBalancedSampler",
    "class_prior",
    "plan_imbalance",
    "balanced_sample_weights",
    "target_item_labels",
    "label_loss_for",
]
