"""CTAM: cross-lingual sentiment transfer from English to Burmese, as a Hugging Face-native model.

Importing the package registers CTAM with the Auto classes (`AutoConfig`, `AutoModel`,
`AutoModelForSequenceClassification`, and `AutoTokenizer` with [`CTAMTokenizer`], which applies the Burmese
preprocessing to every text) for local use, and marks the classes for the Hub so that `save_pretrained` writes
`auto_map` and the flat modeling (and tokenizer) files for `trust_remote_code=True` loading.

The package root holds the model and nothing else: `configuration_ctam.py`, `modeling_ctam.py`, `outputs_ctam.py`,
`loss_ctam.py`, `vxlm.py`, `dual_path.py`, `domain.py` and `ngram_head.py` are the files `save_pretrained` copies
next to the weights.
Everything else sits in one folder per concept (`data/`, `alignment/`, `training/`, `transfer/`, `evaluation/`,
`hub/`, `offline_encoder/`, `utils/`). The old import paths of moved modules (`modeling_ctam.trainer`, `.peft_utils`,
`.paths`, `.metrics`, `.figures`, `.lexicon`, `python -m modeling_ctam.align`) still work until 0.3.0, with a
`DeprecationWarning` naming the new place (`utils/deprecation.py`).
"""

from transformers import AutoConfig, AutoModel, AutoModelForSequenceClassification, AutoTokenizer

from .configuration_ctam import CTAMConfig
from .data.tokenization_ctam import CTAMTokenizer
from .modeling_ctam import (
    CTAMForSequenceClassification,
    CTAMModel,
    CTAMModelOutput,
    CTAMPreTrainedModel,
    CTAMSequenceClassifierOutput,
)
from .utils import deprecation

AutoConfig.register("ctam", CTAMConfig, exist_ok=True)
AutoModel.register(CTAMConfig, CTAMModel, exist_ok=True)
AutoModelForSequenceClassification.register(CTAMConfig, CTAMForSequenceClassification, exist_ok=True)
CTAMConfig.register_for_auto_class()
CTAMModel.register_for_auto_class("AutoModel")
CTAMForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
AutoTokenizer.register(CTAMConfig, CTAMTokenizer, exist_ok=True)
CTAMTokenizer.register_for_auto_class("AutoTokenizer")
deprecation.install()  # the old import paths, with a warning (utils/deprecation.py)


def offline_encoder_path(cache_dir=None) -> str:
    """The folder of the offline multilingual-e5-small encoder, built on first use (see `offline_encoder`)."""
    from .offline_encoder import offline_encoder_path as _build

    return _build(cache_dir)


def __getattr__(name):  # lazy: the trainer pulls in accelerate and datasets
    if name == "CTAMTrainer":
        from .training.trainer import CTAMTrainer

        return CTAMTrainer
    raise AttributeError(f"module 'modeling_ctam' has no attribute {name!r}")


__all__ = [
    "CTAMConfig",
    "CTAMModel",
    "CTAMForSequenceClassification",
    "CTAMPreTrainedModel",
    "CTAMModelOutput",
    "CTAMSequenceClassifierOutput",
    "CTAMTokenizer",
    "CTAMTrainer",
    "offline_encoder_path",
]
