"""Custom handler for Hugging Face Inference Endpoints, shipped at the root of a CTAM model repository.

Inference Endpoints import ``handler.py`` from the repository root, build ``EndpointHandler(path)`` once with the
folder holding the repository, and call it with the request's JSON body::

    {"inputs": "ဒီပစ္စည်း အရမ်းကောင်းတယ်", "parameters": {"top_k": null}}

The handler runs the repository's own ``pipeline_ctam.CTAMTextClassificationPipeline`` (named in ``config.json``
under ``custom_pipelines``), so requests get exactly the preprocessing of ``pipeline(...)``: Zawgyi detection and
conversion and normalisation by ``burmese.preprocess``, then the tokenizer with the training ``max_length``. The
endpoint installs ``requirements.txt`` (the Burmese tools) from the repository.

Response: the pipeline's output, a list. One text gives ``[{"label": ..., "score": ...}]``; several texts give one
entry per text (a dict, or a list of dicts with ``top_k``).

Refused with a `ValueError` that says what to send: a body without ``"inputs"``, an empty or whitespace-only text
(it has no sentiment), parameters other than those allowed, a ``max_length`` that is not an integer from 1 to the
model's limit (its tokenizer's ``model_max_length``, 512 for XLM-R-sized encoders).
"""

from __future__ import annotations

import os
from typing import Any

# Parameters a request may set; anything else is refused rather than passed on to the tokenizer.
ALLOWED_PARAMETERS = ("top_k", "function_to_apply", "max_length", "batch_size")


class EndpointHandler:
    def __init__(self, path: str = ""):
        import torch
        from transformers import pipeline

        model_dir = path or os.path.dirname(os.path.abspath(__file__))
        device = 0 if torch.cuda.is_available() else -1
        self.pipeline = pipeline("text-classification", model=model_dir, trust_remote_code=True, device=device)
        if type(self.pipeline).__name__ != "CTAMTextClassificationPipeline":
            raise RuntimeError(
                f"{model_dir}/config.json does not name the CTAM pipeline under `custom_pipelines` "
                f"(got {type(self.pipeline).__name__}); Zawgyi input would not be converted."
            )

    def __call__(self, data: dict[str, Any]) -> list:
        if not isinstance(data, dict) or "inputs" not in data:
            raise ValueError('The request body must be a JSON object with "inputs" (a text or a list of texts).')
        inputs = data["inputs"]
        if isinstance(inputs, str):
            pass
        elif isinstance(inputs, list) and inputs and all(isinstance(t, str) for t in inputs):
            inputs = list(inputs)
        else:
            raise ValueError('"inputs" must be a non-empty string or a non-empty list of strings.')
        empty = [i for i, text in enumerate([inputs] if isinstance(inputs, str) else inputs) if not text.strip()]
        if empty:
            raise ValueError(
                f'"inputs" holds empty or whitespace-only text (position {empty[:5]}); an empty text has '
                "no sentiment: send text to classify."
            )
        parameters = dict(data.get("parameters") or {})
        unknown = sorted(set(parameters) - set(ALLOWED_PARAMETERS))
        if unknown:
            raise ValueError(f"Unsupported parameters {unknown}; allowed: {list(ALLOWED_PARAMETERS)}.")
        if "max_length" in parameters:
            limit = self.max_length_limit
            value = parameters["max_length"]
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
                raise ValueError(
                    f'"parameters.max_length" must be an integer from 1 to {limit} (this model\'s '
                    f"limit), got {value!r}."
                )
        return self.pipeline(inputs, **parameters)

    @property
    def max_length_limit(self) -> int:
        """The longest input in tokens: the tokenizer's `model_max_length` (else the encoder's positions)."""
        limit = getattr(self.pipeline.tokenizer, "model_max_length", None)
        if not isinstance(limit, int) or limit > 100_000:
            encoder = getattr(self.pipeline.model.config, "encoder_config", None) or self.pipeline.model.config
            limit = int(getattr(encoder, "max_position_embeddings", 512)) - 2
        return limit
