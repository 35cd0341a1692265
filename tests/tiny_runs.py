"""Shared by the prediction and ONNX tests: a tiny random CTAM saved as train.py saves a run, and the GKLMIP dev "
"file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification
from modeling_ctam.utils.paths import data_dir

GKLMIP_DEV = data_dir() / "my" / "gklmip" / "product_sentiment_dataset_dev.json"
needs_gklmip = pytest.mark.skipif(not GKLMIP_DEV.is_file(), reason="shared GKLMIP data not found (set CTAM_DATA_DIR)")
TINY_ENCODER = {
    "model_type": "xlm-roberta",
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 37,
    "vocab_size": 250037,
    "max_position_embeddings": 514,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
}


def save_tiny_run(folder: Path, tokenizer, *, max_length: int, word_ids: bool = False, **config) -> Path:
    """A tiny random CTAM (hidden 32, 2 layers; seed 0) with `tokenizer`, and the train_config.json of its run."""
    torch.manual_seed(0)
    config = CTAMConfig(
        encoder_config=dict(TINY_ENCODER),
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
        initializer_range=0.2,
        **config,
    )
    model = CTAMForSequenceClassification(config).eval()
    model.ctam.set_word_boundaries(tokenizer)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "train_config.json").write_text(json.dumps({"config": {"max_length": max_length, "word_ids": word_ids}}))
    return folder


def slow_train_script(tmp_path: Path, seconds: float) -> Path:
    """train.py's CLI with one extra callback that sleeps `seconds` after each step, so that a kill lands mid-run."""
    slow = tmp_path / "slow_train.py"
    slow.write_text(
        "import sys, time\n"
        "from transformers import TrainerCallback\n"
        "from modeling_ctam.training import parse_args, train\n"
        "class Slow(TrainerCallback):\n"
        "    def on_step_end(self, args, state, control, **kwargs):\n"
        f"        time.sleep({seconds})\n"
        "cfg, _ = parse_args(sys.argv[1:])\n"
        "train(cfg, callbacks=[Slow()])\n",
        encoding="utf-8",
    )
    return slow
