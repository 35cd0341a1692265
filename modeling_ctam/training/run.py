# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""[`train`]: one CTAM training run from a resolved [`TrainConfig`]: the data, the alignment, the model,
`CTAMTrainer`, the final dev evaluation, and the output folder (model, tokenizer, dev_metrics.json,
train_config.json, trainer state)."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import Any, Optional

from .arguments import DataArguments, ModelArguments, TrainConfig
from .assembly import build_datasets, build_transfer_data, resolve_data
from .checkpoints import (
    check_output_dir,
    drop_previous_run,
    find_last_checkpoint,
    resolve_resume,
    set_aside_previous_run,
)
from .prealign import run_alignment
from .presets import apply_lora, freeze_parameters, model_config_kwargs, parameter_counts
from .report import (
    check_hub_access,
    format_metrics,
    make_compute_metrics,
    predicted_ids,
    push_output,
    write_json,
)

logger = logging.getLogger(__name__)


def _encoder_path_and_revision(model_args: ModelArguments) -> tuple[str, dict]:
    from modeling_ctam.modeling_ctam import resolve_encoder_name

    revision = {"revision": model_args.encoder_revision} if model_args.encoder_revision else {}
    return resolve_encoder_name(model_args.encoder), revision


def build_config(model_args: ModelArguments, data_args: DataArguments):
    """The run's `CTAMConfig` from the encoder's config (no weights loaded): its `static_layer` is the one the
    alignment uses and the model is built with."""
    from transformers import AutoConfig

    from modeling_ctam import CTAMConfig

    path, revision = _encoder_path_and_revision(model_args)
    encoder_config = AutoConfig.from_pretrained(path, **revision).to_dict()
    return CTAMConfig(encoder_config=encoder_config, **model_config_kwargs(model_args, data_args))


def build_model(model_args: ModelArguments, data_args: DataArguments, alignment: Optional[str] = None):
    """(model, tokenizer, parameter counts): CTAM around the pretrained encoder, preset applied, mapping loaded,
    parameters frozen, LoRA applied. The tokenizer is a [`CTAMTokenizer`] (the encoder's `tokenizer.json` with the
    Burmese preprocessing in front), so the folder the run saves preprocesses every text it is given."""
    from transformers import AutoTokenizer

    from modeling_ctam import CTAMForSequenceClassification, CTAMTokenizer

    path, revision = _encoder_path_and_revision(model_args)
    try:  # the encoder's tokenizer.json as it is (the reference pipeline)
        tokenizer = CTAMTokenizer.from_pretrained(path, **revision)
    except (OSError, ValueError):
        try:  # no tokenizer.json (e.g. only a SentencePiece model): convert through the encoder's own class
            tokenizer = CTAMTokenizer.from_tokenizer(AutoTokenizer.from_pretrained(path, **revision))
        except (OSError, ValueError) as err:
            raise OSError(
                f"encoder={model_args.encoder!r}: cannot load its tokenizer ({err}). Give a Hub id, a "
                "local folder with tokenizer files, or 'ctam/e5-small-offline'."
            ) from err
    model = CTAMForSequenceClassification.from_encoder_pretrained(
        model_args.encoder,
        tokenizer=tokenizer,
        alignment=alignment,
        encoder_kwargs=revision,
        **model_config_kwargs(model_args, data_args),
    )
    counts = freeze_parameters(model, model_args.freeze_embeddings, model_args.freeze_layers)
    if model_args.lora:
        model = apply_lora(model, model_args)
        counts["trainable"] = parameter_counts(model)["trainable"]
    return model, tokenizer, counts


def _pairing_epoch_callback(dataset):
    from transformers import TrainerCallback

    class PairingEpochCallback(TrainerCallback):
        """Give the paired dataset the epoch number, so that random pairs change every epoch (and match on every
        process). Accelerate's data loaders do not always forward `set_epoch` to the dataset."""

        def on_epoch_begin(self, args, state, control, **kwargs):
            dataset.set_epoch(int(math.floor((state.epoch or 0.0) + 1e-6)))

    return PairingEpochCallback()


def _imbalance_plan(cfg: TrainConfig, train_dataset, transfer_data=None):
    """The run's class-imbalance plan (modeling_ctam.training.imbalance): each path's eq. 12 adjustment and the sampler
    weights, all for the trainer (the model keeps none of it)."""
    from .imbalance import plan_imbalance

    data_args = cfg.data
    labels, source_labels = [], None
    if transfer_data is not None:  # two-stage: stage 2's Burmese path; the recipe handles the English path per stage
        labels = list(transfer_data.target_labels)
    elif train_dataset is not None and data_args.setting != "zero-shot" and cfg.run.imbalance != "none":
        pairs = getattr(train_dataset, "parts", [train_dataset])[0]
        labels = [int(v) for v in getattr(pairs, "target_labels", [])]
        source_labels = [int(pairs[i]["source_label"]) for i in range(len(pairs))]  # as the items carry them
    plan = plan_imbalance(
        cfg.run,
        data_args.setting,
        cfg.run.recipe,
        labels,
        data_args.class_names,
        data_args.pairing_driver,
        source_labels=source_labels,
    )
    logger.info("class imbalance: %s", plan.record)
    return plan


def _versions() -> dict[str, str]:
    import importlib.metadata

    out = {}
    for pkg in ("torch", "transformers", "accelerate", "datasets", "peft", "ctam"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            pass
    return out


def _mixed_precision(trainer, args) -> str:
    """The precision the run really trains in: the Trainer's accelerator's (`--bf16`/`--fp16`, or `accelerate launch
    --mixed_precision`, which reaches it through ACCELERATE_MIXED_PRECISION), not only the two flags."""
    accelerator = getattr(trainer, "accelerator", None)
    value = getattr(accelerator, "mixed_precision", None) or getattr(args, "mixed_precision", None)
    if value is None:
        value = "bf16" if args.bf16 else "fp16" if args.fp16 else "no"
    return str(getattr(value, "value", value))


def check_distributed_type(trainer, two_stage: bool) -> str:
    """The distributed type the Trainer's accelerator really runs (`NO`, `MULTI_CPU`, `MULTI_GPU`, `FSDP`,
    `DEEPSPEED`), checked against what the launcher asked for.

    - Processes launched together (`WORLD_SIZE` > 1) that each train alone would write the same folder: refused.
    - An FSDP config (`ACCELERATE_USE_FSDP`) that accelerate did not apply is refused: accelerate 1.x turns FSDP on
      only for accelerator devices (GPU, XPU, ...); on the CPU it runs DDP over gloo instead, silently.
    - The two-stage recipe is refused under FSDP: its one-off computations (the frozen teacher's outputs, the n-gram
      view) run on the main process alone, which needs the whole model there, and FSDP shards it
      (modeling_ctam/transfer/distributed.py).
    """
    import os

    accelerator = getattr(trainer, "accelerator", None)
    value = getattr(accelerator, "distributed_type", None)
    kind = str(getattr(value, "value", value or "NO"))
    if os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true" and kind != "FSDP":
        raise ValueError(
            f"the accelerate config asks for FSDP, but accelerate runs {kind}: it applies FSDP only on GPUs (and "
            "other accelerators), not on the CPU. On a CPU-only machine use configs/accelerate/cpu_2proc.yaml (DDP "
            "over gloo)."
        )
    launched = int(os.environ.get("WORLD_SIZE", "1") or 1)
    if launched > 1 and trainer.args.world_size == 1:
        raise ValueError(
            f"{launched} processes were launched, but this one trains alone (distributed type {kind}): each would "
            "write the same output folder. On a machine without a GPU add --use_cpu true, or launch with "
            "configs/accelerate/cpu_2proc.yaml."
        )
    if kind == "FSDP" and two_stage:
        raise ValueError(
            "the two-stage recipe does not run under FSDP yet: the frozen teacher's outputs and the n-gram view are "
            "computed on the main process alone, from the whole model, and FSDP shards it. Use DDP "
            "(configs/accelerate/multi_gpu.yaml) or DeepSpeed ZeRO-2 (configs/accelerate/deepspeed_zero2.yaml), or "
            "recipe: joint."
        )
    return kind


def setup_logging(process_index: int = 0) -> None:
    """The log format and level of a training command line: INFO on the main process, WARNING on the others. For
    entry points (train.py, the bench scripts) to call; [`train`] leaves the process's logging alone."""
    logging.basicConfig(
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        level=logging.INFO if process_index == 0 else logging.WARNING,
        force=True,  # replace what an import may have set up, so that the run's progress shows
    )


def train(cfg: TrainConfig, callbacks: Optional[list] = None) -> dict[str, Any]:
    """Run training as configured; returns the dev metrics report (dev_metrics.json's content, on every process).

    Args:
        cfg ([`TrainConfig`]): the resolved configuration (see [`load_config`]).
        callbacks (`list[transformers.TrainerCallback]`, *optional*): extra Trainer callbacks.
    """
    import torch
    from transformers import set_seed

    from modeling_ctam.data import CTAMCollator
    from modeling_ctam.evaluation import metrics_record, write_metrics

    from .trainer import CTAMTrainer

    model_args, data_args, args = cfg.model, cfg.data, cfg.training
    start = time.perf_counter()
    # the two-stage recipe resumes inside its stage folders (modeling_ctam.transfer.recipe)
    two_stage = cfg.run.recipe == "two-stage"
    resuming = args.resume_from_checkpoint is not None
    check_output_dir(args.output_dir, resume=resuming, overwrite=cfg.run.overwrite_output_dir)
    resume = None if two_stage else resolve_resume(args.resume_from_checkpoint, args.output_dir)
    if args.push_to_hub:
        check_hub_access()
    set_seed(args.seed)
    output_dir = Path(args.output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)

    alignment = resolve_data(model_args.alignment, "alignment", None) if model_args.alignment else None
    with args.main_process_first(desc="data and alignment"):
        if two_stage:
            transfer_data, dev_dataset, summary = build_transfer_data(
                data_args, args.seed, cfg.run.parallel_share > 0 or cfg.run.cross_lingual_prior, cfg.run.heldout_data
            )
            train_dataset = None
        else:
            train_dataset, dev_dataset, summary = build_datasets(data_args, args.seed)
        if cfg.run.overwrite_output_dir and not resuming and args.process_index == 0:
            set_aside_previous_run(output_dir)  # the data loaded; the earlier run goes once this one has saved
        if model_args.run_alignment:
            static_layer = build_config(model_args, data_args).static_layer
            alignment = run_alignment(model_args, data_args, output_dir, static_layer)
        set_seed(args.seed)
        model, tokenizer, counts = build_model(model_args, data_args, alignment)
    summary["parameters"] = counts
    for key, value in summary.items():
        logger.info("%s: %s", key, value)

    # CTAM publishes once, at the end, through modeling_ctam.hub.push (card, remote code), not checkpoint by checkpoint
    trainer_args = dataclasses.replace(args, push_to_hub=False) if args.push_to_hub else args
    collator = CTAMCollator(tokenizer, max_length=data_args.max_length, word_ids=data_args.word_ids)

    imbalance = _imbalance_plan(cfg, train_dataset, transfer_data if two_stage else None)

    def make_trainer(model, trainer_args, train_dataset, data_collator, train_sampler=None, source_label_loss=None):
        # the Burmese path's eq. 12 adjustment is the run's; the English path's depends on the stage's rows
        return CTAMTrainer(
            model=model,
            args=trainer_args,
            train_dataset=train_dataset,
            eval_dataset=dev_dataset if trainer_args.eval_strategy != "no" else None,
            data_collator=data_collator,
            processing_class=tokenizer,
            compute_metrics=make_compute_metrics(data_args.class_names),
            callbacks=callbacks,
            path_by_path=cfg.run.path_by_path_backward,
            train_sampler=train_sampler,
            label_loss=imbalance.label_loss,
            source_label_loss=source_label_loss,
        )

    # the two-stage recipe trains in its own stage folders; this trainer then only scores the final model
    sampler = None
    if imbalance.sample_weights is not None:
        from .imbalance import ClassBalancedSampler

        sampler = ClassBalancedSampler(imbalance.sample_weights, seed=args.data_seed or args.seed)
    trainer = make_trainer(model, trainer_args, train_dataset, collator, sampler, imbalance.source_label_loss)
    if not two_stage:
        trainer.add_callback(_pairing_epoch_callback(train_dataset))
    distributed_type = check_distributed_type(trainer, two_stage)
    resolved = {
        "config": cfg.to_dict(),
        "model_config": model_config_kwargs(model_args, data_args),
        "data": summary,
        "imbalance_handling": imbalance.record,
        "imbalance_summary": imbalance.summary(),
        "alignment": alignment,
        "world_size": args.world_size,
        "distributed_type": distributed_type,
        "device": str(args.device),
        "mixed_precision": _mixed_precision(trainer, args),
        "versions": _versions(),
        "resumed_from": resume,
    }
    if trainer.is_world_process_zero():
        write_json(output_dir / "train_config.json", resolved)

    if two_stage:
        from modeling_ctam.transfer.recipe import run_two_stage

        from .imbalance import label_loss_for

        record = run_two_stage(
            model,
            tokenizer,
            transfer_data,
            cfg.run,
            trainer_args,
            collator,
            make_trainer,
            output_dir,
            resume=args.resume_from_checkpoint is not None,
            find_checkpoint=find_last_checkpoint,
            label_loss_for=label_loss_for(cfg.run, len(data_args.class_names)),
        )
        resolved["transfer"] = record
        if trainer.is_world_process_zero():
            write_json(output_dir / "train_config.json", resolved)
        train_runtime = record.get("train_runtime_s")
        global_step = record.get("global_step")
    else:
        result = trainer.train(resume_from_checkpoint=resume)
        trainer.log_metrics("train", result.metrics)
        trainer.save_metrics("train", result.metrics)
        trainer.save_state()
        train_runtime, global_step = result.metrics.get("train_runtime"), trainer.state.global_step

    # final dev evaluation with the model the run ends on (the best checkpoint when load_best_model_at_end)
    prediction = trainer.predict(dev_dataset, metric_key_prefix="dev")
    report = metrics_record(
        prediction.label_ids,
        predicted_ids(prediction.predictions),
        data_args.class_names,
        dev_loss=prediction.metrics.get("dev_loss"),
        target_dev=data_args.target_dev,
        preset=model_args.preset,
        setting=data_args.setting,
        encoder=model_args.encoder,
        global_step=global_step,
        recipe=cfg.run.recipe,
        best_model_checkpoint=trainer.state.best_model_checkpoint,
        best_metric=trainer.state.best_metric,
        metric_for_best_model=args.metric_for_best_model,
        train_runtime_s=train_runtime,
        wall_time_s=round(time.perf_counter() - start, 1),
        world_size=args.world_size,
    )
    scored = getattr(trainer.model, "module", trainer.model)
    if getattr(scored, "ngram_head", None) is not None:  # each view alone, beside the ensemble (reported, not chosen)
        from modeling_ctam.transfer.ngram_view import score_views

        logits = prediction.predictions[0] if isinstance(prediction.predictions, tuple) else prediction.predictions
        report["views"] = score_views(
            scored,
            tokenizer,
            dev_dataset["text"],
            logits,
            prediction.label_ids.reshape(-1),
            data_args.class_names,
            max_length=data_args.max_length,
        )

    # under FSDP the weights are sharded: every process takes part in gathering them (the main process saves them)
    full_state = trainer.accelerator.get_state_dict(trainer.model) if distributed_type == "FSDP" else None
    if trainer.is_world_process_zero():
        final = trainer.model
        if model_args.lora:
            final.save_pretrained(output_dir / "adapter")
            final = final.merge_and_unload()
        final = getattr(final, "module", final)
        final.save_pretrained(output_dir, state_dict=full_state)
        tokenizer.save_pretrained(output_dir)
        drop_previous_run(output_dir)  # --overwrite_output_dir: the new model replaces the earlier run now
        write_metrics(report, output_dir / "dev_metrics.json")
        print(format_metrics(report), flush=True)
        print(
            f"model, tokenizer and dev_metrics.json saved to {output_dir} ({report['wall_time_s']:.0f} s in all)",
            flush=True,
        )
        if args.push_to_hub:
            push_output(output_dir, args.hub_model_id, args.hub_private_repo)
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.barrier()
    return report
