# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The model side of a run: ablation presets as CTAMConfig keyword arguments, freezing, and LoRA."""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "xlmr-base": {"use_vxlm": False, "lambda_align": 0.0, "lambda_domain": 0.0},
    "vxlm": {"use_vxlm": True, "lambda_align": 0.0, "lambda_domain": 0.0},
    "ctam": {},
}
"""Ablation presets (docs/method.md section 4) as `CTAMConfig` keyword arguments; `ctam` keeps the defaults."""


def model_config_kwargs(model_args, data_args) -> dict[str, Any]:
    """CTAMConfig keyword arguments from a `ModelArguments` and a `DataArguments`: the preset, the `ctam` overrides,
    pairing and the label names."""
    names = data_args.class_names
    kwargs = {**PRESETS[model_args.preset], **model_args.ctam}
    kwargs.update(
        pairing=data_args.pairing, id2label=dict(enumerate(names)), label2id={name: i for i, name in enumerate(names)}
    )
    return kwargs


def _encoder_layers(encoder):
    """The encoder's list of transformer layers (a ModuleList with num_hidden_layers entries)."""
    from torch import nn

    n = getattr(encoder.config, "num_hidden_layers", None)
    for name, module in encoder.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == n and name.split(".")[-1] in ("layer", "layers"):
            return module
    raise ValueError(f"freeze_layers: cannot find the {n} transformer layers of {type(encoder).__name__}.")


def parameter_counts(model) -> dict[str, int]:
    return {
        "total": sum(p.numel() for p in model.parameters()),
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
    }


def freeze_parameters(model, freeze_embeddings: bool, freeze_layers: int) -> dict[str, int]:
    """Freeze the word embeddings and/or the embeddings and first `freeze_layers` layers of the encoder(s); returns
    the total and trainable parameter counts."""
    encoders = [e for e in (model.ctam.encoder, model.ctam.student_encoder) if e is not None]
    for encoder in encoders:
        if freeze_embeddings or freeze_layers:
            encoder.get_input_embeddings().weight.requires_grad_(False)
        if freeze_layers:
            layers = _encoder_layers(encoder)
            if freeze_layers > len(layers):
                raise ValueError(f"freeze_layers={freeze_layers} but the encoder has {len(layers)} layers.")
            embeddings = getattr(encoder, "embeddings", None)
            if embeddings is not None:
                embeddings.requires_grad_(False)
            for layer in layers[:freeze_layers]:
                layer.requires_grad_(False)
    return parameter_counts(model)


def apply_lora(model, model_args):
    """The model with LoRA adapters (`ModelArguments.lora_r`/`lora_alpha`/`lora_dropout`) on the encoder's
    attention, CTAM's own modules trained whole."""
    from peft import get_peft_model

    from .lora import ctam_lora_config

    return get_peft_model(
        model,
        ctam_lora_config(
            model, r=model_args.lora_r, lora_alpha=model_args.lora_alpha, lora_dropout=model_args.lora_dropout
        ),
    )
