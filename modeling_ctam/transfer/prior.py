"""The target class prior from unlabelled text: EM of Saerens, Latinne and Decaestecker (2002), guarded.

English training data is balanced; Burmese product reviews are about 90% positive. Self-training quotas and the
domain-loss importance weights need the Burmese prior, and no Burmese label may be used in a zero-shot run. EM
re-estimates it from a classifier's posteriors on unlabelled target text:

    p_t(y | x) ∝ p_s(y | x) * pi_t(y) / pi_s(y),      pi_t(y) <- mean_x p_t(y | x)

until `pi_t` stops moving. EM trusts the posteriors' calibration. A classifier that leans hard one way drives it to
a degenerate prior: 0% of a class, measured after a naive self-training round and on a stage-1 teacher that never saw
Burmese. So a guard acts, and logs a warning:

- a degenerate estimate (a class below `min_prior`) falls back to black-box shift estimation (BBSE, Lipton et al.
  2018; for two classes Forman's adjusted classify-and-count): the predicted-class shares on the target, corrected by
  the classifier's confusion matrix on held-out labelled source rows, `q = C^-1 mu`. It needs no calibration, only
  held-out English rows. Without them it falls back to plain classify-and-count (the predicted shares), which
  inherits the classifier's bias: a stage-1 teacher put 24-27% of the Burmese reviews in the negative class, against
  about 10% in truth. Either estimate is clamped so that no class falls below `min_prior`;
- with translation pairs (`parallel`), BBSE corrects for reading Burmese as well (``"bbse-cross-lingual"``): a
  teacher trained on English errs on Burmese in its own way, beyond its English errors (the stage-1 teachers put a
  quarter of the reviews in the negative class, against about 10% in truth; BBSE on English alone keeps most of that
  bias). The change its predictions undergo when the same content is read in Burmese is measured on the pairs,
  `C_lang[i, j] = P(predicted i on the Burmese side | predicted j on the English side)`, and the target shares are
  taken as `C_lang C_en pi`. This assumes the language shift depends on the content only through the English
  prediction; the pairs are not reviews, so it is an estimate of the shift, measured in
  `bench/results/prior_estimates.md`;
- a run that does not converge falls back to the source prior;
- with `trust_ratio` (beyond the paper) and held-out English rows, a converged estimate is also held within a factor
  of BBSE's: no class below `bbse / trust_ratio`. EM swings with the teacher: on the main job's config it put the
  Burmese negative share anywhere from 0.03 to 0.18 (truth about 0.10) by seed, process count and device, while
  BBSE on the IMDb rows stayed at 0.12-0.17 on those teachers; the low estimates starved the n-gram view of
  negatives (README, "Training on many processes and precisions");
- with `estimator="bbse"` (beyond the paper) EM's estimate is only recorded: the prior used is BBSE's on the held-out
  English rows (through the language shift when `parallel` is given), clamped at `min_prior`. A converged EM
  estimate can be wrong in both directions (0.011 to 0.35 negative on the main job's budget, pilot split and dev
  runs), while BBSE on the IMDb rows stayed at 0.12-0.17 on all teachers but one (0.236; docs/transfer.md).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np

logger = logging.getLogger(__name__)

PRIOR_ESTIMATORS = ("em", "bbse")  # `estimator` of estimate_target_prior


@dataclass
class PriorEstimate:
    """What :func:`estimate_target_prior` found, as recorded in `train_config.json`.

    Args:
        prior (`list[float]`): the target class prior used downstream (after any clamping or fallback).
        em_prior (`list[float]`): EM's raw estimate.
        source_prior (`list[float]`): the prior the classifier was trained under.
        iterations (`int`): EM iterations run.
        converged (`bool`): whether EM met its tolerance.
        clamped (`bool`): whether a class was raised to a floor: `min_prior`, or BBSE's estimate over `trust_ratio`.
        fallback (`str`, *optional*): what replaced EM's estimate: `"bbse-cross-lingual"`, `"bbse"` or
            `"classify-and-count"` (a degenerate estimate), `"source-prior"` (no convergence) or
            `"em-held-to-bbse"` (EM's estimate raised to BBSE's over `trust_ratio`); None when EM's estimate was
            used.
        predicted_share (`list[float]`): the share of each class among the classifier's predictions.
        reference_prior (`list[float]`, *optional*): BBSE's estimate on the held-out English rows, computed when a
            `trust_ratio` is given; EM's estimate is kept at or above `reference_prior / trust_ratio`.
        trust_ratio (`float`, *optional*): the factor of BBSE within which EM's estimate was held (None: not held).
        estimator (`str`, defaults to `"em"`): `"em"` (EM, guarded as above) or `"bbse"` (BBSE's estimate used
            outright; EM's kept in `em_prior` for the record).
    """

    prior: list[float]
    em_prior: list[float]
    source_prior: list[float]
    iterations: int
    converged: bool
    clamped: bool = False
    fallback: str | None = None
    predicted_share: list[float] | None = None
    reference_prior: list[float] | None = None
    trust_ratio: float | None = None
    estimator: str = "em"

    def to_dict(self) -> dict:
        return asdict(self)


def em_prior(
    probs: np.ndarray, source_prior: np.ndarray, max_iterations: int = 1000, tolerance: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Saerens et al.'s EM: the target prior and the posteriors re-weighted to it.

    Args:
        probs (`np.ndarray` of shape `(N, C)`): posteriors under `source_prior`.
        source_prior (`np.ndarray` of shape `(C,)`): the training class prior.

    Returns:
        `(prior (C,), adjusted posteriors (N, C), iterations, converged)`.
    """
    probs = np.asarray(probs, dtype=np.float64)
    source_prior = np.asarray(source_prior, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] != source_prior.shape[0]:
        raise ValueError(
            f"em_prior: probs has shape {probs.shape} and source_prior {source_prior.shape}; give posteriors (N, C) "
            "over the C classes of the prior."
        )
    prior = source_prior.copy()
    adjusted = probs
    for iteration in range(1, max_iterations + 1):
        adjusted = probs * (prior / source_prior)  # (N, C)
        adjusted /= adjusted.sum(axis=1, keepdims=True)
        new_prior = adjusted.mean(axis=0)  # (C,)
        if np.abs(new_prior - prior).max() < tolerance:
            return new_prior, adjusted, iteration, True
        prior = new_prior
    return prior, adjusted, max_iterations, False


def adjust_posteriors(probs: np.ndarray, source_prior: np.ndarray, target_prior: np.ndarray) -> np.ndarray:
    """Bayes' rule for a prior shift: `p(y|x) * pi_t(y) / pi_s(y)`, renormalised. `(N, C)` -> `(N, C)`."""
    adjusted = np.asarray(probs, dtype=np.float64) * (np.asarray(target_prior) / np.asarray(source_prior))
    return adjusted / adjusted.sum(axis=1, keepdims=True)


def language_confusion(target_side: np.ndarray, source_side: np.ndarray) -> np.ndarray:
    """`C_lang[i, j] = P(argmax on the target side = i | argmax on the source side = j)` over translation pairs:
    how a classifier's decision changes when the same content is read in the target language. Columns sum to 1 (a
    column without pairs is the identity's).

    Args:
        target_side / source_side (`np.ndarray` of shape `(P, C)`): posteriors on the two sides of `P` pairs.
    """
    num_classes = target_side.shape[1]
    if np.shape(target_side) != np.shape(source_side):
        raise ValueError(
            f"language_confusion: the two sides have shapes {np.shape(target_side)} and {np.shape(source_side)}; give "
            "the posteriors of the same pairs on both sides."
        )
    on_target, on_source = np.asarray(target_side).argmax(1), np.asarray(source_side).argmax(1)
    confusion = np.zeros((num_classes, num_classes))  # (target prediction, source prediction)
    for j in range(num_classes):
        rows = on_source == j
        if rows.any():
            confusion[:, j] = np.bincount(on_target[rows], minlength=num_classes) / rows.sum()
        else:
            confusion[j, j] = 1.0
    return confusion


def bbse_prior(
    target_probs: np.ndarray, heldout_probs: np.ndarray, heldout_labels: np.ndarray, shift: np.ndarray | None = None
) -> np.ndarray:
    """Black-box shift estimation: `q = C^-1 mu`, with `C[i, j] = P(predicted i | true j)` on held-out source rows
    and `mu` the predicted-class shares on the target. Negative entries are cut to 0 and the result renormalised.

    Args:
        target_probs (`np.ndarray` of shape `(N, C)`): posteriors on the unlabelled target rows.
        heldout_probs (`np.ndarray` of shape `(H, C)`): posteriors on held-out labelled source rows.
        heldout_labels (`np.ndarray` of shape `(H,)`): their labels.
        shift (`np.ndarray` of shape `(C, C)`, *optional*): a further confusion between the held-out rows' domain and
            the target's (:func:`language_confusion`); the target shares are then `shift @ C @ q`.
    """
    num_classes = target_probs.shape[1]
    predicted = np.asarray(heldout_probs).argmax(axis=1)
    labels = np.asarray(heldout_labels)
    confusion = np.zeros((num_classes, num_classes))  # (predicted, true), columns sum to 1
    for j in range(num_classes):
        rows = labels == j
        if rows.any():
            confusion[:, j] = np.bincount(predicted[rows], minlength=num_classes) / rows.sum()
        else:
            confusion[j, j] = 1.0  # no held-out row of this class: take it as recognised
    mu = np.bincount(np.asarray(target_probs).argmax(axis=1), minlength=num_classes) / len(target_probs)  # (C,)
    if shift is not None:
        if shift.shape != confusion.shape:
            raise ValueError(
                f"bbse_prior: shift has shape {shift.shape}, but the confusion matrix is {confusion.shape}; give the "
                "language_confusion of the same classes."
            )
        confusion = shift @ confusion  # (C, C): true source class -> source prediction -> target prediction
    q = np.clip(np.linalg.lstsq(confusion, mu, rcond=None)[0], 0.0, None)  # (C,)
    return q / q.sum() if q.sum() > 0 else mu


def estimate_target_prior(
    probs: np.ndarray,
    source_prior: np.ndarray,
    min_prior: float = 0.02,
    heldout: tuple[np.ndarray, np.ndarray] | None = None,
    parallel: tuple[np.ndarray, np.ndarray] | None = None,
    trust_ratio: float | None = None,
    estimator: str = "em",
) -> PriorEstimate:
    """EM's target prior, guarded: a degenerate estimate falls back to BBSE on `heldout` (posteriors and labels of
    held-out source rows), through the language shift measured on `parallel` (posteriors on the target and source
    sides of translation pairs) when given, else to classify-and-count; the fallback is clamped so that no class falls
    below `min_prior`. With `trust_ratio` and `heldout`, a converged, non-degenerate estimate is raised, class by
    class, to at least BBSE's estimate over `trust_ratio` (the excess taken from the other classes pro rata). A logged
    warning says when a guard acts. With `estimator="bbse"` the prior is BBSE's on `heldout` (through the language
    shift measured on `parallel` when given), clamped at `min_prior`, whatever EM found; EM still runs, for the record.

    Raises:
        ValueError: `min_prior` outside `[0, 1/C)`, `trust_ratio` not above 1, an unknown `estimator`, `"bbse"`
            without `heldout`, or posteriors that are not `(N, C)` probabilities.
    """
    probs = np.asarray(probs, dtype=np.float64)
    num_classes = probs.shape[1] if probs.ndim == 2 else 0
    if probs.ndim != 2 or len(probs) == 0 or num_classes < 2:
        raise ValueError(f"estimate_target_prior needs (N, C) posteriors with N >= 1 and C >= 2, got {probs.shape}.")
    if not 0.0 <= min_prior < 1.0 / num_classes:
        raise ValueError(f"min_prior={min_prior} must lie in [0, 1/{num_classes}).")
    if trust_ratio is not None and not trust_ratio > 1.0:
        raise ValueError(f"trust_ratio={trust_ratio} must be above 1 (or None to trust EM's estimate as it is).")
    if estimator not in PRIOR_ESTIMATORS:
        raise ValueError(f"estimator={estimator!r}: use one of {list(PRIOR_ESTIMATORS)}.")
    if estimator == "bbse" and heldout is None:
        raise ValueError("estimator='bbse' needs held-out labelled source rows (heldout); give them or use 'em'.")
    source_prior = np.asarray(source_prior, dtype=np.float64)
    prior, _, iterations, converged = em_prior(probs, source_prior)
    share = np.bincount(probs.argmax(axis=1), minlength=num_classes) / len(probs)
    estimate = PriorEstimate(
        prior=prior.tolist(),
        em_prior=prior.tolist(),
        source_prior=source_prior.tolist(),
        iterations=iterations,
        converged=converged,
        predicted_share=share.tolist(),
        estimator=estimator,
    )
    if estimator == "bbse":  # EM's estimate recorded, not used
        shift = language_confusion(*parallel) if parallel is not None else None
        reference = bbse_prior(probs, *heldout, shift=shift)  # (C,)
        used = _clamp(reference, min_prior)
        estimate.prior, estimate.reference_prior = used.tolist(), reference.tolist()
        estimate.clamped = bool(reference.min() < min_prior)
        return estimate
    if not converged:
        logger.warning(
            "EM class-prior estimate did not converge in %d iterations (%s); using the source prior %s.",
            iterations,
            np.round(prior, 4).tolist(),
            np.round(source_prior, 4).tolist(),
        )
        estimate.prior, estimate.fallback = source_prior.tolist(), "source-prior"
        return estimate
    if prior.min() < min_prior:
        if heldout is not None and parallel is not None:
            name, raw = "bbse-cross-lingual", bbse_prior(probs, *heldout, shift=language_confusion(*parallel))
        elif heldout is not None:
            name, raw = "bbse", bbse_prior(probs, *heldout)
        else:
            name, raw = "classify-and-count", share
        fallback = _clamp(raw, min_prior)
        logger.warning(
            "EM class-prior estimate %s puts a class below min_prior=%s (a degenerate estimate: the "
            "classifier's posteriors are over-confident on this data); using %s %s instead.",
            np.round(prior, 4).tolist(),
            min_prior,
            name,
            np.round(fallback, 4).tolist(),
        )
        estimate.prior, estimate.fallback = fallback.tolist(), name
        estimate.clamped = bool(raw.min() < min_prior)
    elif trust_ratio is not None and heldout is not None:
        reference = bbse_prior(probs, *heldout)  # (C,)
        floor = reference / trust_ratio  # (C,); sums to 1 / trust_ratio < 1, so a prior above it exists
        estimate.reference_prior, estimate.trust_ratio = reference.tolist(), float(trust_ratio)
        if (prior < floor).any():
            held = _clamp(prior, floor)
            logger.warning(
                "EM class-prior estimate %s puts a class below BBSE's %s / %s; using %s instead.",
                np.round(prior, 4).tolist(),
                np.round(reference, 4).tolist(),
                trust_ratio,
                np.round(held, 4).tolist(),
            )
            estimate.prior, estimate.fallback, estimate.clamped = held.tolist(), "em-held-to-bbse", True
    return estimate


def prior_matching_bias(log_probs: np.ndarray, prior: np.ndarray, iterations: int = 200) -> np.ndarray:
    """A bias `b` `(C,)` for the classifier's logits such that `argmax(log_probs + b)` puts each class's share of the
    rows at `prior` (as near as the rows allow): the decision rule that predicts the estimated target prior on the
    unlabelled target rows themselves. Two classes: the exact quantile of the log-odds. More: iterative
    proportional fitting of the shares, the best iterate kept. Adding `b` to the logits of rows scored later applies
    the same rule to them.

    Raises:
        ValueError: `log_probs` not `(N, C)` or `prior` not a distribution over the C classes.
    """
    log_probs = np.asarray(log_probs, dtype=np.float64)
    prior = np.asarray(prior, dtype=np.float64)
    if log_probs.ndim != 2 or len(log_probs) == 0 or log_probs.shape[1] != prior.shape[0] or prior.shape[0] < 2:
        raise ValueError(
            f"prior_matching_bias needs (N, C) log-posteriors and a (C,) prior; got {log_probs.shape} "
            f"and {prior.shape}."
        )
    if (prior < 0).any() or abs(prior.sum() - 1.0) > 1e-6:
        raise ValueError(f"prior {prior.tolist()} is not a distribution (non-negative, summing to 1).")
    n, num_classes = log_probs.shape
    if num_classes == 2:
        d = np.sort(log_probs[:, 0] - log_probs[:, 1])[::-1]  # (N,) class-0 log-odds, highest first
        k = int(round(prior[0] * n))  # rows to put in class 0
        upper = d[k - 1] if k > 0 else d[0] + 1.0
        lower = d[k] if k < n else d[-1] - 1.0
        threshold = (upper + lower) / 2  # class 0 iff d > threshold
        return np.array([-threshold / 2, threshold / 2])
    bias, best, best_err = np.zeros(num_classes), np.zeros(num_classes), np.inf
    for _ in range(iterations):
        share = np.bincount((log_probs + bias).argmax(axis=1), minlength=num_classes) / n
        err = np.abs(share - prior).sum()
        if err < best_err:
            best, best_err = bias.copy(), err
        if err < 0.5 / n:
            break
        bias = bias + 0.5 * (np.log(prior + 1e-6) - np.log(share + 1e-6))
    return best - best.mean()


def _clamp(prior: np.ndarray, min_prior: float | np.ndarray) -> np.ndarray:
    """`prior` with every class raised to at least `min_prior` (one share, or one per class summing below 1), the
    excess taken from the others pro rata, none of them below its own floor."""
    prior = np.asarray(prior, dtype=np.float64)
    floor = np.broadcast_to(np.asarray(min_prior, dtype=np.float64), prior.shape)
    assert floor.sum() < 1.0, floor  # invariant: the floors leave room for a distribution
    clamped = np.maximum(prior, floor)
    excess = clamped.sum() - 1.0
    big = clamped > floor
    if excess > 0 and big.any():
        clamped[big] -= excess * (clamped[big] - floor[big]) / (clamped[big] - floor[big]).sum()
    return clamped
