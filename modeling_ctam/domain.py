"""Gradient-reversal domain discriminator (paper eq. 11; method.md section 3).

Pooled top-layer features of both paths pass a gradient-reversal layer (identity forward, `-lambda` times the
gradient backward) into a small MLP that predicts source (1) versus target (0). Minimising its binary cross-entropy
`L_S` trains the discriminator while the reversed gradient pushes the encoder towards language-invariant features.

This file is part of the flat set of files copied next to a checkpoint on the Hub: it imports nothing from the package.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class _GradientReversal(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, strength: float) -> torch.Tensor:
        ctx.strength = strength
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return -ctx.strength * grad_output, None


def gradient_reversal(x: torch.Tensor, strength: float) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by `-strength` in the backward pass."""
    return _GradientReversal.apply(x, float(strength))


def grl_strength(
    progress: float | None, schedule: str = "dann", max_strength: float = 1.0, gamma: float = 10.0
) -> float:
    """Reversal strength at training progress `p` in [0, 1]: DANN's ``2 / (1 + exp(-gamma p)) - 1`` or a constant.

    `progress=None` (no schedule information, e.g. a bare forward call) uses the full strength.
    """
    if schedule == "constant" or progress is None:
        return max_strength
    p = min(max(float(progress), 0.0), 1.0)
    return max_strength * (2.0 / (1.0 + math.exp(-gamma * p)) - 1.0)


class DomainDiscriminator(nn.Module):
    """Eq. 11: GRL -> Linear -> ReLU -> Linear -> one logit (source = 1, target = 0)."""

    def __init__(self, hidden_size: int, mlp_hidden_size: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(hidden_size, mlp_hidden_size), nn.ReLU(), nn.Linear(mlp_hidden_size, 1))

    def forward(
        self, features: torch.Tensor, is_source: bool, strength: float, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Eq. 11 binary cross-entropy of one domain's rows (source = 1, target = 0), summed over the rows.

        The model adds the two domains' sums and divides by the total row count: the mean `L_S` over both paths, and
        each path's share can go backward on its own (path-by-path backward).

        Args:
            features (`torch.Tensor` of shape `(B, d)`): pooled features of one path.
            is_source (`bool`): whether the rows are source-language (English) rows.
            strength (`float`): gradient-reversal strength.
            weights (`torch.Tensor` of shape `(B,)`, *optional*): per-row weights. For the English rows the two-stage
                recipe passes `pi_target(y) / pi_source(y)`, so that the discriminator sees the source classes in the
                target's proportions and `L_S` does not erase sentiment along with language (Combes et al. 2020).
        """
        logits = self.net(gradient_reversal(features, strength)).squeeze(-1)  # (B,)
        domain = torch.full_like(logits, 1.0 if is_source else 0.0, dtype=torch.float32)
        if weights is None:
            return nn.functional.binary_cross_entropy_with_logits(logits.float(), domain, reduction="sum")
        per_row = nn.functional.binary_cross_entropy_with_logits(logits.float(), domain, reduction="none")  # (B,)
        return (weights.to(per_row) * per_row).sum()
