"""Self-training pseudo-labels for unlabelled target reviews: confidence threshold and class quotas from the prior.

The frozen teacher's posteriors on unlabelled Burmese reviews are re-weighted to the EM estimate of the Burmese class
prior (:mod:`.prior`). Class `c` then gets at most `fraction * N * pi_t(c)` reviews, the most confident ones predicted
`c` whose confidence reaches `threshold`. Without quotas, a teacher trained on balanced English would hand most
pseudo-labels to whichever class it over-predicts; with them the pseudo-labelled set has the target's proportions.

Soft labels keep the adjusted posterior (optionally sharpened by a temperature) instead of a one-hot target.
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
        confidence (`np.ndarray` of shape `(K,)`): the adjusted posterior of the chosen class.
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
        return {"selected": int(len(self.indices)), "counts": self.counts, "quotas": self.quotas,
                "mean_confidence": float(self.confidence.mean()) if len(self.confidence) else None}


def sharpen(probs: np.ndarray, temperature: float) -> np.ndarray:
    """`p^(1/T)` renormalised: `T < 1` sharpens, `T = 1` keeps. `(N, C)` -> `(N, C)`."""
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be positive.")
    powered = np.asarray(probs, dtype=np.float64) ** (1.0 / temperature)
    return powered / powered.sum(axis=1, keepdims=True)


def select_pseudo_labels(adjusted_probs: np.ndarray, prior, fraction: float = 0.6, threshold: float = 0.0,
                         soft: bool = False, temperature: float = 1.0) -> PseudoLabels:
    """Pick pseudo-labels under per-class quotas `round(fraction * N * prior[c])` and a confidence threshold.

    Args:
        adjusted_probs (`np.ndarray` of shape `(N, C)`): posteriors re-weighted to the target prior.
        prior (`array-like` of shape `(C,)`): the target class prior that sets the quotas.
        fraction (`float`, *optional*, defaults to 0.6): share of the `N` rows that may be pseudo-labelled.
        threshold (`float`, *optional*, defaults to 0.0): minimum adjusted confidence.
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
    predicted, confidence = probs.argmax(axis=1), probs.max(axis=1)
    quotas = [int(round(fraction * n * prior[c])) for c in range(num_classes)]
    chosen = []
    for c in range(num_classes):
        candidates = np.flatnonzero((predicted == c) & (confidence >= threshold))
        order = candidates[np.argsort(-confidence[candidates], kind="stable")]  # most confident first
        chosen.append(order[: quotas[c]])
    indices = np.sort(np.concatenate(chosen)) if chosen else np.zeros(0, dtype=np.int64)
    labels = predicted[indices]
    targets = sharpen(probs[indices], temperature) if soft else np.eye(num_classes)[labels]
    counts = [int((labels == c).sum()) for c in range(num_classes)]
    return PseudoLabels(indices=indices, labels=labels, targets=targets, confidence=confidence[indices],
                        counts=counts, quotas=quotas)
