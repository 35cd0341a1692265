"""Mixed precision: which of CTAM's modules compute in bf16 under `torch.autocast` and which are kept float32 on
purpose (the BiGRUs, the eq. 3 gate, `L_R`), and a bf16 run of train.py under `accelerate launch --mixed_precision
bf16` on the CPU (tiny random encoder, the real offline tokenizer, real GKLMIP and SST-2 rows)."""

from __future__ import annotations

import json
import shutil

import pytest
import test_train
import torch
from test_train import _run, _two_stage_overrides, _write_yaml
from tiny_runs import TINY_ENCODER

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification

small_data = test_train.small_data  # the shared fixture: real GKLMIP rows, fewer of them


def _output_dtypes(model) -> dict[str, tuple]:
    """Forward hooks on `model`'s modules: name -> (first input's dtype, first output's dtype), filled by a forward."""
    seen: dict[str, tuple] = {}

    def record(name):
        def hook(module, inputs, output):
            first_in = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
            first_out = output[0] if isinstance(output, tuple) else output
            seen[name] = (getattr(first_in, "dtype", None), getattr(first_out, "dtype", None))

        return hook

    for name, module in model.named_modules():
        module.register_forward_hook(record(name))
    return seen


def test_under_autocast_the_encoder_runs_in_bf16_and_the_grus_gate_and_l_r_in_float32():
    dtype = torch.bfloat16
    torch.manual_seed(0)
    config = CTAMConfig(encoder_config=dict(TINY_ENCODER), num_labels=2, teacher_head=True)
    model = CTAMForSequenceClassification(config).train()
    seen = _output_dtypes(model)
    ids = torch.randint(5, 1000, (3, 12))
    mask = torch.ones_like(ids)
    labels = torch.tensor([0, 1, 1])
    with torch.autocast("cpu", dtype=dtype):
        out = model(
            input_ids=ids,
            attention_mask=mask,
            source_input_ids=ids.flip(0),
            source_attention_mask=mask,
            source_labels=labels,
            labels=labels,
        )
    out.loss.backward()

    # matmul-heavy parts follow autocast: the encoder's projections and the classifier compute in bf16
    query = next(name for name in seen if name.endswith("layer.1.attention.self.query"))
    assert seen[query][1] == dtype
    assert seen["classifier.dense"][1] == dtype
    # kept float32 on purpose, although autocast is on: the gate's projection (a Linear, which autocast would run in
    # bf16) and its mixture, both BiGRUs (their inputs cast up) and the bilinear score of L_R
    assert seen["ctam.gate.proj"] == (torch.float32, torch.float32)
    assert seen["ctam.gate"][1] == torch.float32
    for gru in ("dual_path.teacher_gru", "dual_path.student_gru"):
        assert seen[gru] == (torch.float32, torch.float32), gru
    assert seen["dual_path.score"][1] == torch.float32
    assert out.loss_align.dtype == torch.float32 and torch.isfinite(out.loss)
    # weights and their gradients stay float32
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert model.dual_path.student_gru.weight_ih_l0.grad.dtype == torch.float32
    # without autocast the same modules compute in float32 throughout (the regions change nothing there)
    with torch.no_grad():
        model(input_ids=ids, attention_mask=mask)
    assert seen["classifier.dense"][1] == torch.float32


def test_a_bf16_two_stage_run_under_accelerate_trains_and_records_bf16(tiny_encoder_dir, small_data, tmp_path):
    """`accelerate launch --mixed_precision bf16 train.py ...` on the CPU: the two-stage recipe trains under CPU
    autocast, the loss stays finite, and `train_config.json` records the precision that ran."""
    accelerate = shutil.which("accelerate")
    if accelerate is None:
        pytest.skip("the accelerate CLI is not on PATH")
    out = tmp_path / "bf16"
    config = _write_yaml(tmp_path / "bf16.yaml", _two_stage_overrides(tiny_encoder_dir, small_data))
    _run(
        [
            accelerate,
            "launch",
            "--num_processes",
            "1",
            "--mixed_precision",
            "bf16",
            "train.py",
            "--config",
            str(config),
            "--output-dir",
            str(out),
        ],
        timeout=300,
    )
    resolved = json.loads((out / "train_config.json").read_text())
    assert resolved["mixed_precision"] == "bf16" and resolved["world_size"] == 1
    state = json.loads((out / "stage2" / "checkpoint-6" / "trainer_state.json").read_text())
    losses = [log["loss"] for log in state["log_history"] if "loss" in log]
    assert len(losses) == 6 and all(torch.isfinite(torch.tensor(losses)))
    assert (out / "dev_metrics.json").is_file()
