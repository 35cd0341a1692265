"""The n-gram view: a linear model over hashed token n-grams, ensembled with the student path (beyond the paper).

CTAM's student reads a review through the encoder. Reviews also carry surface cues (a negated verb, a complaint
particle, a repeated emoji) that a bag of token n-grams catches directly and a small, partly frozen encoder may miss.
After the student is trained, the recipe fits this head on the student's own pseudo-labels over the unlabelled target
reviews (and on gold labels where there are any), and the model's output becomes a product of experts (Hinton 2002)
of the two views (docs/transfer.md, "The n-gram view")::

    log p(y | x) = (1 - a) log p_student(y | x) + a log p_ngram(y | x) + const

Features are computed from `input_ids` inside the model, so the head travels with `save_pretrained` in
`model.safetensors`, loads with `from_pretrained` and runs in any pipeline or exported graph; nothing outside the
model (no scikit-learn, no vocabulary file) is needed at inference. They are TF-IDF weighted counts of token 1..n-grams
hashed into `buckets` bins (feature hashing, Weinberger et al. 2009), L2-normalised over occurrences:

    x = sum_i idf[b_i] e_{b_i} / sqrt(sum_i idf[b_i]^2)            (i over the n-gram occurrences of the text)
    logits_ngram = x @ weight + bias

The hash of the n-gram `(t_1..t_n)` is `(7919 n + sum_k (t_k * MULT[n][k] mod P)) mod P` with `P = buckets` prime,
exact in int64 for token ids below 2^31 (every product stays below 2^63).
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .configuration_ctam import DEFAULT_NGRAM_BUCKETS, resolve_ngram_head_config

# Multipliers per n-gram order and position (odd, pairwise distinct, below 2^32): `t_k * MULT[n][k]` < 2^63 for any
# token id below 2^31.
NGRAM_MULTIPLIERS = ((1000003,), (2654435761, 40503), (1099511627, 97, 2246822519))
NGRAM_ORDER_SALT = 7919


def hashed_ngrams(
    input_ids: torch.LongTensor,
    attention_mask: torch.Tensor,
    max_order: int,
    buckets: int,
    ignore_ids: Sequence[int] = (),
) -> tuple[torch.LongTensor, torch.Tensor]:
    """The hashed token n-grams of every row, orders 1..`max_order`.

    Returns:
        `(bins, valid)`, both of shape `(B, M)` with `M = sum_n (T - n + 1)`: the bucket of the n-gram that starts at
        each position (orders concatenated), and whether it exists (every token of it attended and not special).
    """
    ids = input_ids.long()  # (B, T)
    keep = attention_mask.bool()
    for special in ignore_ids:
        keep = keep & (ids != special)
    T = ids.shape[1]
    bins, valid = [], []
    for n in range(1, max_order + 1):
        if T < n:
            continue
        width = T - n + 1
        b = torch.full_like(ids[:, :width], NGRAM_ORDER_SALT * n)  # (B, T - n + 1)
        ok = torch.ones_like(keep[:, :width])
        for k in range(n):
            b = torch.remainder(
                b + torch.remainder(ids[:, k : k + width] * NGRAM_MULTIPLIERS[n - 1][k], buckets), buckets
            )
            ok = ok & keep[:, k : k + width]
        bins.append(b)
        valid.append(ok)
    if not bins:
        return ids[:, :0], keep[:, :0]
    return torch.cat(bins, dim=1), torch.cat(valid, dim=1)  # (B, M)


class NgramHead(nn.Module):
    """TF-IDF hashed token n-grams -> linear logits (module docstring). Fitted by the recipe, not by gradient descent
    (`modeling_ctam.transfer.ngram_view`); a head that was never fitted has zero weights and predicts uniformly."""

    def __init__(self, spec: dict, num_labels: int):
        super().__init__()
        spec = resolve_ngram_head_config(spec)
        self.max_order, self.buckets = spec["max_order"], spec["buckets"]
        self.ignore_ids = tuple(spec["ignore_ids"])
        self.weight = nn.Parameter(torch.zeros(self.buckets, num_labels))
        self.bias = nn.Parameter(torch.zeros(num_labels))
        self.idf = nn.Parameter(torch.ones(self.buckets), requires_grad=False)

    def bins(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor):
        """`(bins, valid)` of shape `(B, M)`: this head's hashed n-grams (:func:`hashed_ngrams`)."""
        return hashed_ngrams(input_ids, attention_mask, self.max_order, self.buckets, self.ignore_ids)

    def features(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor):
        """`(bins, values)` of shape `(B, M)`: each n-gram occurrence's bucket and its normalised TF-IDF value (0 for
        n-grams that do not exist)."""
        bins, valid = self.bins(input_ids, attention_mask)
        idf = self.idf[bins] * valid  # (B, M)
        norm = idf.pow(2).sum(dim=1, keepdim=True).sqrt().clamp_min(1e-12)  # (B, 1) L2 over occurrences
        return bins, idf / norm

    def forward(self, input_ids: torch.LongTensor, attention_mask: torch.Tensor | None = None) -> torch.Tensor:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        bins, values = self.features(input_ids, attention_mask)  # (B, M), (B, M)
        per_ngram = self.weight[bins]  # (B, M, C)
        return (values.unsqueeze(-1).to(per_ngram.dtype) * per_ngram).sum(dim=1) + self.bias  # (B, C)


def ensemble_logits(student_logits: torch.Tensor, ngram_logits: torch.Tensor, weight: float) -> torch.Tensor:
    """The two views' product of experts: `(1 - a) log_softmax(student) + a log_softmax(ngram)`, `(B, C)`. Its
    softmax is the ensemble posterior."""
    student = torch.log_softmax(student_logits.float(), dim=-1)
    ngram = torch.log_softmax(ngram_logits.float(), dim=-1)
    return ((1.0 - weight) * student + weight * ngram).to(student_logits.dtype)


__all__ = ["NgramHead", "hashed_ngrams", "ensemble_logits", "resolve_ngram_head_config", "DEFAULT_NGRAM_BUCKETS"]
