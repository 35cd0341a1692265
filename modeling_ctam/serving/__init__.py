# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Serving: the runtimes a trained CTAM model predicts with, beside PyTorch.

One concept per module:

- :mod:`.settings`: a trained model's tokenisation settings and class names;
- :mod:`.backends`: one :class:`~.backends.Classifier` over PyTorch or ONNX Runtime
  (:func:`~.backends.load_classifier`);
- :mod:`.onnx`: the student path exported to ONNX and quantised to int8 (:func:`~.onnx.export_onnx`), and its
  ONNX Runtime session (:class:`~.onnx.OnnxSequenceClassifier`). Needs ``pip install -e ".[onnx]"``.
"""

from .backends import BACKENDS, Classifier, load_classifier
from .settings import inference_settings

__all__ = ["BACKENDS", "Classifier", "inference_settings", "load_classifier"]
