# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""An offline `evaluate` metric: per-class and averaged precision / recall / F1, accuracy and the confusion matrix.

`evaluate.load("f1")` fetches its script from the Hugging Face Hub, which is unreachable in many secure deployments.
This module is a self-contained local script (no relative imports: `evaluate` copies it into its module cache), so

    >>> import evaluate
    >>> metric = evaluate.load("path/to/ctam_classification")  # the folder holding this file

works with no network. The numbers are computed with scikit-learn, exactly as the Hub's `f1`, `precision`, `recall`,
`accuracy` and `confusion_matrix` modules compute theirs.
"""

import datasets
import evaluate
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

_DESCRIPTION = """
Classification metrics for CTAM's sentiment evaluation, in one pass: accuracy; macro- and support-weighted precision,
recall and F1; precision, recall, F1 and support of every class; and the confusion matrix (rows = true class,
columns = predicted class). Classes are the label ids `labels` (default: every id seen in references or
predictions), in that order. A class with no predicted (or no true) example gets precision (or recall) `zero_division`.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list` of `int`): predicted label ids.
    references (`list` of `int`): true label ids.
    labels (`list` of `int`, *optional*): the class ids, in the order of the per-class lists and the confusion matrix.
        Pass every class of the label scheme (e.g. `[0, 1]`) so that a class the model never predicts still counts
        in the macro average.
    zero_division (`float`, *optional*, defaults to 0.0): value of an undefined precision or recall.

Returns:
    accuracy (`float`), macro_precision, macro_recall, macro_f1, weighted_precision, weighted_recall, weighted_f1
    (`float`), labels (`list` of `int`), precision, recall, f1 (`list` of `float`, one per class), support
    (`list` of `int`), confusion_matrix (`list` of `list` of `int`, rows true, columns predicted).

Examples:
    >>> metric = evaluate.load("modeling_ctam/evaluate_metrics/ctam_classification")
    >>> out = metric.compute(predictions=[0, 1, 1, 1], references=[0, 0, 1, 1], labels=[0, 1])
    >>> out["macro_f1"], out["confusion_matrix"]
    (0.7333333333333334, [[1, 1], [0, 2]])
"""

_CITATION = """
@article{scikit-learn,
  title={Scikit-learn: Machine Learning in {P}ython},
  author={Pedregosa, F. and Varoquaux, G. and Gramfort, A. and Michel, V. and Thirion, B. and Grisel, O. and
          Blondel, M. and Prettenhofer, P. and Weiss, R. and Dubourg, V. and Vanderplas, J. and Passos, A. and
          Cournapeau, D. and Brucher, M. and Perrot, M. and Duchesnay, E.},
  journal={Journal of Machine Learning Research},
  volume={12},
  pages={2825--2830},
  year={2011}
}
"""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class CtamClassification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("int32"), "references": datasets.Value("int32")}
            ),
            reference_urls=["https://scikit-learn.org/stable/modules/model_evaluation.html"],
        )

    def _compute(self, predictions, references, labels=None, zero_division=0.0):
        if len(references) == 0:
            raise ValueError("ctam_classification: no examples to score (empty predictions and references).")
        if labels is None:
            labels = sorted(set(int(x) for x in references) | set(int(x) for x in predictions))
        labels = [int(x) for x in labels]
        outside = sorted((set(int(x) for x in references) | set(int(x) for x in predictions)) - set(labels))
        if outside:
            raise ValueError(
                f"ctam_classification: label ids {outside} occur in predictions or references but not in "
                f"labels={labels}; the model's classes and the data's label scheme disagree."
            )
        out = {"accuracy": float(accuracy_score(references, predictions))}
        for average in ("macro", "weighted"):
            p, r, f, _ = precision_recall_fscore_support(
                references, predictions, labels=labels, average=average, zero_division=zero_division
            )
            out[f"{average}_precision"], out[f"{average}_recall"], out[f"{average}_f1"] = float(p), float(r), float(f)
        p, r, f, s = precision_recall_fscore_support(
            references, predictions, labels=labels, average=None, zero_division=zero_division
        )
        out.update(
            labels=labels,
            precision=[float(v) for v in p],
            recall=[float(v) for v in r],
            f1=[float(v) for v in f],
            support=[int(v) for v in s],
            confusion_matrix=confusion_matrix(references, predictions, labels=labels).tolist(),
        )
        return out
