# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""[`CTAMTokenizer`]: the encoder's `tokenizer.json`, with CTAM's Burmese preprocessing in front of it.

Every text a CTAM model sees goes through :func:`burmese.preprocess` (Zawgyi detection and conversion to Unicode,
then normalisation) before it is tokenised. Putting that step inside the tokenizer that CTAM saves makes every path
agree: `train.py`'s output folder, `AutoTokenizer.from_pretrained(folder)`, the stock
`pipeline("text-classification")` / `pipeline("sentiment-analysis")`, the Hub pipeline and handler, `eval.py`, and a
user's own `tokenizer(text)`.

The backend is the encoder's own `tokenizer.json`, loaded verbatim (XLM-R's SentencePiece pipeline: precompiled
charsmap, Metaspace, Unigram). transformers 5's `XLMRobertaTokenizer` instead rebuilds the backend with a
`WhitespaceSplit` pre-tokenizer, which drops the final `▁` that the reference XLM-R `tokenizer.json` emits for text
ending in a space.

It is shipped flat next to `burmese.py` (here in `modeling_ctam/data/`, and in a saved model or Hub folder), so that
`tokenizer_config.json`'s `auto_map` can load it with `trust_remote_code=True` where the package is not installed.
The package registers it with `AutoTokenizer` for CTAM configs (`import modeling_ctam`).

Example:

```python
>>> from transformers import AutoTokenizer
>>> tokenizer = AutoTokenizer.from_pretrained("runs/zero-shot")  # a folder train.py wrote
>>> tokenizer("ေနေကာင္းရဲ႕လား။")["input_ids"] == tokenizer("နေကောင်းရဲ့လား။")["input_ids"]  # Zawgyi == Unicode
True
```
"""

from __future__ import annotations

import functools

from transformers.tokenization_utils_tokenizers import TokenizersBackend

from .burmese import preprocess

__all__ = ["CTAMTokenizer"]


@functools.lru_cache(maxsize=65536)
def _preprocess(text: str) -> str:
    return preprocess(text)


class CTAMTokenizer(TokenizersBackend):
    r"""
    The encoder's `tokenizer.json` (loaded as it is) with CTAM's Burmese preprocessing applied to every text input.

    Args:
        burmese_preprocess (`bool`, *optional*, defaults to `True`): run `burmese.preprocess` on each text before
            tokenising it (Zawgyi lines converted to Unicode, Burmese normalised, whitespace collapsed and the ends
            stripped). Saved in `tokenizer_config.json`. Set it to `False` only for text that is already
            preprocessed. Pre-split input (`is_split_into_words=True`) is tokenised as given.
        **kwargs: passed on to [`~transformers.TokenizersBackend`] (`tokenizer_file`, `tokenizer_object`, special
            tokens, `model_max_length`, ...).
    """

    model_input_names = ["input_ids", "attention_mask"]
    # No `__init__` of its own: transformers then loads `tokenizer.json` verbatim instead of rebuilding the backend.
    # `burmese_preprocess` travels in `init_kwargs` (and so in tokenizer_config.json).

    @property
    def burmese_preprocess(self) -> bool:
        """Whether texts go through `burmese.preprocess` before tokenising (the `burmese_preprocess` argument)."""
        return bool(self.init_kwargs.get("burmese_preprocess", True))

    def save_pretrained(self, *args, **kwargs):
        """As [`~transformers.PreTrainedTokenizerBase.save_pretrained`]; `tokenizer_config.json` always states
        `burmese_preprocess`."""
        self.init_kwargs["burmese_preprocess"] = self.burmese_preprocess
        return super().save_pretrained(*args, **kwargs)

    @classmethod
    def from_tokenizer(cls, tokenizer, **kwargs) -> "CTAMTokenizer":
        """A `CTAMTokenizer` with the backend and special tokens of an existing fast `tokenizer`."""
        if not getattr(tokenizer, "is_fast", False):
            raise ValueError(f"CTAMTokenizer needs a fast (tokenizers) backend; got {type(tokenizer).__name__}.")
        specials = {key: str(value) for key, value in tokenizer.special_tokens_map.items() if isinstance(value, str)}
        kwargs = {"burmese_preprocess": True, **specials, **kwargs}
        return cls(
            tokenizer_object=tokenizer.backend_tokenizer,
            model_max_length=tokenizer.model_max_length,
            name_or_path=tokenizer.name_or_path,
            **kwargs,
        )

    def prepare_text(self, text):
        """`text` as the model sees it: a string preprocessed, a list of strings item by item, anything else as is."""
        if not self.burmese_preprocess:
            return text
        if isinstance(text, str):
            return _preprocess(text)
        if isinstance(text, (list, tuple)) and all(isinstance(t, str) for t in text):
            return [_preprocess(t) for t in text]
        if isinstance(text, (list, tuple)) and all(isinstance(t, (list, tuple)) for t in text):
            return [self.prepare_text(t) for t in text]  # pairs given as [[a, b], ...]
        return text

    def tokenize(self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs) -> list[str]:
        if not kwargs.get("is_split_into_words"):
            text = self.prepare_text(text)
            pair = self.prepare_text(pair) if pair is not None else None
        return super().tokenize(text, pair=pair, add_special_tokens=add_special_tokens, **kwargs)

    def _encode_plus(self, text, text_pair=None, *args, is_split_into_words: bool = False, **kwargs):
        if not is_split_into_words:
            text = self.prepare_text(text)
            text_pair = self.prepare_text(text_pair) if text_pair is not None else None
            _refuse_empty(text)
        return super()._encode_plus(text, text_pair, *args, is_split_into_words=is_split_into_words, **kwargs)


def _refuse_empty(text) -> None:
    """An empty or whitespace-only text (after preprocessing) has no sentiment: a `ValueError`, not the bare special
    tokens that a classifier would score (as the CTAM pipeline and the Inference Endpoints handler refuse it)."""
    texts = [text] if isinstance(text, str) else text if isinstance(text, (list, tuple)) else []
    empty = [i for i, t in enumerate(texts) if isinstance(t, str) and not t.strip()]
    if empty:
        where = "" if isinstance(text, str) else f" (position {empty[:5]} of the batch)"
        raise ValueError(
            f"CTAMTokenizer: a text is empty or whitespace-only{where}; an empty text has no sentiment: "
            "give text to classify."
        )
