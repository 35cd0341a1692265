"""Dual-path attention supervision (paper section 3.2, eqs. 4-10; method.md section 3).

The teacher (English) and student (Burmese) paths each summarise the encoder layer by layer: `T_m` / `S_m` is the
masked mean of hidden-state layer `m`. A BiGRU per path runs over that length-`M` sequence. The student's attended
context for each teacher layer is pulled towards that teacher state (eq. 10, our reading):

    L_R = sum_i X_i * mean_units (s_i - stopgrad(h'_i))^2 / Var(h'), averaged over the pairs

(`align_reduction="normalized"`, the default: scale-free, near 1 for an uninformed student; `"mean"` leaves out the
variance, `"sum"` sums over the units instead, the first reading). The teacher side is detached everywhere in
`L_R`: knowledge flows teacher -> student. The teacher's states come either from this module's teacher BiGRU over the
English pair's layer summaries, or, in the two-stage recipe, from a frozen stage-1 teacher computed once and cached
(`teacher_states`). The optional teacher head gives the teacher BiGRU a training signal of its own (a departure from
the paper; method.md section 3).

Mixed precision: under `torch.autocast` (bf16 / fp16, e.g. `accelerate launch --mixed_precision bf16`) the BiGRUs,
the bilinear score and `L_R` (eqs. 4-10) run in the modules' own precision (float32 in training) on purpose
([`full_precision`]): the recurrence carries its rounding over the `M` layer steps, and `L_R` divides small squared
differences of nearby states by their batch variance, where bf16's 8-bit mantissa would leave mostly rounding. They
are a few `(B, M, k)` tensors, a negligible share of the step's cost; the encoder around them runs in bf16.

This file is part of the flat set of files copied next to a checkpoint on the Hub: it imports nothing from the package.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn


def full_precision(tensor: torch.Tensor):
    """A region where `torch.autocast` is off on `tensor`'s device: the modules inside compute in their own weights'
    dtype (float32 in training) even when the caller runs under bf16 / fp16 autocast. A no-op context where autocast
    does not exist (the meta device)."""
    device_type = tensor.device.type
    if not torch.amp.is_autocast_available(device_type):
        return contextlib.nullcontext()
    return torch.autocast(device_type=device_type, enabled=False)


def layer_summaries(
    hidden_states: tuple[torch.Tensor, ...], attention_mask: torch.Tensor, layers: list[int]
) -> torch.Tensor:
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


def alignment_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    score: BilinearScore,
    weighting: str = "attention",
    reduction: str = "normalized",
    row_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eqs. 4-10 on the BiGRU states of both paths.

    Args:
        student (`torch.Tensor` of shape `(B, M, k)`): student states `h_1..h_M`.
        teacher (`torch.Tensor` of shape `(B, M, k)`): teacher states `h'_1..h'_M` (detached inside).
        score (`BilinearScore`): `f`.
        weighting (`str`, *optional*, defaults to `"attention"`): `"attention"` uses `X_i`, `"uniform"` uses `1/M`.
        reduction (`str`, *optional*, defaults to `"normalized"`): `"mean"` or `"sum"` of `(s_i - h'_i)^2` over the `k`
            units, or `"normalized"`: the mean divided by the variance of the teacher's states over the batch
            (detached), a scale-free `L_R` near 1 for an uninformed student and 0 for a perfect one.
        row_weights (`torch.Tensor` of shape `(B,)`, *optional*): weight of each pair in the average (0 = a row without
            a teacher pair); defaults to 1 for every row.

    Returns:
        `(loss, w, X)`: the scalar `L_R`, the `(B, M_teacher, M_student)` weights `w_ij` and the `(B, M)` weights
        `X_i`.
    """
    with full_precision(student):  # L_R in the score's dtype (float32 in training), not in autocast's bf16
        dtype = score.weight.dtype
        return _alignment_loss(student.to(dtype), teacher.to(dtype), score, weighting, reduction, row_weights)


def _alignment_loss(student, teacher, score, weighting, reduction, row_weights):
    """[`alignment_loss`]'s computation, outside autocast."""
    if student.shape != teacher.shape:
        raise ValueError(
            f"eq. 10 compares states of the same shape, but the student's are {tuple(student.shape)} and the "
            f"teacher's {tuple(teacher.shape)}: cached teacher_states need one (M, k) row per target row, with M the "
            "model's align_layers and k twice its gru_hidden_size."
        )
    teacher = teacher.detach().to(student.dtype)  # stop-gradient: the teacher is trained by L_T only
    # eqs. 4-5: w_ij = softmax_j f(h_j, h'_i)
    w = torch.softmax(score(teacher, student), dim=-1)  # (B, M_i, M_j)
    s = torch.bmm(w, student)  # (B, M, k)   eq. 6: s_i = sum_j w_ij h_j
    if weighting == "attention":
        hbar = student.mean(dim=1, keepdim=True)  # (B, 1, k)   eq. 7
        x = torch.softmax(score(hbar, teacher).squeeze(1), dim=-1)  # (B, M)   eqs. 8-9: X_i = softmax_i f(hbar, h'_i)
    else:
        x = torch.full(s.shape[:2], 1.0 / s.shape[1], dtype=s.dtype, device=s.device)  # (B, M)
    squared = (s - teacher) ** 2  # (B, M, k)
    per_layer = squared.sum(-1) if reduction == "sum" else squared.mean(-1)  # (B, M)  ||s_i - h'_i||^2
    if reduction == "normalized":  # divide by Var(h') over the paired rows, per layer and unit, averaged: scale-free
        t = teacher.float()  # (B, M, k)
        share = torch.ones(t.shape[0], device=t.device) if row_weights is None else row_weights.float()  # (B,)
        share = (share / share.sum().clamp_min(1e-6))[:, None, None]  # (B, 1, 1) each pair's share of the batch
        centre = (share * t).sum(0, keepdim=True)  # (1, M, k)
        variance = (share * (t - centre) ** 2).sum(0).mean()  # scalar
        per_layer = per_layer / variance.clamp_min(1e-6).to(per_layer.dtype)
    per_pair = (x * per_layer).sum(-1)  # (B,)  eq. 10 for each pair
    if row_weights is None:
        loss = per_pair.mean()
    else:
        row_weights = row_weights.to(per_pair.dtype)  # (B,)
        loss = (row_weights * per_pair).sum() / row_weights.sum().clamp_min(1.0)
    return loss, w, x


class DualPathAttention(nn.Module):
    """Teacher and student BiGRUs over layer summaries, scored by a shared bilinear `f` (eqs. 4-10).

    Args:
        hidden_size (`int`): encoder hidden size `d`.
        gru_hidden_size (`int`): units of each BiGRU direction (`k = 2 * gru_hidden_size`).
        weighting (`str`, *optional*, defaults to `"attention"`): eq. 10 weights, see [`alignment_loss`].
        reduction (`str`, *optional*, defaults to `"normalized"`): eq. 10 reduction over units, see
            [`alignment_loss`].
        num_labels (`int`, *optional*): with a value, a teacher head `Linear(k, num_labels)` over the mean teacher
            state gives the teacher BiGRU a sentiment signal (method.md section 3, a departure from the paper).
    """

    def __init__(
        self,
        hidden_size: int,
        gru_hidden_size: int,
        weighting: str = "attention",
        reduction: str = "normalized",
        num_labels: int | None = None,
    ):
        super().__init__()
        self.teacher_gru = nn.GRU(hidden_size, gru_hidden_size, batch_first=True, bidirectional=True)
        self.student_gru = nn.GRU(hidden_size, gru_hidden_size, batch_first=True, bidirectional=True)
        self.score = BilinearScore(2 * gru_hidden_size)
        self.teacher_head = nn.Linear(2 * gru_hidden_size, num_labels) if num_labels else None
        self.weighting = weighting
        self.reduction = reduction

    @torch.no_grad()
    def student_starts_as_teacher(self) -> None:
        """Copy the teacher BiGRU's weights into the student BiGRU (`student_gru_init="teacher"`; stage 2 start).

        With two independent random GRUs, most of the initial `L_R` is the difference between the GRUs themselves;
        with a copy it is the difference between the two paths' layer summaries, which is what eq. 10 is meant to
        shrink. A no-op on the meta device (`from_pretrained` then loads the saved weights).
        """
        if self.teacher_gru.weight_ih_l0.is_meta:
            return
        self.student_gru.load_state_dict(self.teacher_gru.state_dict())

    def teacher_states(self, teacher_summaries: torch.Tensor) -> torch.Tensor:
        """`h'_1..h'_M`: the teacher BiGRU over `T_1..T_M`, `(B, M, d)` -> `(B, M, k)`, in the GRU's own dtype."""
        with full_precision(teacher_summaries):  # kept out of autocast on purpose (module docstring)
            return self.teacher_gru(teacher_summaries.to(self.teacher_gru.weight_ih_l0.dtype))[0]

    def teacher_head_logits(self, teacher_states: torch.Tensor) -> torch.Tensor:
        """The teacher head over the mean teacher state: `(B, M, k)` -> `(B, num_labels)`."""
        if self.teacher_head is None:
            raise ValueError(
                "this model has no teacher head (CTAMConfig.teacher_head=False); build it with teacher_head=True."
            )
        return self.teacher_head(teacher_states.mean(dim=1))

    def forward(
        self,
        student_summaries: torch.Tensor,
        teacher_summaries: torch.Tensor | None = None,
        teacher_states: torch.Tensor | None = None,
        row_weights: torch.Tensor | None = None,
    ):
        """Eq. 10 from the student's layer summaries and either the teacher's summaries or its cached states.

        Args:
            student_summaries (`torch.Tensor` of shape `(B, M, d)`): `S_1..S_M`.
            teacher_summaries (`torch.Tensor` of shape `(B, M, d)`, *optional*): `T_1..T_M` of the paired English rows.
            teacher_states (`torch.Tensor` of shape `(B, M, k)`, *optional*): precomputed `h'_1..h'_M` of a frozen
                teacher (the two-stage recipe); used instead of `teacher_summaries`.
            row_weights (`torch.Tensor` of shape `(B,)`, *optional*): see [`alignment_loss`].
        """
        with full_precision(student_summaries):  # kept out of autocast on purpose (module docstring)
            h_student, _ = self.student_gru(student_summaries.to(self.student_gru.weight_ih_l0.dtype))  # (B, M, k)
        if teacher_states is None:
            teacher_states = self.teacher_states(teacher_summaries)  # (B, M, k)
        return alignment_loss(h_student, teacher_states, self.score, self.weighting, self.reduction, row_weights)
