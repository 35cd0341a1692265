"""Model folders as users have them: weights missing, truncated or garbage, a config.json that disagrees with its
weights, an --output-dir that is a file; and what eval.py writes for each prediction (the class probabilities).

The model is a tiny random CTAM (xlm-roberta encoder, hidden 16) with the real offline XLM-R tokenizer saved as a
`CTAMTokenizer`, scored on real GKLMIP dev reviews."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification, CTAMTokenizer
from modeling_ctam.evaluation import cli as eval_cli
from modeling_ctam.utils.paths import data_dir

REPO = Path(__file__).resolve().parent.parent
GKLMIP_DEV = data_dir() / "my" / "gklmip" / "product_sentiment_dataset_dev.json"
ENCODER = dict(
    model_type="xlm-roberta",
    hidden_size=16,
    num_hidden_layers=3,
    num_attention_heads=2,
    intermediate_size=20,
    vocab_size=250037,
    max_position_embeddings=130,
    pad_token_id=1,
    bos_token_id=0,
    eos_token_id=2,
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, offline_encoder_dir) -> Path:
    folder = tmp_path_factory.mktemp("models") / "good"
    torch.manual_seed(0)
    config = CTAMConfig(
        encoder_config=dict(ENCODER),
        num_labels=2,
        id2label={0: "negative", 1: "positive"},
        label2id={"negative": 0, "positive": 1},
        static_layer=2,
        initializer_range=0.2,
    )
    CTAMForSequenceClassification(config).save_pretrained(folder)
    CTAMTokenizer.from_pretrained(offline_encoder_dir).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def dev_file(tmp_path_factory) -> Path:
    if not GKLMIP_DEV.is_file():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    rows = json.loads(GKLMIP_DEV.read_text(encoding="utf-8"))[::12]
    path = tmp_path_factory.mktemp("data") / "product_sentiment_dataset_dev.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    return path


def _variant(model_dir: Path, tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    shutil.copytree(model_dir, folder)
    return folder


def _edit_config(folder: Path, **changes) -> None:
    config = json.loads((folder / "config.json").read_text())
    for key, value in changes.items():
        if key.startswith("encoder_config."):
            config["encoder_config"][key.split(".", 1)[1]] = value
        else:
            config[key] = value
    (folder / "config.json").write_text(json.dumps(config))


def _evaluate(model: Path, data: Path, out: Path, *extra: str):
    return eval_cli.main(
        [
            "--model",
            str(model),
            "--data",
            str(data),
            "--output-dir",
            str(out),
            "--no-figure",
            "--no-trust-remote-code",
            "--max-length",
            "32",
            *extra,
        ]
    )


# ------------------------------------------------------------------------------------------------ config vs weights
@pytest.mark.parametrize(
    "change, named",
    [
        ({"encoder_config.num_hidden_layers": 2}, "ctam.encoder.encoder.layer.2"),  # fewer layers than the weights
        ({"use_vxlm": False}, "ctam.mapping.weight"),  # weights dropped when use_vxlm is off
        ({"static_layer": 1}, "static_layer=1, but the weights' eq. 2 mapping was built for layer 2"),
    ],
)
def test_a_config_that_disagrees_with_its_weights_fails_loudly(model_dir, dev_file, tmp_path, change, named):
    folder = _variant(model_dir, tmp_path, "edited")
    _edit_config(folder, **change)
    with pytest.raises(ValueError, match="config.json and model.safetensors come from different models") as err:
        CTAMForSequenceClassification.from_pretrained(folder)
    assert named in str(err.value)
    with pytest.raises(SystemExit, match="cannot load the model") as err:
        _evaluate(folder, dev_file, tmp_path / "out")
    assert named in str(err.value) and not (tmp_path / "out" / "metrics.json").exists()
    # an explicit partial load still works, for those who mean it
    model = CTAMForSequenceClassification.from_pretrained(folder, allow_partial_load=True)
    assert model.config.num_labels == 2


def test_the_intact_folder_loads_without_a_problem(model_dir):
    model, info = CTAMForSequenceClassification.from_pretrained(model_dir, output_loading_info=True)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert int(model.ctam.mapping.static_layer) == model.config.static_layer == 2


# ------------------------------------------------------------------------------------------------ broken weights
@pytest.mark.parametrize("damage", ["missing", "truncated", "garbage"])
def test_broken_weights_give_a_clear_error_in_eval_and_the_pipeline(model_dir, dev_file, tmp_path, damage):
    from transformers import pipeline

    folder = _variant(model_dir, tmp_path, damage)
    weights = folder / "model.safetensors"
    if damage == "missing":
        weights.unlink()
    elif damage == "truncated":
        weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 3])
    else:
        weights.write_bytes(b"<html>404 Not Found</html>" * 40)
    with pytest.raises(SystemExit, match=r"error: --model .*cannot load the model: .*model\.safetensors"):
        _evaluate(folder, dev_file, tmp_path / "out")
    # the pipeline wraps the loading error in its own ValueError, whose text carries CTAM's message
    with pytest.raises((OSError, ValueError)) as err:
        pipeline("text-classification", model=str(folder))
    expected = "no file named model.safetensors" if damage == "missing" else "model.safetensors is truncated or not"
    assert expected in str(err.value)


# ------------------------------------------------------------------------------------------------ eval.py outputs
def test_output_dir_that_is_a_file_is_refused_before_scoring(model_dir, dev_file, tmp_path):
    taken = tmp_path / "results"
    taken.write_text("my notes")
    with pytest.raises(SystemExit, match="--output-dir .* is an existing file"):
        _evaluate(model_dir, dev_file, taken)
    assert taken.read_text() == "my notes"


def test_predictions_carry_the_class_probabilities(model_dir, dev_file, tmp_path):
    record = _evaluate(model_dir, dev_file, tmp_path / "out")
    lines = [json.loads(line) for line in (tmp_path / "out" / "predictions.jsonl").read_text().splitlines()]
    assert len(lines) == record["n_examples"] > 10
    for line in lines:
        probabilities = line["probabilities"]
        assert set(probabilities) == {"negative", "positive"}
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert max(probabilities, key=probabilities.get) == line["prediction"]
    assert len({round(line["probabilities"]["positive"], 6) for line in lines}) > 1


def test_weights_saved_before_the_layer_record_still_load(model_dir, tmp_path):
    """A folder or a state dict written before the mapping recorded its layer loads as before (without that check)."""
    from safetensors.torch import load_file, save_file

    folder = _variant(model_dir, tmp_path, "legacy")
    state = load_file(folder / "model.safetensors")
    del state["ctam.mapping.static_layer"]
    save_file(state, folder / "model.safetensors", metadata={"format": "pt"})
    model = CTAMForSequenceClassification.from_pretrained(folder)
    assert int(model.ctam.mapping.static_layer) == model.config.static_layer
    missing, unexpected = model.load_state_dict(state, strict=False)  # as the two-stage recipe loads a teacher
    assert not missing and not unexpected
