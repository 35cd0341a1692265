"""Mixed precision: which of CTAM's modules compute in bf16 under `torch.autocast` and which are kept float32 on
purpose (the BiGRUs, the eq. 3 gate, `L_R`). A bf16 run of train.py under `accelerate launch --mixed_precision bf16`
(two processes, the two-stage recipe, resumed after a kill) is tests/test_distributed.py's. And the distributed type
a run gets, checked against what the launcher asked for (FSDP on the CPU)."""

from __future__ import annotations

import pytest
import torch
from tiny_runs import TINY_ENCODER

from modeling_ctam import CTAMConfig, CTAMForSequenceClassification


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


def test_an_fsdp_config_that_accelerate_did_not_apply_and_the_two_stage_recipe_under_fsdp_are_refused(monkeypatch):
    """accelerate 1.x applies FSDP on accelerator devices only: on the CPU an FSDP config silently becomes DDP
    (MULTI_CPU), or, without `use_cpu`, processes that each train alone. train.py refuses both, and the two-stage
    recipe under FSDP (its one-off computations need the whole model on the main process)."""
    from types import SimpleNamespace

    from modeling_ctam.training.run import check_distributed_type

    def trainer(kind: str, world_size: int):
        return SimpleNamespace(
            accelerator=SimpleNamespace(distributed_type=kind), args=SimpleNamespace(world_size=world_size)
        )

    monkeypatch.setenv("WORLD_SIZE", "2")
    assert check_distributed_type(trainer("MULTI_CPU", 2), two_stage=True) == "MULTI_CPU"
    with pytest.raises(ValueError, match="trains alone"):
        check_distributed_type(trainer("NO", 1), two_stage=False)
    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")
    with pytest.raises(ValueError, match="accelerate runs MULTI_CPU"):
        check_distributed_type(trainer("MULTI_CPU", 2), two_stage=False)
    assert check_distributed_type(trainer("FSDP", 2), two_stage=False) == "FSDP"
    with pytest.raises(ValueError, match="does not run under FSDP"):
        check_distributed_type(trainer("FSDP", 2), two_stage=True)
