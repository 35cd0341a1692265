"""The frozen stage-1 teacher, computed once: its posteriors on target text and its BiGRU states on English text.

In stage 2 the teacher never changes, so nothing it produces needs recomputing per step: the posteriors that become
pseudo-labels and the eq. 10 targets `h'_1..h'_M` of every English sentence that a stage-2 item pairs with are
computed here, in eval mode with no gradient, before stage 2 starts. Stage 2 then costs what plain fine-tuning costs
per example: one student forward and backward, no teacher forward.
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np
import torch

from ..data import tokenize_for_eval
from ..dual_path import layer_summaries

FORWARD_TEXTS: Counter = Counter()
"""Texts this process has run through :func:`teacher_posteriors` (key `posteriors`) and :func:`teacher_states`
(`states`): the recipe's record of where the one-off computations ran (:mod:`.distributed`)."""


def _batches(texts: Sequence[str], batch_size: int):
    for start in range(0, len(texts), batch_size):
        yield start, list(texts[start : start + batch_size])


@torch.no_grad()
def teacher_posteriors(
    model, tokenizer, texts: Sequence[str], *, language: str = "my", max_length: int = 128, batch_size: int = 64
) -> np.ndarray:
    """Class posteriors of `model` on `texts`, `(N, C)` float64: Burmese (`language="my"`) through the student path
    with the eq. 2 mapping, English (`"en"`) through the teacher path without it.

    Texts are tokenised exactly as evaluation does (:func:`modeling_ctam.data.tokenize_for_eval`; Burmese texts that
    the loaders already preprocessed pass through preprocessing unchanged).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = np.zeros((len(texts), model.config.num_labels), dtype=np.float64)
    FORWARD_TEXTS["posteriors"] += len(texts)
    try:
        for start, chunk in _batches(texts, batch_size):
            enc = tokenize_for_eval(tokenizer, chunk, language, max_length=max_length)
            ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
            if language == "my":
                logits = model(input_ids=ids, attention_mask=mask).logits
            else:
                logits = model(source_input_ids=ids, source_attention_mask=mask).logits
            out[start : start + len(chunk)] = torch.softmax(logits.float(), dim=-1).cpu().numpy()
    finally:
        model.train(was_training)
    return out


@torch.no_grad()
def teacher_states(
    model, tokenizer, texts: Sequence[str], *, max_length: int = 128, batch_size: int = 64
) -> torch.Tensor:
    """The teacher BiGRU's states `h'_1..h'_M` (eqs. 4-10) for English `texts`: `(N, M, k)` float32 on the CPU.

    English rows take the teacher path: the encoder without the eq. 2 mapping, the masked mean of each layer in
    `align_layers` (`T_1..T_M`), then the teacher BiGRU.
    """
    if model.dual_path is None:
        raise ValueError("this model has no dual path (lambda_align=0), so it has no teacher BiGRU states.")
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    layers = model.config.resolved_align_layers
    chunks = []
    FORWARD_TEXTS["states"] += len(texts)
    try:
        for _, chunk in _batches(texts, batch_size):
            enc = tokenize_for_eval(tokenizer, chunk, "en", max_length=max_length)
            ids, mask = enc["input_ids"].to(device), enc["attention_mask"].to(device)
            out = model.ctam(ids, mask, is_target=False)
            t_seq = layer_summaries(out.hidden_states, mask, layers)  # (b, M, d)  T_1..T_M
            chunks.append(model.dual_path.teacher_states(t_seq).float().cpu())  # (b, M, k)
    finally:
        model.train(was_training)
    return torch.cat(chunks) if chunks else torch.zeros(0, len(layers), 2 * model.config.resolved_gru_hidden_size)
