# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The model side of evaluation: matching a model's classes with the data's label scheme, and batched prediction."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

__all__ = ["LabelSchemeMismatchError", "is_generic_label_name", "resolve_label_names", "predict"]


def is_generic_label_name(name: str) -> bool:
    """``True`` for transformers' placeholder names (``LABEL_0``, ``LABEL_1``, ...)."""
    return str(name).upper().startswith("LABEL_") and str(name)[6:].isdigit()


class LabelSchemeMismatchError(ValueError):
    """The evaluation data's label scheme does not fit the model's classes (the message says what to do)."""


def resolve_label_names(
    id2label: Mapping[Any, str] | None, num_labels: int, scheme_names: Sequence[str], scheme: str = ""
) -> tuple[list[str], list[int] | None]:
    """Matches a model's classes with the data's label scheme.

    Args:
        id2label (`Mapping`, *optional*): the model's ``config.id2label`` (keys may be strings after JSON).
        num_labels (`int`): the model's ``config.num_labels``.
        scheme_names (`Sequence[str]`): the data's class names, index = label id (e.g. ``["negative", "positive"]``).
        scheme (`str`, *optional*): the scheme's name, for messages (``"binary"`` / ``"three-class"``).

    Returns:
        `tuple`: ``(label_names, remap)``. ``label_names`` are the data's class names. ``remap`` is `None` when the
        model's class ``i`` is the data's class ``i``; otherwise ``remap[model_id] = data_id`` (the model names the
        same classes in another order). Placeholder names (``LABEL_0`` ...) are taken to follow the data's order,
        with a warning.

    Raises:
        LabelSchemeMismatchError: a different number of classes, or class names that are not the scheme's.
    """
    import logging

    from ..data import LABEL_SCHEMES

    names = [str(n) for n in scheme_names]
    if num_labels != len(names):
        fitting = [s for s, n in LABEL_SCHEMES.items() if len(n) == num_labels]
        hint = (
            f"Evaluate it with --labels {fitting[0]} (classes {LABEL_SCHEMES[fitting[0]]})"
            if fitting
            else "No CTAM label scheme has that many classes"
        )
        model_names = [str(id2label[k]) for k in sorted(id2label, key=int)] if id2label else []
        raise LabelSchemeMismatchError(
            f"The model has {num_labels} classes {model_names} but --labels {scheme or names} gives the data "
            f"{len(names)} classes {names}. {hint}, or evaluate a model trained on the {scheme or 'same'} scheme "
            "(train.py --labels must match eval.py --labels)."
        )
    if not id2label:
        return names, None
    model_names = [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(num_labels)]
    if all(is_generic_label_name(n) for n in model_names):
        logging.getLogger(__name__).warning(
            "The model's config has placeholder class names %s; assuming they follow the data's order %s. Set "
            "id2label/label2id in the model config so that its outputs are named.",
            model_names,
            names,
        )
        return names, None
    lowered = [n.lower() for n in model_names]
    wanted = [n.lower() for n in names]
    if lowered == wanted:
        return names, None
    if sorted(lowered) == sorted(wanted):
        return names, [wanted.index(n) for n in lowered]
    raise LabelSchemeMismatchError(
        f"The model's classes {model_names} are not the classes {names} of --labels {scheme or names}. Evaluate "
        "with the label scheme the model was trained on, or fix id2label in its config.json."
    )


def predict(
    model,
    tokenizer,
    texts: Sequence[str],
    *,
    language: str = "my",
    batch_size: int = 32,
    max_length: int = 128,
    word_ids: bool = False,
    preprocess: bool = False,
    device: Any = None,
) -> tuple[list[int], dict[str, Any]]:
    """Predicted class ids of a sequence-classification model for ``texts``, batched.

    Texts are tokenised with :func:`modeling_ctam.data.collator.tokenize_for_eval` (the same tokenisation as training);
    batches are formed in order of length (less padding) and the predictions returned in the input order. Inference
    is ``model(input_ids=..., attention_mask=...).logits.argmax(-1)`` under ``torch.inference_mode``.

    Args:
        model: a Hugging Face sequence-classification model (CTAM or any other).
        tokenizer: its tokenizer.
        texts (`Sequence[str]`): the inputs.
        language (`str`, *optional*, defaults to `"my"`): language of the texts.
        batch_size (`int`, *optional*, defaults to 32): texts per forward pass.
        max_length (`int`, *optional*, defaults to 128): truncation length in tokens.
        word_ids (`bool`, *optional*, defaults to `False`): also pass Burmese word-segmenter ``word_ids`` (CTAM's
            eq. 1 word boundaries); otherwise the model uses its tokenizer's boundaries.
        preprocess (`bool`, *optional*, defaults to `False`): run Burmese preprocessing (leave `False` for texts
            from :func:`modeling_ctam.data.load_examples`, which already did it).
        device (*optional*): where to run; defaults to the model's device.

    Returns:
        `tuple`: ``(predictions, info)`` with ``info`` = ``{"num_truncated": int, "seconds": float,
        "probabilities": list[list[float]]}``: per text, the softmax over the model's classes (in class-id order).
    """
    import time

    import torch

    from ..data import tokenize_for_eval

    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size} must be >= 1.")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.eval()
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    predictions = [0] * len(texts)
    probabilities: list[list[float]] = [[] for _ in texts]
    num_truncated = 0
    start = time.perf_counter()
    with torch.inference_mode():
        for begin in range(0, len(order), batch_size):
            index = order[begin : begin + batch_size]
            batch_texts = [texts[i] for i in index]
            encoded = tokenize_for_eval(
                tokenizer, batch_texts, language, max_length=max_length, word_ids=word_ids, preprocess=preprocess
            )
            lengths = [len(ids) for ids in tokenizer(batch_texts, truncation=False, verbose=False)["input_ids"]]
            num_truncated += sum(1 for n in lengths if n > max_length)
            inputs = {k: v.to(device) for k, v in encoded.items()}
            logits = model(**inputs).logits
            for i, p, probs in zip(index, logits.argmax(-1).tolist(), logits.float().softmax(-1).tolist()):
                predictions[i] = int(p)
                probabilities[i] = [round(float(x), 6) for x in probs]
    return predictions, {
        "num_truncated": num_truncated,
        "seconds": time.perf_counter() - start,
        "probabilities": probabilities,
    }
