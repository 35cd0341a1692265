# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""One classifier, two runtimes: a trained model in PyTorch, or its exported ONNX graph in ONNX Runtime.

:func:`load_classifier` gives a :class:`Classifier` whose :meth:`~Classifier.probabilities` takes preprocessed
texts and returns the softmax over the model's classes. Both backends tokenise and batch through the one evaluation
path, :func:`modeling_ctam.evaluation.predict.predict` (sorted by length, the training tokenisation, truncation at
the training ``max_length``); only the forward pass differs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from .settings import inference_settings, label_names

logger = logging.getLogger(__name__)

BACKENDS = ("pytorch", "onnx")


class Classifier:
    """A sequence classifier ready for corpus-scale prediction (see :func:`load_classifier`).

    Attributes:
        backend (`str`): ``"pytorch"`` or ``"onnx"``.
        label_names (`list[str]`): class names in class-id order.
        max_length (`int`): truncation length in tokens.
        word_ids (`bool`): whether the model takes Burmese word-segmenter ``word_ids``.
        num_truncated (`int`): texts truncated so far.
    """

    def __init__(
        self,
        model,
        tokenizer,
        *,
        backend: str,
        label_names: Sequence[str],
        max_length: int,
        word_ids: bool,
        batch_size: int,
        device,
        language: str = "my",
        source: str = "",
    ):
        self.model, self.tokenizer = model, tokenizer
        self.backend, self.label_names, self.max_length = backend, list(label_names), max_length
        self.word_ids, self.batch_size, self.device, self.language = word_ids, batch_size, device, language
        self.source = source
        self.num_truncated = 0

    def probabilities(self, texts: Sequence[str]) -> list[list[float]]:
        """Per text (preprocessed, non-empty), the softmax over the classes, in class-id order."""
        from ..evaluation.predict import predict

        if not texts:
            return []
        _, info = predict(
            self.model,
            self.tokenizer,
            list(texts),
            language=self.language,
            batch_size=self.batch_size,
            max_length=self.max_length,
            word_ids=self.word_ids,
            preprocess=False,
            device=self.device,
        )
        self.num_truncated += info["num_truncated"]
        return info["probabilities"]


def set_threads(num_threads: int | None) -> None:
    """PyTorch's intra-op threads (the ONNX session takes the same number from :func:`load_classifier`)."""
    import torch

    if num_threads:
        torch.set_num_threads(int(num_threads))


def load_classifier(
    model: str | os.PathLike,
    backend: str = "pytorch",
    *,
    revision: str | None = None,
    device: Any = None,
    batch_size: int = 32,
    max_length: int | None = None,
    num_threads: int | None = None,
    trust_remote_code: bool = True,
    language: str = "my",
) -> Classifier:
    """Loads a model folder (or Hub id) for prediction with the PyTorch or the ONNX Runtime backend.

    Args:
        model (`str` or `os.PathLike`): a train.py / ``save_pretrained`` folder or Hub id (``pytorch``), or a folder
            written by ``eval.py export-onnx`` or ``hub/push.py --onnx`` (``onnx``).
        backend (`str`, *optional*, defaults to `"pytorch"`): one of :data:`BACKENDS`.
        revision (`str`, *optional*): Hub revision to pin (``pytorch``).
        device (*optional*): ``pytorch``: where to run (default cuda if available); ``onnx``: ``"cuda"`` asks for
            the CUDA execution provider.
        batch_size (`int`, *optional*, defaults to 32): texts per forward pass.
        max_length (`int`, *optional*): truncation length; default: the training run's (:func:`inference_settings`).
        num_threads (`int`, *optional*): intra-op threads of PyTorch and of the ONNX Runtime session.
        trust_remote_code (`bool`, *optional*, defaults to `True`): load the modeling code saved with the model.
        language (`str`, *optional*, defaults to `"my"`): language of the texts.
    """
    import torch
    from transformers import AutoConfig, AutoTokenizer

    import modeling_ctam  # noqa: F401  (registers CTAM with the Auto classes)

    from ..data.rows import check_choice

    check_choice("backend", backend, BACKENDS)
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1.")
    set_threads(num_threads)
    name = os.fspath(model)
    if backend == "onnx":
        from .onnx import load_onnx_model, onnx_model_file

        onnx_model_file(name)  # a clear error before anything else is loaded
    try:
        config = AutoConfig.from_pretrained(name, revision=revision, trust_remote_code=trust_remote_code)
        # Texts arrive preprocessed (the readers ran burmese.preprocess and detected the encoding): the tokenizer
        # need not do it again.
        tokenizer = AutoTokenizer.from_pretrained(
            name, revision=revision, trust_remote_code=trust_remote_code, burmese_preprocess=False
        )
    except (OSError, ValueError) as error:
        raise ValueError(f"--model {name}: cannot load its config and tokenizer: {error}") from error
    settings = inference_settings(name, config)
    if backend == "onnx":
        net = load_onnx_model(name, num_threads=num_threads, device=device)
        device = torch.device("cpu")  # the inputs are handed over as CPU arrays
        settings["word_ids"] = net.takes_word_ids
    else:
        from transformers import AutoModelForSequenceClassification

        device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        try:
            net = AutoModelForSequenceClassification.from_pretrained(
                name, revision=revision, trust_remote_code=trust_remote_code, dtype=torch.float32
            )
        except (OSError, ValueError) as error:
            raise ValueError(f"--model {name}: cannot load the model: {error}") from error
        net = net.to(device).eval()
    return Classifier(
        net,
        tokenizer,
        backend=backend,
        label_names=label_names(config),
        max_length=max_length or settings["max_length"],
        word_ids=settings["word_ids"],
        batch_size=batch_size,
        device=device,
        language=language,
        source=name,
    )
