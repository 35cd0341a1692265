"""CTAM's model outputs (`ModelOutput` dataclasses, `loss` first) and the per-path share of the eq. 13 loss.

This file is part of the flat set of files copied next to a checkpoint on the Hub: it imports nothing from the package.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.utils import ModelOutput


@dataclass
class CTAMModelOutput(ModelOutput):
    r"""
    Output of [`CTAMModel`].

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(B, T, d)`):
            The fused states `h` (eq. 3), or the encoder's last layer when VXLM fusion is off.
        pooler_output (`torch.FloatTensor` of shape `(B, d)`):
            `h` pooled over real tokens (`config.pooling`).
        gate (`torch.FloatTensor` of shape `(B, T, d)` or `(B, T, 1)`, *optional*):
            Eq. 3 gate values `g` (weight of the contextual state).
        static_vectors (`torch.FloatTensor` of shape `(B, T, d)`, *optional*):
            Eq. 1 static vectors after the eq. 2 mapping (`h_vec`).
        hidden_states (`tuple(torch.FloatTensor)`):
            Every encoder hidden-state layer, index 0 = embeddings, each `(B, T, d)`.
        attentions (`tuple(torch.FloatTensor)`, *optional*):
            Encoder attention maps when `output_attentions=True`.
    """

    last_hidden_state: torch.FloatTensor | None = None
    pooler_output: torch.FloatTensor | None = None
    gate: torch.FloatTensor | None = None
    static_vectors: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class CTAMSequenceClassifierOutput(ModelOutput):
    r"""
    Output of [`CTAMForSequenceClassification`].

    Args:
        loss (`torch.FloatTensor` of shape `()`, *optional*):
            Eq. 13 composite loss `l1 L_T + l2 L_R + l3 L_S` (+ mapping penalties), when labels are given.
        logits (`torch.FloatTensor` of shape `(B, num_labels)`):
            Student-path (target-language) classification scores.
        loss_cls (`torch.FloatTensor` of shape `()`, *optional*):
            `L_T` (eq. 12): cross-entropy over every labelled example of both paths.
        loss_align (`torch.FloatTensor` of shape `()`, *optional*):
            `L_R` (eq. 10): dual-path attention loss.
        loss_domain (`torch.FloatTensor` of shape `()`, *optional*):
            `L_S` (eq. 11): domain discriminator binary cross-entropy.
        loss_mapping (`torch.FloatTensor` of shape `()`, *optional*):
            Weighted orthogonality penalty and auxiliary mapping loss, when enabled.
        loss_teacher (`torch.FloatTensor` of shape `()`, *optional*):
            Cross-entropy of the teacher head on the teacher BiGRU states (`teacher_head=True`; method.md section 3).
        gate_mean (`torch.FloatTensor` of shape `()`, *optional*):
            Mean eq. 3 gate value over the student's real tokens (in training mode only).
        source_logits (`torch.FloatTensor` of shape `(B_src, num_labels)`, *optional*):
            Teacher-path (source-language) classification scores.
        layer_weights (`torch.FloatTensor` of shape `(B, M)`, *optional*):
            Eq. 9 weights `X_i` over teacher layers.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*):
            Student-path encoder hidden states, when `output_hidden_states=True`.
        attentions (`tuple(torch.FloatTensor)`, *optional*):
            Student-path encoder attention maps, when `output_attentions=True`.
    """

    loss: torch.FloatTensor | None = None
    logits: torch.FloatTensor | None = None
    loss_cls: torch.FloatTensor | None = None
    loss_align: torch.FloatTensor | None = None
    loss_domain: torch.FloatTensor | None = None
    loss_mapping: torch.FloatTensor | None = None
    loss_teacher: torch.FloatTensor | None = None
    gate_mean: torch.FloatTensor | None = None
    source_logits: torch.FloatTensor | None = None
    layer_weights: torch.FloatTensor | None = None
    hidden_states: tuple[torch.FloatTensor, ...] | None = None
    attentions: tuple[torch.FloatTensor, ...] | None = None


@dataclass
class PathTerms:
    """One path's share of the eq. 13 loss (`part`) and what the outputs report from it."""

    part: torch.Tensor
    ce_sum: torch.Tensor
    logits: torch.Tensor
    domain_sum: torch.Tensor | None = None
    t_seq: torch.Tensor | None = None
    t_states: torch.Tensor | None = None
    loss_teacher: torch.Tensor | None = None
    loss_align: torch.Tensor | None = None
    layer_weights: torch.Tensor | None = None
    loss_mapping: torch.Tensor | None = None


__all__ = ["CTAMModelOutput", "CTAMSequenceClassifierOutput", "PathTerms"]
