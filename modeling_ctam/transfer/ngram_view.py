"""Fitting the n-gram view (`modeling_ctam/ngram_head.py`) on the trained student's pseudo-labels (beyond the paper).

After stage 2 the student labels the unlabelled target reviews. Each class takes the reviews that rank highest by the
student's posterior, up to its quota `fraction * N * prior[c]` under the estimated target prior (the class-balanced
selection of :func:`.pseudo_label.select_pseudo_labels`; without quotas the confident reviews are nearly all of the
majority class). Labelled target reviews (few-shot, supervised) join with their gold labels. A logistic regression
over the head's own TF-IDF hashed n-gram features (L2-regularised, class-balanced) is fitted to them with
scikit-learn, and its weights are written into the model's `NgramHead`: the features are computed by the head's own
function, so training and inference see the same numbers. The model then predicts with the product of the two views.

This is co-training in the sense of Blum and Mitchell (1998): two views of the same unlabelled reviews, one the
encoder's, one the surface n-grams, the second trained on the first's labels. Only the final ensemble is shipped.
"""

from __future__ import annotations

import time
from typing import Sequence

import numpy as np
import torch

from ..configuration_ctam import resolve_ngram_head_config
from ..data import tokenize_for_eval
from ..ngram_head import NgramHead
from .pseudo_label import select_pseudo_labels


@torch.no_grad()
def ngram_counts(head: NgramHead, tokenizer, texts: Sequence[str], *, max_length: int, batch_size: int = 64):
    """Occurrence counts of the head's hashed n-grams: a `scipy.sparse.csr_matrix` of shape `(N, buckets)`."""
    import scipy.sparse as sp

    rows, cols = [], []
    for start in range(0, len(texts), batch_size):
        enc = tokenize_for_eval(tokenizer, list(texts[start : start + batch_size]), "my", max_length=max_length)
        bins, valid = head.bins(enc["input_ids"], enc["attention_mask"])  # (b, M)
        r, m = np.nonzero(valid.numpy())
        rows.append(r + start)
        cols.append(bins.numpy()[r, m])
    rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.int64)
    counts = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), head.buckets))
    counts.sum_duplicates()
    return counts


def smooth_idf(counts) -> np.ndarray:
    """`ln((1 + N) / (1 + df)) + 1` per bucket (scikit-learn's smoothed idf), `(buckets,)`."""
    df = np.asarray((counts > 0).sum(axis=0)).ravel()
    return np.log((1.0 + counts.shape[0]) / (1.0 + df)) + 1.0


def tfidf_features(counts, idf: np.ndarray):
    """The features `NgramHead.features` computes: idf-weighted counts over the L2 norm of the occurrences' idf."""
    import scipy.sparse as sp

    norm = np.sqrt(np.asarray(counts @ (idf**2)).ravel())  # (N,)  sqrt(sum_i idf[b_i]^2)
    norm[norm == 0] = 1.0
    return sp.diags(1.0 / norm) @ counts @ sp.diags(idf)


def fit_ngram_head(
    model,
    tokenizer,
    texts: Sequence[str],
    posteriors: np.ndarray,
    prior,
    *,
    fraction: float = 0.8,
    weight: float = 0.7,
    C: float = 3.0,
    max_order: int = 3,
    max_length: int = 64,
    batch_size: int = 64,
    labelled_texts: Sequence[str] = (),
    labelled_labels: Sequence[int] = (),
) -> dict:
    """Fit the n-gram view and attach it to `model` (its `ngram_head` module and `config.ngram_head`).

    Args:
        model (`CTAMForSequenceClassification`): the trained student; changed in place.
        texts (`Sequence[str]`): unlabelled target reviews, as the loaders preprocessed them.
        posteriors (`np.ndarray` of shape `(N, C)`): the student's posteriors on `texts` (no n-gram view yet).
        prior (`array-like` of shape `(C,)`): the estimated target class prior (the quotas).
        fraction (`float`, *optional*, defaults to 0.8): share of `texts` that may be pseudo-labelled.
        weight (`float`, *optional*, defaults to 0.7): the n-gram view's share `a` of the ensemble's log-posterior.
        C (`float`, *optional*, defaults to 3.0): inverse L2 strength of the logistic regression.
        max_order (`int`, *optional*, defaults to 3): n-grams of 1..`max_order` tokens.
        labelled_texts / labelled_labels (*optional*): gold target rows (few-shot, supervised); they join the fit.

    Returns:
        `dict`: what was fitted (rows per class, buckets in use, seconds), for `train_config.json`.
    """
    from sklearn.linear_model import LogisticRegression

    start = time.perf_counter()
    num_labels = model.config.num_labels
    spec = {"max_order": max_order, "weight": float(weight), "ignore_ids": list(tokenizer.all_special_ids)}
    head = NgramHead(spec, num_labels)
    fit_texts, fit_labels, record = [], [], {"fraction": fraction, "weight": weight, "C": C, "max_order": max_order}
    if len(texts):
        pseudo = select_pseudo_labels(posteriors, prior, fraction)
        fit_texts += [texts[i] for i in pseudo.indices]
        fit_labels += [int(y) for y in pseudo.labels]
        record["pseudo_labelled"] = pseudo.counts
    fit_texts += list(labelled_texts)
    fit_labels += [int(y) for y in labelled_labels]
    record["gold_labelled"] = np.bincount(np.asarray(labelled_labels, dtype=np.int64), minlength=num_labels).tolist()
    fit_labels = np.asarray(fit_labels, dtype=np.int64)
    present = np.unique(fit_labels)
    if len(present) < 2:
        raise ValueError(
            f"the n-gram view needs rows of at least two classes to fit; it got classes {present.tolist()}"
            " (no unlabelled reviews and too few labelled ones?)."
        )
    corpus = list(texts) + list(labelled_texts)  # idf over every target review the run has
    idf = smooth_idf(ngram_counts(head, tokenizer, corpus, max_length=max_length, batch_size=batch_size))
    features = tfidf_features(
        ngram_counts(head, tokenizer, fit_texts, max_length=max_length, batch_size=batch_size), idf
    )
    regression = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(features, fit_labels)
    coef = np.zeros((num_labels, head.buckets))
    bias = np.zeros(num_labels)
    if regression.coef_.shape[0] == 1:  # two classes: scikit-learn keeps one logit, that of classes_[1]
        coef[regression.classes_[1]], bias[regression.classes_[1]] = regression.coef_[0], regression.intercept_[0]
    else:
        coef[regression.classes_], bias[regression.classes_] = regression.coef_, regression.intercept_
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(coef.T))
        head.bias.copy_(torch.from_numpy(bias))
        head.idf.copy_(torch.from_numpy(idf))
    device = next(model.parameters()).device
    model.ngram_head = head.to(device)
    model.config.ngram_head = head_spec = resolve_ngram_head_config({**spec, "buckets": head.buckets})
    record.update(
        rows=int(len(fit_labels)),
        buckets_used=int((np.abs(coef).sum(axis=0) > 0).sum()),
        spec=head_spec,
        seconds=round(time.perf_counter() - start, 1),
    )
    return record


@torch.no_grad()
def score_views(
    model,
    tokenizer,
    texts: Sequence[str],
    ensemble_logits: np.ndarray,
    references,
    class_names: Sequence[str],
    *,
    max_length: int,
    batch_size: int = 64,
) -> dict:
    """What each view of a model with an n-gram view scores alone, from the ensemble's own logits: `{"student":
    scores, "ngram": scores}`, each :func:`modeling_ctam.evaluation.metrics.compute_metrics`' record. Reported beside
    the ensemble's score (it selects nothing).

    Only the n-gram head runs again (no encoder pass): with `a` the view's weight, the ensemble logits are
    `(1 - a) log p_student + a log p_ngram`, so the student's decision is the argmax of `ensemble - a log p_ngram`.
    """
    from ..evaluation.metrics import compute_metrics

    head, share = model.ngram_head, model.config.ngram_head["weight"]
    device = next(head.parameters()).device
    ngram = []
    for start in range(0, len(texts), batch_size):
        enc = tokenize_for_eval(tokenizer, list(texts[start : start + batch_size]), "my", max_length=max_length)
        ngram.append(head(enc["input_ids"].to(device), enc["attention_mask"].to(device)).float().cpu())
    log_ngram = torch.log_softmax(torch.cat(ngram), dim=-1).numpy()  # (N, C)
    ensemble = np.asarray(ensemble_logits, dtype=np.float64).reshape(len(texts), -1)  # (N, C)
    out = {"ngram": compute_metrics(log_ngram.argmax(1), references, class_names)}
    if share < 1.0:
        out["student"] = compute_metrics((ensemble - share * log_ngram).argmax(1), references, class_names)
    return out


__all__ = ["fit_ngram_head", "ngram_counts", "score_views", "smooth_idf", "tfidf_features"]
