"""The two-stage recipe on two processes (DDP over gloo, `accelerate launch` with configs/accelerate/cpu_2proc.yaml),
in bf16 (CPU autocast, `--mixed_precision bf16`): the frozen teacher's outputs, the pseudo-labels, the stage-2 items
and the n-gram view are computed once, by the main process, and every process trains on the same ones; a run killed
in stage 2 and resumed ends with the weights of an uninterrupted run; the run records the precision and the process
count that ran. Tiny random encoder (hidden 32, 2 layers), the real offline tokenizer, real GKLMIP and SST-2 rows.

One test with three launches (a reference run, a killed run, its resumption): each `accelerate launch` of two
processes costs its start-up, so the bf16 run and the DDP run are the same runs. The float32 two-process path is the
same code without autocast (tests/test_train.py runs it for the joint recipe); which modules autocast reaches is
tested in tests/test_precision.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_train
import torch
from test_train import REPO, _env, _run, _two_stage_overrides, _write_yaml
from tiny_runs import slow_train_script

import modeling_ctam.training as T

small_data = test_train.small_data  # the shared fixture: real GKLMIP rows, fewer of them


CPU_2PROC = REPO / "configs" / "accelerate" / "cpu_2proc.yaml"


def _launch(accelerate: str, script: str, config: Path, out: Path, *extra: str) -> list[str]:
    launcher = [accelerate, "launch", "--config_file", str(CPU_2PROC), "--mixed_precision", "bf16"]
    return launcher + [script, "--config", str(config), "--output-dir", str(out), *extra]


def _kill_in_stage_2(accelerate: str, script: Path, config: Path, out: Path, timeout: int = 240) -> int:
    """Start the 2-process run (each step slowed), SIGKILL the launcher and both workers (one process group) once
    stage 2 holds an intact checkpoint; that checkpoint's step."""
    process = subprocess.Popen(
        _launch(accelerate, str(script), config, out),
        cwd=REPO,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the launcher and its workers share a process group, killed as one
    )
    deadline = time.time() + timeout
    try:
        while T.find_last_checkpoint(out / "stage2") is None:
            assert process.poll() is None, (
                f"training ended before a stage-2 checkpoint: {process.stderr.read()[-3000:]}"
            )
            assert time.time() < deadline, f"no stage-2 checkpoint within {timeout} s"
            time.sleep(0.2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return int(T.find_last_checkpoint(out / "stage2").rsplit("-", 1)[1])


def test_two_process_bf16_two_stage_run_computes_the_teacher_once_and_resumes_to_the_same_weights(
    tiny_encoder_dir, small_data, tmp_path
):
    from safetensors.torch import load_file

    accelerate = shutil.which("accelerate")
    if accelerate is None:
        pytest.skip("the accelerate CLI is not on PATH")
    config = _write_yaml(tmp_path / "two.yaml", _two_stage_overrides(tiny_encoder_dir, small_data, ngram_view=True))

    # an uninterrupted 2-process run
    whole = tmp_path / "whole"
    _run(_launch(accelerate, "train.py", config, whole), timeout=300)
    resolved = json.loads((whole / "train_config.json").read_text())
    assert resolved["world_size"] == 2 and resolved["mixed_precision"] == "bf16"
    record = resolved["transfer"]
    stage2 = record["stage2_rounds"][0]
    assert stage2["items"]["total"] == 6 * 4 * 2  # 6 steps of 4 items on each of 2 processes
    # the items hold their teacher states and nothing more (what the broadcast pickles)
    assert stage2["items"]["teacher_states_storage_bytes"] == stage2["items"]["teacher_states_bytes"] > 0
    main, other = stage2["processes"]
    assert (main["rank"], other["rank"]) == (0, 1)
    # the teacher ran on the main process only: posteriors of every unlabelled review (and the held-out English), and
    # the BiGRU states of the English rows the items pair with; nothing on the other process
    assert main["forward_texts"]["posteriors"] >= stage2["pseudo_labels"]["selected"] > 0
    assert main["forward_texts"]["states"] >= 1 and other["forward_texts"] == {}
    # both processes hold the same items, pseudo-labels and teacher states, and score with the same n-gram view
    assert main["items_digest"] == other["items_digest"]
    assert main["pseudo_labels_digest"] == other["pseudo_labels_digest"]
    views = record["ngram_view"]["processes"]
    assert len(views) == 2 and views[0]["ngram_head_digest"] == views[1]["ngram_head_digest"]
    assert views[1]["forward_texts"] == {}  # the student's posteriors for the fit: main process only, too
    assert len(list((whole / "stage1").glob("posteriors-*.safetensors"))) == 1
    metrics = json.loads((whole / "dev_metrics.json").read_text())
    assert metrics["world_size"] == 2 and metrics["global_step"] == 8
    state = json.loads((whole / "stage2" / "checkpoint-6" / "trainer_state.json").read_text())
    assert all(torch.isfinite(torch.tensor([log["loss"] for log in state["log_history"] if "loss" in log])))

    # the same run killed in stage 2 (SIGKILL, both workers), then resumed on 2 processes
    resumed = tmp_path / "resumed"
    step = _kill_in_stage_2(accelerate, slow_train_script(tmp_path, 0.5), config, resumed)
    assert step < 6 and not (resumed / "dev_metrics.json").exists()
    _run(_launch(accelerate, "train.py", config, resumed, "--resume_from_checkpoint", "latest"), timeout=300)
    again = json.loads((resumed / "train_config.json").read_text())["transfer"]
    assert again["stage1"] == "resumed (finished before)"
    assert again["stage2_rounds"][0]["processes"][0]["items_digest"] == main["items_digest"]
    state = json.loads((resumed / "stage2" / "checkpoint-6" / "trainer_state.json").read_text())
    logged = [log["step"] for log in state["log_history"] if "loss" in log]
    assert logged == sorted(set(logged)) and logged[-1] == 6  # no stage-2 step trained twice

    # the same weights as the uninterrupted run: optimizer, schedule, data position and each rank's RNG are restored,
    # and the CPU kernels are deterministic at a fixed thread count (torchrun: one thread per process)
    a, b = load_file(str(whole / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert a.keys() == b.keys()
    differing = {k: (a[k] - b[k]).abs().max().item() for k in a if not torch.equal(a[k], b[k])}
    assert not differing, f"weights differ after resuming: {differing}"


FSDP_STEP = """
import json, sys
import torch, torch.distributed as dist, yaml
from torch.distributed.fsdp import fully_shard
from torch.distributed.tensor import DTensor
from tiny_runs import TINY_ENCODER
from modeling_ctam import CTAMConfig, CTAMForSequenceClassification

config_file, out = sys.argv[1], sys.argv[2]
dist.init_process_group("gloo")
rank = dist.get_rank()
classes = set(yaml.safe_load(open(config_file))["fsdp_config"]["fsdp_transformer_layer_cls_to_wrap"].split(","))
torch.manual_seed(0)
cfg = CTAMConfig(encoder_config=dict(TINY_ENCODER), num_labels=2, teacher_head=True, classifier_dropout=0.0)
cfg.encoder_config.hidden_dropout_prob = cfg.encoder_config.attention_probs_dropout_prob = 0.0
reference = CTAMForSequenceClassification(cfg).train()
sharded = CTAMForSequenceClassification(cfg).train()
sharded.load_state_dict(reference.state_dict())
units = [name for name, module in sharded.named_modules() if type(module).__name__ in classes]
for name in units:
    fully_shard(sharded.get_submodule(name))
fully_shard(sharded)  # the root unit: embeddings, mapping, the shared classifier, the dual path
ids = torch.randint(5, 1000, (4, 12), generator=torch.Generator().manual_seed(1))
labels = torch.tensor([0, 1, 1, 0])
batch = dict(input_ids=ids, attention_mask=torch.ones_like(ids), source_input_ids=ids.flip(0),
             source_attention_mask=torch.ones_like(ids), source_labels=labels, labels=labels)
losses = []
for model in (reference, sharded):
    loss = model(**batch).loss
    loss.backward()
    losses.append(loss.item())
worst = 0.0
for (name, p), (_, q) in zip(sharded.named_parameters(), reference.named_parameters()):
    if q.grad is not None:
        grad = p.grad.full_tensor() if isinstance(p.grad, DTensor) else p.grad
        worst = max(worst, (grad - q.grad).abs().max().item())
params = list(sharded.parameters())
json.dump({"units": units, "losses": losses, "max_grad_diff": worst, "parameters": len(params),
           "sharded_params": sum(isinstance(p, DTensor) for p in params)},
          open(f"{out}/rank{rank}.json", "w"))
dist.destroy_process_group()
"""


def test_the_fsdp_configs_wrap_policy_shards_ctam_and_keeps_its_loss_and_gradients(tmp_path):
    """configs/accelerate/fsdp.yaml's wrap classes applied with torch's FSDP2 (`fully_shard`) on 2 CPU processes over
    gloo: units for the encoder layers, the gate and the discriminator, the rest (the classifier both paths share, the
    dual path) in the root unit; one training step gives the unsharded model's loss and gradients. (accelerate itself
    applies FSDP on GPUs only; the config is for them.)"""
    script = tmp_path / "fsdp_step.py"
    script.write_text(FSDP_STEP, encoding="utf-8")
    env = dict(_env(), PYTHONPATH=os.pathsep.join([str(REPO / "tests"), str(REPO), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(script)]
    result = subprocess.run(
        command + [str(REPO / "configs" / "accelerate" / "fsdp.yaml"), str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for rank in (0, 1):
        record = json.loads((tmp_path / f"rank{rank}.json").read_text())
        units = record["units"]
        assert sum(".layer." in u for u in units) == 2 and "ctam.gate" in units and "domain_discriminator" in units
        assert not any(u.startswith(("classifier", "dual_path")) for u in units)  # the root unit's
        assert record["sharded_params"] == record["parameters"] > 0  # every parameter is sharded (DTensor)
        reference, sharded = record["losses"]
        assert sharded == pytest.approx(reference, rel=1e-6)
        assert record["max_grad_diff"] < 1e-4
