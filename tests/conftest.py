"""Shared pytest fixtures."""

from __future__ import annotations

import pytest


# --- offline encoder (modeling_ctam.offline_encoder) ----------------------------------------------
@pytest.fixture(scope="session")
def offline_encoder_dir() -> str:
    """The offline multilingual-e5-small folder in the default cache (``CTAM_CACHE_DIR`` or ``~/.cache/ctam``).

    Built once on the first run (a few seconds) and reused by every later test and run.
    """
    from modeling_ctam.offline_encoder import offline_encoder_path

    return offline_encoder_path()


# --- a tiny random encoder with the real tokenizer --------------------------------------------------
@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory, offline_encoder_dir) -> str:
    """A tiny random BERT (hidden 32, 2 layers) with the real offline XLM-R tokenizer (vocabulary 250,037)."""
    import shutil
    from pathlib import Path

    import torch
    from transformers import BertConfig, BertModel

    out = tmp_path_factory.mktemp("tiny-encoder")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(Path(offline_encoder_dir) / name, out / name)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=250037,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=128,
        pad_token_id=1,
        bos_token_id=0,
        eos_token_id=2,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(out)
    return str(out)
