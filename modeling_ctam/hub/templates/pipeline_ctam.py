"""CTAM text-classification pipeline: Burmese preprocessing before tokenising.

This file is shipped flat in the Hub repository of a CTAM model, next to ``burmese.py``, and ``config.json`` names
it under ``custom_pipelines``::

    "custom_pipelines": {"text-classification": {
        "impl": "pipeline_ctam.CTAMTextClassificationPipeline",
        "pt": ["AutoModelForSequenceClassification"], "tf": [], "type": "text"}}

so that ``pipeline("text-classification", model=repo, trust_remote_code=True)`` (or ``pipeline(model=repo,
trust_remote_code=True)``) builds this class instead of the stock :class:`~transformers.TextClassificationPipeline`.

Why a custom pipeline: the stock one hands the raw string to the tokenizer. Burmese web text is often in the legacy
Zawgyi encoding, whose code points mean different letters; tokenised as they are, they give the model text it never
saw in training. Here every input goes through ``burmese.preprocess`` (Zawgyi detection and conversion to Unicode,
then normalisation): the same function the training data went through. Tokenisation then follows training too:
truncation at the training ``max_length`` (from ``config.ctam_inference``), no ``token_type_ids``, and the Burmese
word segmenter's ``word_ids`` when the model was trained with them.

In the CTAM source repository this file lives under ``modeling_ctam/hub/templates/`` as a template (package data,
not an importable package: its ``from .burmese import`` only resolves in the flat Hub folder).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import TextClassificationPipeline

from .burmese import preprocess as burmese_preprocess

# Used when config.json carries no `ctam_inference` (the data pipeline's defaults at training time).
DEFAULT_INFERENCE_SETTINGS = {"max_length": 128, "word_ids": False, "preprocess": True}
CTAM_MODEL_CLASSES = ("CTAMForSequenceClassification",)


class CTAMTextClassificationPipeline(TextClassificationPipeline):
    """[`TextClassificationPipeline`] whose `preprocess` applies CTAM's Burmese preprocessing before the tokenizer.

    Call it as the stock pipeline (`top_k`, `function_to_apply`, tokenizer keyword arguments such as `max_length`).
    Outputs carry the label names of `config.id2label`.
    """

    def check_model_type(self, supported_models):
        # CTAM's classes come from remote code, so they are not in transformers' static model mapping: accept them
        # by name rather than logging an "is not supported" error.
        if type(self.model).__name__ in CTAM_MODEL_CLASSES:
            return
        super().check_model_type(supported_models)

    # ------------------------------------------------------------------ settings
    @property
    def inference_settings(self) -> dict[str, Any]:
        """`config.ctam_inference` over the defaults: `max_length`, `word_ids`, `preprocess`."""
        settings = dict(DEFAULT_INFERENCE_SETTINGS)
        settings.update(getattr(self.model.config, "ctam_inference", None) or {})
        return settings

    def _prepare_text(self, text):
        if isinstance(text, str) and not text.strip():
            # An empty text has no sentiment: refuse it rather than score the bare special tokens.
            raise ValueError(
                "CTAM pipeline: a text is empty or whitespace only; give text to classify (no "
                "sentiment is returned for no text)."
            )
        if isinstance(text, str) and self.inference_settings["preprocess"]:
            text = burmese_preprocess(text)
            if not text:
                raise ValueError("CTAM pipeline: a text holds only invisible characters; give text to classify.")
        return text

    # ------------------------------------------------------------------ pipeline steps
    def preprocess(self, inputs, **tokenizer_kwargs) -> dict[str, torch.Tensor]:
        settings = self.inference_settings
        kwargs = {"truncation": True, "max_length": settings["max_length"], "return_token_type_ids": False}
        kwargs.update(tokenizer_kwargs)
        if isinstance(inputs, dict):
            inputs = {
                key: self._prepare_text(value) if key in ("text", "text_pair") else value
                for key, value in inputs.items()
            }
        elif isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], list) and len(inputs[0]) == 2:
            inputs = [[self._prepare_text(inputs[0][0]), self._prepare_text(inputs[0][1])]]
        else:
            inputs = self._prepare_text(inputs)
        model_inputs = super().preprocess(inputs, **kwargs)
        if settings["word_ids"]:
            if not isinstance(inputs, str):
                raise ValueError("This CTAM model was trained with Burmese word_ids: give the pipeline single texts.")
            model_inputs["word_ids"] = self._word_ids(inputs, model_inputs["input_ids"].shape[1], kwargs["max_length"])
        return model_inputs

    def _word_ids(self, text: str, length: int, max_length: int) -> torch.Tensor:
        """Eq. 1 word boundaries from the Burmese segmenter, as the training collator computes them."""
        from .burmese import batch_word_ids

        row = [int(w) for w in batch_word_ids(self.tokenizer, [text], max_length=max_length)["word_ids"][0]]
        if len(row) != length:
            raise ValueError(
                f"word_ids have {len(row)} positions for {length} tokens: segmenter and tokenizer disagree."
            )
        return torch.tensor([row], dtype=torch.long)

    def _forward(self, model_inputs):
        if "word_ids" in model_inputs and "attention_mask" in model_inputs:
            # Batched calls pad every key with 0; padding must carry "no word" (-1).
            model_inputs["word_ids"] = model_inputs["word_ids"].masked_fill(model_inputs["attention_mask"] == 0, -1)
        outputs = super()._forward(model_inputs)
        # Only the logits go on: the pipeline's batch splitting (`batch_size` > 1) indexes every output per example,
        # and a CTAM output may carry batch-level training diagnostics.
        return {"logits": outputs["logits"]}
