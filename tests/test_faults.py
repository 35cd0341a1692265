"""Faults a user meets when training: a second run into a finished run's folder, `--resume_from_checkpoint latest`
with a broken newest checkpoint, bf16 where it cannot run, the precision a run records, a missing data file.

Runs are tiny (random BERT, hidden 32, with the real offline XLM-R tokenizer; real GKLMIP / SST-2 rows)."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import modeling_ctam.training as T
from modeling_ctam.training.checkpoints import REPLACED_RUN, checkpoint_problem
from modeling_ctam.utils.paths import data_dir

REPO = Path(__file__).resolve().parent.parent
GKLMIP = data_dir() / "my" / "gklmip"


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> dict[str, str]:
    if not GKLMIP.is_dir():
        pytest.skip("shared data folder not found (set CTAM_DATA_DIR)")
    out = tmp_path_factory.mktemp("gklmip")
    paths = {"source": str(data_dir() / "en" / "sst2" / "dev.tsv")}
    for split, step in (("train", 16), ("dev", 6)):
        name = f"product_sentiment_dataset_{split}.json"
        rows = json.loads((GKLMIP / name).read_text(encoding="utf-8"))[::step]
        (out / name).write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        paths[split] = str(out / name)
    return paths


def _config(encoder: str, data: dict, out: Path, **extra):
    values = dict(
        encoder=encoder,
        source_data=[data["source"]],
        max_source_examples=24,
        target_train=data["train"],
        target_dev=data["dev"],
        max_length=16,
        max_steps=4,
        per_device_train_batch_size=4,
        per_device_eval_batch_size=32,
        learning_rate=1e-3,
        logging_steps=2,
        eval_strategy="no",
        load_best_model_at_end=False,
        save_strategy="steps",
        save_steps=2,
        save_total_limit=None,
        use_cpu=True,
        disable_tqdm=True,
        seed=3,
        output_dir=str(out),
    )
    values.update(extra)
    return T.load_config(None, values)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def finished_run(tiny_encoder_dir, small_data, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "finished"
    T.train(_config(tiny_encoder_dir, small_data, out))
    assert (
        (out / "model.safetensors").is_file() and (out / "checkpoint-2").is_dir() and (out / "checkpoint-4").is_dir()
    )
    return out


# ------------------------------------------------------------------------------------------------ nothing lost
def test_training_again_into_a_finished_run_is_refused_and_nothing_changes(finished_run, tiny_encoder_dir, small_data):
    before = {p.relative_to(finished_run): _digest(p) for p in finished_run.rglob("*") if p.is_file()}
    with pytest.raises(ValueError, match="already holds a run") as err:
        T.train(_config(tiny_encoder_dir, small_data, finished_run, seed=4))
    assert "--resume_from_checkpoint latest" in str(err.value) and "--overwrite_output_dir true" in str(err.value)
    after = {p.relative_to(finished_run): _digest(p) for p in finished_run.rglob("*") if p.is_file()}
    assert after == before


def test_overwrite_keeps_the_earlier_run_until_the_new_model_is_saved(
    finished_run, tiny_encoder_dir, small_data, tmp_path
):
    from transformers import TrainerCallback

    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    old_model = _digest(out / "model.safetensors")

    class Fail(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            raise RuntimeError("power cut")

    with pytest.raises(RuntimeError, match="power cut"):
        T.train(_config(tiny_encoder_dir, small_data, out, seed=4, overwrite_output_dir=True), callbacks=[Fail()])
    # the failed replacement deleted nothing: the earlier run is whole, set aside
    assert _digest(out / REPLACED_RUN / "model.safetensors") == old_model
    assert (out / REPLACED_RUN / "checkpoint-4" / "optimizer.pt").is_file()

    shutil.rmtree(out)
    shutil.copytree(finished_run, out)
    T.train(_config(tiny_encoder_dir, small_data, out, seed=4, overwrite_output_dir=True))
    assert _digest(out / "model.safetensors") != old_model and not (out / REPLACED_RUN).exists()
    assert json.loads((out / "train_config.json").read_text())["config"]["seed"] == 4


def test_resume_latest_skips_a_truncated_checkpoint_and_says_why(
    finished_run, tiny_encoder_dir, small_data, tmp_path, caplog
):
    out = tmp_path / "run"
    shutil.copytree(finished_run, out)
    for name in ("model.safetensors", "dev_metrics.json"):
        (out / name).unlink()
    optimizer = out / "checkpoint-4" / "optimizer.pt"
    optimizer.write_bytes(optimizer.read_bytes()[: optimizer.stat().st_size // 2])
    assert "optimizer.pt is truncated" in checkpoint_problem(out / "checkpoint-4")
    assert checkpoint_problem(out / "checkpoint-2") is None
    with caplog.at_level(logging.WARNING, logger="modeling_ctam.training"):  # train.py shows it on stderr
        T.train(_config(tiny_encoder_dir, small_data, out, resume_from_checkpoint="latest"))
    assert "checkpoint-4: optimizer.pt is truncated or damaged" in caplog.text
    record = json.loads((out / "train_config.json").read_text())
    assert record["resumed_from"].endswith("checkpoint-2")
    assert json.loads((out / "trainer_state.json").read_text())["global_step"] == 4


def test_checkpoint_validation_on_real_files(tmp_path):
    from safetensors.torch import save_file

    def make(step: int) -> Path:
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        save_file({"w": torch.randn(64, 64)}, folder / "model.safetensors")
        torch.save({"state": {0: {"exp_avg": torch.randn(64, 64)}}}, folder / "optimizer.pt")
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        return folder

    make(2)
    weights = make(4) / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    garbage = make(6) / "model.safetensors"
    garbage.write_bytes(b"not safetensors at all, just text" * 10)
    no_state = make(8)
    (no_state / "trainer_state.json").unlink()
    flipped = make(10) / "optimizer.pt"  # one byte changed in the middle: the zip checksum catches it
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    assert "optimizer.pt is damaged (checksum of" in checkpoint_problem(tmp_path / "checkpoint-10")
    assert "model.safetensors is truncated" in checkpoint_problem(tmp_path / "checkpoint-4")
    assert "model.safetensors is not" in checkpoint_problem(tmp_path / "checkpoint-6")
    assert "no trainer_state.json" in checkpoint_problem(no_state)
    assert T.find_last_checkpoint(tmp_path) == str(tmp_path / "checkpoint-2")
    with pytest.raises(FileNotFoundError, match="model.safetensors is truncated"):
        T.resolve_resume(str(tmp_path / "checkpoint-4"), tmp_path)


def test_output_dir_that_is_a_file_is_refused_before_anything_runs(tmp_path):
    target = tmp_path / "taken.txt"
    target.write_text("mine")
    with pytest.raises(ValueError, match="--output-dir .* is an existing file"):
        T.train(T.load_config(None, {"output_dir": str(target), "use_cpu": True}))
    assert target.read_text() == "mine"


# ------------------------------------------------------------------------------------------------ precision
def test_bf16_without_a_gpu_names_the_flag_to_change():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ValueError, match="--bf16 true: this machine has no GPU; add --use_cpu true"):
        T.load_config(None, ["--bf16", "true"], output_dir="unused")


def test_train_config_records_the_precision_that_ran(tiny_encoder_dir, small_data, tmp_path, monkeypatch):
    """`accelerate launch --mixed_precision bf16` reaches the run as ACCELERATE_MIXED_PRECISION, not as --bf16."""
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "bf16")
    out = tmp_path / "bf16"
    cfg = _config(tiny_encoder_dir, small_data, out, max_steps=2, save_strategy="no")
    assert not cfg.training.bf16
    T.train(cfg)
    assert json.loads((out / "train_config.json").read_text())["mixed_precision"] == "bf16"


# ------------------------------------------------------------------------------------------------ clear errors
def test_missing_data_file_is_one_line_without_a_traceback(tmp_path, small_data):
    env = dict(os.environ, TOKENIZERS_PARALLELISM="false")
    result = subprocess.run(
        [
            sys.executable,
            "train.py",
            "--output-dir",
            str(tmp_path / "out"),
            "--target_train",
            str(tmp_path / "no_such_file.json"),
            "--use_cpu",
            "true",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "train.py: error: --target_train:" in result.stderr and "no_such_file.json" in result.stderr
