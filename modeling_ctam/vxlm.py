"""VXLM: VecMap static word vectors fused with the contextual encoder (paper section 3.1, method.md section 2).

Three pieces, one per equation:

- eq. 1 :func:`pool_static_word_vectors`: every token carries the mean layer-``l`` state of its word form, taken over
  every sub-token of every occurrence of that form in the sequence. Fully vectorised (no Python loop over tokens).
- eq. 2 :class:`VecMapMapping`: the affine map ``h_vec = W (h_static - mu_tgt) + mu_src`` applied to target-language
  (Burmese) inputs only; source-language (English) inputs pass through unchanged.
- eq. 3 :class:`VXLMGate`: ``g = sigmoid(W_g [h_xlm; h_vec] + b_g)``, ``h = g * h_xlm + (1 - g) * h_vec``.

This file is part of the flat set of files copied next to a checkpoint on the Hub: it imports nothing from the package.
"""

from __future__ import annotations

import torch
from torch import nn

NOT_A_WORD = -1  # word id of special and padding tokens


def word_ids_from_start_table(
    input_ids: torch.LongTensor, attention_mask: torch.Tensor | None, word_start_table: torch.Tensor
) -> torch.LongTensor:
    """Word ids from a per-vocabulary-entry table (the tokenizer's own word boundaries).

    Args:
        input_ids (`torch.LongTensor` of shape `(B, T)`): token ids.
        attention_mask (`torch.Tensor` of shape `(B, T)`, *optional*): 1 for real tokens.
        word_start_table (`torch.Tensor` of shape `(V,)`): per token id, 1 if the token starts a word (a SentencePiece
            piece with U+2581, a WordPiece piece without `##`), 0 if it continues one, -1 for special tokens.

    Returns:
        `torch.LongTensor` of shape `(B, T)`: word index within each sequence (0, 1, ...) or -1 for special/pad tokens.
    """
    kind = word_start_table[input_ids]  # (B, T) in {-1, 0, 1}
    valid = kind >= 0
    if attention_mask is not None:
        valid = valid & attention_mask.bool()
    prev_valid = torch.nn.functional.pad(valid[:, :-1], (1, 0), value=False)  # (B, T)
    starts = valid & ((kind == 1) | ~prev_valid)  # a continuation right after a special token still starts a word
    word_ids = torch.cumsum(starts.long(), dim=1) - 1  # (B, T)
    return torch.where(valid, word_ids, torch.full_like(word_ids, NOT_A_WORD))


def word_form_ids(input_ids: torch.LongTensor, word_ids: torch.LongTensor, by_form: bool = True) -> torch.LongTensor:
    """Group id per token: tokens of the same word form in the same sequence share an id (eq. 1's grouping).

    Two words are the same form when their sub-token id sequences are identical. Grouping is exact (no hashing):
    each word becomes a row `(batch index, its token ids, padding)` and `torch.unique(dim=0)` finds equal rows.

    Args:
        input_ids (`torch.LongTensor` of shape `(B, T)`): token ids.
        word_ids (`torch.LongTensor` of shape `(B, T)`): word index per token, -1 for tokens outside any word.
        by_form (`bool`, *optional*, defaults to `True`): `False` groups each word occurrence on its own.

    Returns:
        `torch.LongTensor` of shape `(B, T)`: group id in `0..G-1`, or -1 where `word_ids` is -1.
    """
    B, T = input_ids.shape
    valid = word_ids >= 0  # (B, T)
    out = torch.full_like(word_ids, NOT_A_WORD)
    if not bool(valid.any()):
        return out
    n_words = int(word_ids.max()) + 1
    occurrence = torch.arange(B, device=input_ids.device).unsqueeze(1) * n_words + word_ids  # (B, T) flat word index
    occ = occurrence[valid]  # (N,) for the N word tokens, in row-major (sequence, position) order
    if not by_form:
        _, inverse = torch.unique(occ, return_inverse=True)
        out[valid] = inverse
        return out
    # rank of each token inside its word (tokens of a word need not be contiguous)
    order = torch.argsort(occ, stable=True)  # (N,)
    sorted_occ = occ[order]
    first = torch.searchsorted(sorted_occ, sorted_occ, right=False)  # (N,) start of each token's word in sorted order
    rank = torch.empty_like(occ)
    rank[order] = torch.arange(occ.numel(), device=occ.device) - first
    max_len = int(rank.max()) + 1
    # one row per word occurrence: [sequence index, token ids..., -1 padding]
    uniq_occ, occ_row = torch.unique(occ, return_inverse=True)  # (Wn,), (N,)
    rows = torch.full((uniq_occ.numel(), max_len + 1), -1, dtype=torch.long, device=occ.device)  # (Wn, 1 + Lw)
    rows[:, 0] = torch.div(uniq_occ, n_words, rounding_mode="floor")  # forms are grouped per sequence
    rows[occ_row, rank + 1] = input_ids[valid]
    _, form_of_word = torch.unique(rows, dim=0, return_inverse=True)  # (Wn,)
    out[valid] = form_of_word[occ_row]
    return out


def pool_static_word_vectors(hidden: torch.Tensor, group_ids: torch.LongTensor) -> torch.Tensor:
    """Eq. 1: replace each token's state by the mean state of its group (word form); others keep their own.

    Args:
        hidden (`torch.Tensor` of shape `(B, T, d)`): layer-`l` hidden states.
        group_ids (`torch.LongTensor` of shape `(B, T)`): from :func:`word_form_ids`, -1 for tokens outside words.

    Returns:
        `torch.Tensor` of shape `(B, T, d)`: `h_static`.
    """
    B, T, d = hidden.shape
    valid = group_ids >= 0  # (B, T)
    if not bool(valid.any()):
        return hidden
    gid = group_ids[valid]  # (N,)
    n_groups = int(gid.max()) + 1
    states = hidden[valid]  # (N, d)
    sums = states.new_zeros(n_groups, d).index_add_(0, gid, states)  # (G, d)
    counts = torch.bincount(gid, minlength=n_groups).clamp_min(1).to(states.dtype)  # (G,)
    means = sums / counts.unsqueeze(1)  # (G, d)  eq. 1: mean over every sub-token of every occurrence
    out = hidden.clone()
    out[valid] = means[gid]
    return out


class VecMapMapping(nn.Module):
    """Eq. 2 in the model: ``h_vec = W (h_static - mu_tgt) + mu_src`` for target-language inputs, identity otherwise.

    `W` is initialised to the identity (and both means to zero) unless an alignment result is loaded with
    :meth:`load_alignment`. Whether `W` trains is `CTAMConfig.mapping_trainable`; the means stay fixed.
    """

    def __init__(self, hidden_size: int, trainable: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.eye(hidden_size), requires_grad=trainable)  # (d, d)
        self.register_buffer("target_mean", torch.zeros(hidden_size))  # (d,) mu_tgt, Burmese
        self.register_buffer("source_mean", torch.zeros(hidden_size))  # (d,) mu_src, English

    def forward(self, h_static: torch.Tensor, is_target: bool) -> torch.Tensor:
        if not is_target:
            return h_static  # source-language inputs bypass the mapping
        # eq. 2: (B, T, d) @ (d, d)^T -> (B, T, d)
        return torch.nn.functional.linear(h_static - self.target_mean, self.weight) + self.source_mean

    @torch.no_grad()
    def load_alignment(self, weight: torch.Tensor, target_mean: torch.Tensor | None = None,
                       source_mean: torch.Tensor | None = None) -> None:
        """Set `W`, `mu_tgt`, `mu_src` from a VecMap alignment result (`modeling_ctam.align` writes them)."""
        d = self.weight.shape[0]
        if tuple(weight.shape) != (d, d):
            raise ValueError(f"mapping weight has shape {tuple(weight.shape)}, but this model's hidden size needs ({d}, {d}).")
        self.weight.copy_(weight.to(self.weight))
        for name, value in (("target_mean", target_mean), ("source_mean", source_mean)):
            buf = getattr(self, name)
            if value is None:
                buf.zero_()
            elif tuple(value.shape) != (d,):
                raise ValueError(f"mapping {name} has shape {tuple(value.shape)}, expected ({d},).")
            else:
                buf.copy_(value.to(buf))

    def orthogonality_penalty(self) -> torch.Tensor:
        """``||W^T W - I||_F^2``: keeps the dynamic mapping close to a rotation."""
        w = self.weight.float()
        eye = torch.eye(w.shape[0], device=w.device)
        return ((w.t() @ w - eye) ** 2).sum()


class VXLMGate(nn.Module):
    """Eq. 3: ``g = sigmoid(W_g [h_xlm; h_vec] + b_g)``; ``h = g * h_xlm + (1 - g) * h_vec``."""

    def __init__(self, hidden_size: int, gate_type: str = "vector"):
        super().__init__()
        out = hidden_size if gate_type == "vector" else 1
        self.proj = nn.Linear(2 * hidden_size, out)

    def forward(self, h_xlm: torch.Tensor, h_vec: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        assert h_xlm.shape == h_vec.shape, f"gate inputs differ: {tuple(h_xlm.shape)} vs {tuple(h_vec.shape)}"
        g = torch.sigmoid(self.proj(torch.cat([h_xlm, h_vec], dim=-1)))  # (B, T, d) or (B, T, 1)   eq. 3, bias inside
        h = g * h_xlm + (1.0 - g) * h_vec  # (B, T, d)
        return h, g
