"""Dual-path attention supervision (paper section 3.2, eqs. 4-10; method.md section 3).

The teacher (English) and student (Burmese) paths each summarise the encoder layer by layer: `T_m` / `S_m` is the
masked mean of hidden-state layer `m`. A BiGRU per path runs over that length-`M` sequence. The student's attended
context for each teacher layer is pulled towards that teacher state (eq. 10, our reading):

    L_R = sum_i X_i * || s_i - stopgrad(h'_i) ||^2, averaged over the batch.

The teacher side is detached everywhere in `L_R`: knowledge flows teacher -> student, the teacher trains by `L_T`.

This file is part of the flat set of files copied next to a checkpoint on the Hub: it imports nothing from the package.
"""

from __future__ import annotations

import torch
from torch import nn


def layer_summaries(hidden_states: tuple[torch.Tensor, ...], attention_mask: torch.Tensor,
                    layers: list[int]) -> torch.Tensor:
    """Masked mean of each selected hidden-state layer: the sequence `T_1..T_M` (or `S_1..S_M`).

    Args:
        hidden_states (`tuple[torch.Tensor]`): the encoder's `(B, T, d)` states, index 0 = embeddings.
        attention_mask (`torch.Tensor` of shape `(B, T)`): 1 for real tokens.
        layers (`list[int]`): hidden-state indices `m`.

    Returns:
        `torch.Tensor` of shape `(B, M, d)`.
    """
    stacked = torch.stack([hidden_states[m] for m in layers], dim=1)  # (B, M, T, d)
    mask = attention_mask.to(stacked.dtype)[:, None, :, None]  # (B, 1, T, 1)
    return (stacked * mask).sum(2) / mask.sum(2).clamp_min(1.0)  # (B, M, d)


class BilinearScore(nn.Module):
    """Eqs. 4 and 7: ``f(a, b) = tanh(a^T W_n b + b_n)`` for every pair of rows of `a` and `b`."""

    def __init__(self, size: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(size, size))  # W_n (k, k)
        self.bias = nn.Parameter(torch.zeros(1))  # b_n

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # a: (B, Ja, k), b: (B, Jb, k) -> (B, Ja, Jb)
        return torch.tanh(torch.einsum("bik,kl,bjl->bij", a, self.weight, b) + self.bias)


def alignment_loss(student: torch.Tensor, teacher: torch.Tensor, score: BilinearScore,
                   weighting: str = "attention") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eqs. 4-10 on the BiGRU states of both paths.

    Args:
        student (`torch.Tensor` of shape `(B, M, k)`): student states `h_1..h_M`.
        teacher (`torch.Tensor` of shape `(B, M, k)`): teacher states `h'_1..h'_M` (detached inside).
        score (`BilinearScore`): `f`.
        weighting (`str`, *optional*, defaults to `"attention"`): `"attention"` uses `X_i`, `"uniform"` uses `1/M`.

    Returns:
        `(loss, w, X)`: the scalar `L_R`, the `(B, M_teacher, M_student)` weights `w_ij` and the `(B, M)` weights `X_i`.
    """
    assert student.shape == teacher.shape, f"paths differ: {tuple(student.shape)} vs {tuple(teacher.shape)}"
    teacher = teacher.detach()  # stop-gradient: the teacher is trained by L_T only
    # eqs. 4-5: w_ij = softmax_j f(h_j, h'_i)
    w = torch.softmax(score(teacher, student), dim=-1)  # (B, M_i, M_j)
    s = torch.bmm(w, student)  # (B, M, k)   eq. 6: s_i = sum_j w_ij h_j
    if weighting == "attention":
        hbar = student.mean(dim=1, keepdim=True)  # (B, 1, k)   eq. 7
        x = torch.softmax(score(hbar, teacher).squeeze(1), dim=-1)  # (B, M)   eqs. 8-9: X_i = softmax_i f(hbar, h'_i)
    else:
        x = torch.full(s.shape[:2], 1.0 / s.shape[1], dtype=s.dtype, device=s.device)  # (B, M)
    per_layer = ((s - teacher) ** 2).sum(-1)  # (B, M)  ||s_i - h'_i||^2
    loss = (x * per_layer).sum(-1).mean()  # eq. 10, averaged over the batch
    return loss, w, x


class DualPathAttention(nn.Module):
    """Teacher and student BiGRUs over layer summaries, scored by a shared bilinear `f` (eqs. 4-10)."""

    def __init__(self, hidden_size: int, gru_hidden_size: int, weighting: str = "attention"):
        super().__init__()
        self.teacher_gru = nn.GRU(hidden_size, gru_hidden_size, batch_first=True, bidirectional=True)
        self.student_gru = nn.GRU(hidden_size, gru_hidden_size, batch_first=True, bidirectional=True)
        self.score = BilinearScore(2 * gru_hidden_size)
        self.weighting = weighting

    @torch.no_grad()
    def student_starts_as_teacher(self) -> None:
        """Copy the teacher BiGRU's weights into the student BiGRU (`student_gru_init="teacher"`).

        With two independent random GRUs, most of the initial `L_R` is the difference between the GRUs themselves;
        with a copy it is the difference between the two paths' layer summaries, which is what eq. 10 is meant to
        shrink. A no-op on the meta device (`from_pretrained` then loads the saved weights).
        """
        if self.teacher_gru.weight_ih_l0.is_meta:
            return
        self.student_gru.load_state_dict(self.teacher_gru.state_dict())

    def forward(self, student_summaries: torch.Tensor, teacher_summaries: torch.Tensor):
        # (B, M, d) each -> BiGRU -> (B, M, 2g)
        h_student, _ = self.student_gru(student_summaries)
        h_teacher, _ = self.teacher_gru(teacher_summaries)
        return alignment_loss(h_student, h_teacher, self.score, self.weighting)
