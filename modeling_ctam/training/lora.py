"""LoRA for CTAM with PEFT: adapters on the encoder's attention projections, CTAM's own modules trained and saved
whole.

PEFT cannot wrap a GRU and does not know the `ctam` model type, so the target modules are given explicitly and scoped
to the encoder, and the GRUs, gate, mapping, bilinear attention, discriminator and classifier go in `modules_to_save`.
"""

from __future__ import annotations

import re

from torch import nn

# leaf names of attention projections across common encoders (BERT/XLM-R, DeBERTa, DistilBERT, LLaMA-style)
ATTENTION_PROJECTIONS = ("query", "value", "query_proj", "value_proj", "q_lin", "v_lin", "q_proj", "v_proj")
CTAM_MODULES_TO_SAVE = ["classifier", "mapping", "gate", "dual_path", "domain_discriminator"]


def encoder_lora_targets(model: nn.Module, projections: tuple[str, ...] = ATTENTION_PROJECTIONS) -> str:
    """A `target_modules` regex matching the encoder's attention projections only (never CTAM's own layers)."""
    found = sorted(
        {
            name.rsplit(".", 1)[-1]
            for name, module in model.named_modules()
            if isinstance(module, nn.Linear)
            and re.search(r"(^|\.)ctam\.(encoder|student_encoder)\.", name)
            and name.rsplit(".", 1)[-1] in projections
        }
    )
    if not found:
        raise ValueError(
            f"no attention projection named one of {list(projections)} in the encoder; pass `projections` with the "
            "leaf names of this encoder's attention Linear layers."
        )
    return rf".*ctam\.(encoder|student_encoder)\..*\.({'|'.join(map(re.escape, found))})$"


def ctam_lora_config(model: nn.Module, r: int = 8, lora_alpha: int = 16, lora_dropout: float = 0.05, **kwargs):
    """A `peft.LoraConfig` for CTAM: LoRA on the encoder's attention, CTAM's own modules in `modules_to_save`."""
    from peft import LoraConfig

    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    return LoraConfig(
        r=r,
        lora_alpha=lora_alpha,
        lora_dropout=lora_dropout,
        target_modules=encoder_lora_targets(model),
        modules_to_save=[m for m in CTAM_MODULES_TO_SAVE if m in present],
        **kwargs,
    )


__all__ = ["ctam_lora_config", "encoder_lora_targets", "CTAM_MODULES_TO_SAVE"]
