"""Reference baselines that every quality table shows beside CTAM.

``tfidf_predictions`` is the in-domain character n-gram baseline: a TF-IDF logistic regression trained on labelled
target reviews (scikit-learn: ``TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True,
min_df=2)``, ``LogisticRegression(C=1, class_weight="balanced")``). It uses Burmese labels, which no zero-shot run
may; it is the bar a zero-shot model has to clear to be worth its cost. Where the texts it is scored on are its own
training texts (the pilot split), the predictions are cross-fitted: each fold is predicted by a model that did not
see it.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

TFIDF_BASELINE = "tfidf-in-domain"


def _tfidf_model():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True, min_df=2),
        LogisticRegression(C=1.0, class_weight="balanced", max_iter=5000),
    )


def tfidf_predictions(
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    eval_texts: Sequence[str] | None = None,
    *,
    folds: int = 5,
    seed: int = 0,
) -> np.ndarray:
    """Label predictions of the in-domain TF-IDF baseline.

    Args:
        train_texts / train_labels: the labelled target reviews it learns from.
        eval_texts (`Sequence[str]`, *optional*): texts to predict. `None`: predict the training texts themselves,
            cross-fitted over `folds` stratified folds (the pilot split).
        folds (`int`, *optional*, defaults to 5): folds of the cross-fit.
        seed (`int`, *optional*, defaults to 0): the folds' shuffle.

    Returns:
        `np.ndarray` of shape `(N,)`: predicted label ids.
    """
    labels = np.asarray(train_labels, dtype=np.int64)
    texts = list(train_texts)
    if len(np.unique(labels)) < 2:
        raise ValueError(f"the TF-IDF baseline needs labelled rows of two classes or more; got {np.unique(labels)}.")
    if eval_texts is not None:
        return _tfidf_model().fit(texts, labels).predict(list(eval_texts))
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros(len(texts), dtype=np.int64)
    for fit, held in StratifiedKFold(folds, shuffle=True, random_state=seed).split(texts, labels):
        out[held] = _tfidf_model().fit([texts[i] for i in fit], labels[fit]).predict([texts[i] for i in held])
    return out


__all__ = ["TFIDF_BASELINE", "tfidf_predictions"]
