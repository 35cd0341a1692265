"""Self-training pseudo-labels for unlabelled target reviews: confidence threshold and class quotas from the prior.

The frozen teacher's posteriors on unlabelled Burmese reviews are re-weighted to the estimated Burmese class prior
(:mod:`.prior`). Class `c` then gets the `fraction * N * pi_t(c)` reviews that rank highest by `p(c | x)` and reach
`threshold` (class-balanced selection, as in CBST, Zou et al. 2018). Without quotas, a teacher trained on balanced
English hands most pseudo-labels to the class it over-predicts. Ranking within each class, rather than taking the
argmax first, matters for the minority class: a teacher that never saw Burmese is unsure of its Burmese negatives, so
after the prior shift few or none of them keep a negative argmax, yet they still rank first by `p(negative | x)`.

Soft labels keep the adjusted posterior (sharpened by a temperature) instead of a one-hot target, for the rows whose
argmax is their selected class; a row selected by rank against its argmax keeps the one-hot target of its class.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PseudoLabels:
    """Selected pseudo-labels.

    Args:
        indices (`np.ndarray` of shape `(K,)`): rows of the unlabelled set that were selected.
        labels (`np.ndarray` of shape `(K,)`): their hard labels.
        targets (`np.ndarray` of shape `(K, C)`): their training targets (one-hot, or soft).
        confidence (`np.ndarray` of shape `(K,)`): the adjusted posterior of the selected class.
        counts (`list[int]`): selected rows per class.
        quotas (`list[int]`): the per-class quotas.
    """

    indices: np.ndarray
    labels: np.ndarray
    targets: np.ndarray
    confidence: np.ndarray
    counts: list[int]
    quotas: list[int]

    def summary(self) -> dict:
        return {
            "selected": int(len(self.indices)),
            "counts": self.counts,
            "quotas": self.quotas,
            "mean_confidence": float(self.confidence.mean()) if len(self.confidence) else None,
        }


def sharpen(probs: np.ndarray, temperature: float) -> np.ndarray:
    """`p^(1/T)` renormalised: `T < 1` sharpens, `T = 1` keeps. `(N, C)` -> `(N, C)`."""
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be positive.")
    powered = np.asarray(probs, dtype=np.float64) ** (1.0 / temperature)
    return powered / powered.sum(axis=1, keepdims=True)


def select_pseudo_labels(
    adjusted_probs: np.ndarray,
    prior,
    fraction: float = 0.6,
    threshold: float = 0.0,
    soft: bool = False,
    temperature: float = 1.0,
) -> PseudoLabels:
    """Pick pseudo-labels: per class `c`, the `round(fraction * N * prior[c])` rows ranked highest by `p(c | x)` that
    reach `threshold`.

    Args:
        adjusted_probs (`np.ndarray` of shape `(N, C)`): posteriors re-weighted to the target prior.
        prior (`array-like` of shape `(C,)`): the target class prior that sets the quotas.
        fraction (`float`, *optional*, defaults to 0.6): share of the `N` rows that may be pseudo-labelled.
        threshold (`float`, *optional*, defaults to 0.0): minimum adjusted `p(c | x)` of a row selected for `c`.
        soft (`bool`, *optional*, defaults to `False`): targets are the (sharpened) posteriors instead of one-hot.
        temperature (`float`, *optional*, defaults to 1.0): sharpening temperature of soft targets.
    """
    probs = np.asarray(adjusted_probs, dtype=np.float64)
    prior = np.asarray(prior, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != prior.shape[0]:
        raise ValueError(f"adjusted_probs {probs.shape} and prior {prior.shape} disagree on the number of classes.")
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction={fraction} must lie in (0, 1].")
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"threshold={threshold} must lie in [0, 1).")
    n, num_classes = probs.shape
    quotas = [int(round(fraction * n * prior[c])) for c in range(num_classes)]
    assigned = np.full(n, -1)
    best = np.zeros(n)
    for c in range(num_classes):
        candidates = np.flatnonzero(probs[:, c] >= threshold)
        order = candidates[np.argsort(-probs[candidates, c], kind="stable")][: quotas[c]]  # highest p(c|x) first
        take = order[probs[order, c] > best[order]]  # a row wanted by two classes goes to the likelier one
        assigned[take], best[take] = c, probs[take, c]
    indices = np.flatnonzero(assigned >= 0)
    labels = assigned[indices]
    targets = np.eye(num_classes)[labels]
    if soft:
        sharpened = sharpen(probs[indices], temperature)
        agree = sharpened.argmax(axis=1) == labels
        targets[agree] = sharpened[agree]
    counts = [int((labels == c).sum()) for c in range(num_classes)]
    return PseudoLabels(
        indices=indices,
        labels=labels,
        targets=targets,
        confidence=probs[indices, labels],
        counts=counts,
        quotas=quotas,
    )
