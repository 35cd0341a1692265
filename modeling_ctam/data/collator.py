# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Tokenisation and batch collation: the one path from texts to CTAM's input tensors, for training and evaluation.

:class:`CTAMCollator` batches :class:`~modeling_ctam.data.pairing.PairedDataset` items (or plain ``load_examples``
rows); :func:`tokenize_for_eval` tokenises raw texts exactly as training does. Burmese word boundaries (``word_ids``)
come from :func:`modeling_ctam.data.burmese.batch_word_ids`, English ones from the fast tokenizer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch

from .pairing import as_item_label
from .rows import LANGUAGES, check_choice, load_burmese

logger = logging.getLogger(__name__)

# --------------------------------------------------------------------------------------------------------------------
# Tokenisation and collation
# --------------------------------------------------------------------------------------------------------------------

_warned: set[str] = set()


def _word_ids_tensor(rows: Sequence[Sequence[int | None]], length: int, where: str):
    out = torch.full((len(rows), length), -1, dtype=torch.long)
    for i, row in enumerate(rows):
        row = list(row)
        if len(row) > length:
            raise ValueError(
                f"{where}: word_ids of sequence {i} have {len(row)} positions, more than the {length} tokens of the "
                "batch; the word segmenter and the tokenizer disagree."
            )
        values = [-1 if w is None or w < 0 else int(w) for w in row]
        if values:
            out[i, : len(values)] = torch.tensor(values, dtype=torch.long)
    return out


def _encode(
    tokenizer,
    texts: Sequence[str],
    *,
    language: str,
    max_length: int,
    word_ids: bool,
    preprocess: bool,
    pad_to_multiple_of: int | None = None,
) -> tuple[dict[str, Any], int]:
    """Tokenises one side of a batch. Returns ``(tensors, number of truncated texts)``."""
    check_choice("language", language, LANGUAGES)
    texts = list(texts)
    if preprocess and language == "my":
        preprocess_fn = load_burmese().preprocess
        texts = [preprocess_fn(t) for t in texts]
    call_kwargs = dict(
        padding="longest",
        truncation=True,
        max_length=max_length,
        pad_to_multiple_of=pad_to_multiple_of,
        return_token_type_ids=False,
    )
    encoding = tokenizer(texts, return_tensors="pt", **call_kwargs)
    encodings = getattr(encoding, "encodings", None)
    if encodings is not None:
        n_truncated = sum(1 for e in encodings if e.overflowing)
    else:  # slow tokenizer: count with an untruncated pass
        lengths = tokenizer(texts, truncation=False, return_length=True)["length"]
        n_truncated = sum(1 for n in lengths if n > max_length)
    out = {"input_ids": encoding["input_ids"], "attention_mask": encoding["attention_mask"]}
    if word_ids:
        if language == "my":
            segmented = load_burmese().batch_word_ids(tokenizer, texts, return_tensors="pt", **call_kwargs)
            if not torch.equal(segmented["input_ids"], out["input_ids"]):
                raise RuntimeError(
                    "burmese.batch_word_ids tokenised the batch differently from the collator; word_ids would not "
                    "line up with input_ids."
                )
            out["word_ids"] = segmented["word_ids"].long()
        else:
            if encodings is None:
                raise ValueError("word_ids=True for English needs a fast tokenizer (its word_ids()).")
            rows = [encoding.word_ids(i) for i in range(len(texts))]
            out["word_ids"] = _word_ids_tensor(rows, out["input_ids"].shape[1], f"word_ids ({language})")
    return out, n_truncated


def _warn_truncation(key: str, n_truncated: int, total: int, max_length: int) -> None:
    if n_truncated and key not in _warned:
        _warned.add(key)
        logger.warning(
            "%d of %d texts in a batch were truncated to max_length=%d tokens (further truncation is counted "
            "silently; see CTAMCollator.num_truncated).",
            n_truncated,
            total,
            max_length,
        )


def tokenize_for_eval(
    tokenizer,
    texts: str | Sequence[str],
    language: str = "my",
    *,
    max_length: int = 128,
    word_ids: bool = False,
    preprocess: bool = True,
) -> dict[str, Any]:
    """Tokenises raw texts exactly as training does, for evaluation and the pipeline.

    Burmese texts (``language="my"``) go through :func:`modeling_ctam.data.burmese.preprocess` (as
    :func:`load_examples` does), then the tokenizer with dynamic padding and truncation at ``max_length``.

    Returns:
        `dict` of `torch.LongTensor`: ``input_ids``, ``attention_mask`` (and ``word_ids`` with ``word_ids=True``:
        ``-1`` for special and padding tokens, words numbered from 0 in each sequence).
    """
    if isinstance(texts, str):
        texts = [texts]
    out, n_truncated = _encode(
        tokenizer, texts, language=language, max_length=max_length, word_ids=word_ids, preprocess=preprocess
    )
    _warn_truncation(f"eval-{language}", n_truncated, len(texts), max_length)
    return out


@dataclass
class CTAMCollator:
    """Batches :class:`PairedDataset` items (or plain ``load_examples`` rows) into the tensors CTAM's ``forward``
    takes.

    Output keys: ``input_ids``, ``attention_mask``, ``labels`` (target labels, ``-100`` where unknown) and, when the
    items carry ``source_text``, ``source_input_ids``, ``source_attention_mask``, ``source_labels``; with
    ``word_ids=True`` also ``word_ids`` (and ``source_word_ids``): `torch.LongTensor` ``(B, T)``, ``-1`` for special
    and padding tokens, words numbered from 0 in each sequence (Burmese from the word segmenter through
    :func:`modeling_ctam.data.burmese.batch_word_ids`, English from the fast tokenizer's ``word_ids()``).
    Each side is padded to its longest sequence and truncated at ``max_length``.
    """

    tokenizer: Any = field(metadata={"help": "A (fast) Hugging Face tokenizer."})
    max_length: int = field(default=128, metadata={"help": "Truncate longer sequences to this many tokens."})
    word_ids: bool = field(default=False, metadata={"help": "Also return word_ids / source_word_ids."})
    language: str = field(default="my", metadata={"help": "Language of the items' `text` (the target)."})
    source_language: str = field(default="en", metadata={"help": "Language of the items' `source_text`."})
    preprocess: bool = field(
        default=False,
        metadata={
            "help": "Run Burmese preprocessing on the texts. False by default because load_examples/load_parallel "
            "already did; set True for datasets built without them."
        },
    )
    pad_to_multiple_of: int | None = field(default=None, metadata={"help": "Pad lengths to a multiple of this."})

    def __post_init__(self):
        if self.tokenizer is None or not callable(self.tokenizer):
            raise ValueError("CTAMCollator.tokenizer must be a Hugging Face tokenizer.")
        if not isinstance(self.max_length, int) or self.max_length < 2:
            raise ValueError(f"CTAMCollator.max_length={self.max_length!r}: must be an integer >= 2")
        check_choice("CTAMCollator.language", self.language, LANGUAGES)
        check_choice("CTAMCollator.source_language", self.source_language, LANGUAGES)
        if self.pad_to_multiple_of is not None and self.pad_to_multiple_of < 1:
            raise ValueError(f"CTAMCollator.pad_to_multiple_of={self.pad_to_multiple_of}: must be >= 1 or None")
        self.num_truncated = 0
        self._warned = False

    def encode_side(self, texts: list[str], language: str) -> dict[str, Any]:
        out, n_truncated = _encode(
            self.tokenizer,
            texts,
            language=language,
            max_length=self.max_length,
            word_ids=self.word_ids,
            preprocess=self.preprocess,
            pad_to_multiple_of=self.pad_to_multiple_of,
        )
        if n_truncated:
            self.num_truncated += n_truncated
            if not self._warned:
                self._warned = True
                logger.warning(
                    "CTAMCollator: %d of %d %s texts in this batch were longer than max_length=%d tokens and were "
                    "truncated; later truncations are counted in CTAMCollator.num_truncated without warning.",
                    n_truncated,
                    len(texts),
                    language,
                    self.max_length,
                )
        return out

    def __call__(self, features: list[Mapping[str, Any]]) -> dict[str, Any]:
        if not features:
            raise ValueError("CTAMCollator got an empty batch.")
        has_source = ["source_text" in f for f in features]
        if any(has_source) and not all(has_source):
            raise ValueError(
                "CTAMCollator: some items have 'source_text' and some do not; do not mix paired and plain items."
            )
        texts = [f["text"] for f in features]
        batch: dict[str, Any] = {}
        target = self.encode_side(texts, self.language)
        batch["input_ids"] = target["input_ids"]
        batch["attention_mask"] = target["attention_mask"]
        batch["labels"] = torch.tensor([as_item_label(f.get("label", -100)) for f in features], dtype=torch.long)
        if all(has_source):
            source = self.encode_side([f["source_text"] for f in features], self.source_language)
            batch["source_input_ids"] = source["input_ids"]
            batch["source_attention_mask"] = source["attention_mask"]
            batch["source_labels"] = torch.tensor(
                [as_item_label(f.get("source_label", -100)) for f in features], dtype=torch.long
            )
            if self.word_ids:
                batch["source_word_ids"] = source["word_ids"]
        if self.word_ids:
            batch["word_ids"] = target["word_ids"]
        return batch
