"""The two-stage transfer recipe (method.md section 3): a trained English teacher, then a student trained against it.

Stage 1 trains the teacher path on English labels: `L_T` and, with `teacher_head`, the teacher BiGRU's own head.
Stage 2 freezes that model as the teacher. Everything the frozen teacher contributes is computed once
(:mod:`.teacher`): its posteriors on the unlabelled Burmese reviews, the EM estimate of the Burmese class prior
(:mod:`.prior`), the pseudo-labels under that prior's quotas (:mod:`.pseudo_label`) and the BiGRU states of every
English sentence that a stage-2 item pairs with. The model then keeps training as the student on batches that carry
several streams (:mod:`.streams`): English labelled rows (`L_T`, the source side of `L_S`), parallel Burmese sentences
(`L_R` against their translations) and unlabelled Burmese reviews (pseudo-labels in `L_T`, class-conditional `L_R`
pairs, the target side of `L_S`). The student BiGRU starts as a copy of the trained teacher BiGRU.

Under DDP (several processes) the frozen teacher's outputs, the prior, the pseudo-labels, the stage-2 items, the
prior-matching bias and the n-gram view's fit are computed by the main process alone and broadcast
(:mod:`.distributed`): every process trains on the same items, and `train_config.json` records a digest of them and
the texts each process ran through the model, per process.

Each stage writes Trainer checkpoints into its own folder (`stage1/`, `stage2/`), and the end of stage 1 is saved, so
a run interrupted in either stage resumes there (:func:`run_two_stage`). The caller saves one ordinary CTAM checkpoint.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from ..data import CTAMCollator
from ..data.labels import class_prior
from .arguments import TransferArguments, TransferData
from .distributed import computed_once, process_group, rank_records
from .ngram_view import fit_ngram_head
from .prior import adjust_posteriors, estimate_target_prior
from .pseudo_label import select_pseudo_labels
from .streams import (
    ItemDataset,
    SourceOnlyCollator,
    Stage2Collator,
    Stage2Streams,
    attach_teacher_states,
    build_stage2_items,
)
from .teacher import teacher_posteriors, teacher_states

logger = logging.getLogger(__name__)

STAGE1_DIR, STAGE2_DIR, STAGE1_MODEL = "stage1", "stage2", "teacher.safetensors"


def _stage_args(base, output_dir: Path, max_steps: int, learning_rate: float | None = None):
    """The run's TrainingArguments for one stage: its own folder and budget, no evaluation (the strict protocol picks
    no checkpoint by Burmese dev), checkpoints as the run asked."""
    changes = dict(
        output_dir=str(output_dir),
        max_steps=max_steps,
        eval_strategy="no",
        load_best_model_at_end=False,
        remove_unused_columns=False,  # the items carry the streams' own keys
        metric_for_best_model=None,
    )
    if learning_rate is not None:
        changes["learning_rate"] = learning_rate
    if getattr(base.save_strategy, "value", base.save_strategy) in ("best", "epoch"):  # neither fits a step budget
        changes["save_strategy"] = "steps"
        changes["save_steps"] = max(1, max_steps // 2)
    return dataclasses.replace(base, **changes)


def load_teacher_weights(model, path: Path) -> None:
    from safetensors.torch import load_file

    state = load_file(str(path))
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if "word_start_table" not in k]
    if missing or unexpected:
        raise ValueError(
            f"{path}: the stage-1 teacher does not fit this model (missing {missing[:5]}, unexpected "
            f"{unexpected[:5]}); it must come from the same preset and encoder."
        )


def _save_weights(model, path: Path) -> None:
    from safetensors.torch import save_file

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, path)  # a crash never leaves a half-written teacher behind


def teacher_file(args: TransferArguments, output_dir: Path) -> Path:
    """Where the stage-1 teacher's weights are: `teacher_from` (a run folder or the file) or this run's stage1/."""
    if args.teacher_from:
        source = Path(args.teacher_from)
        return source / STAGE1_DIR / STAGE1_MODEL if source.is_dir() else source
    return output_dir / STAGE1_DIR / STAGE1_MODEL


def _resume_point(folder: Path, resume: bool, find_checkpoint: Callable | None) -> Optional[str]:
    """The checkpoint a stage resumes from: with `resume`, the newest intact one in its folder (None: start it)."""
    if not resume or not folder.is_dir():
        return None
    if find_checkpoint is None:
        from transformers.trainer_utils import get_last_checkpoint

        return get_last_checkpoint(str(folder))
    return find_checkpoint(folder)


def stage1_items(data: TransferData, args: TransferArguments) -> list[dict]:
    """Stage 1's rows, all on the teacher path: the English ones and, with `stage1_target_labels`, the labelled
    Burmese reviews (few-shot, supervised)."""
    items = [{"source_text": t, "source_label": int(y)} for t, y in zip(data.english_texts, data.english_labels)]
    if args.stage1_target_labels:
        items += [{"source_text": t, "source_label": int(y)} for t, y in zip(data.target_texts, data.target_labels)]
    return items


def run_stage1(
    model,
    tokenizer,
    data: TransferData,
    args: TransferArguments,
    training_args,
    collator: CTAMCollator,
    make_trainer: Callable,
    output_dir: Path,
    resume: bool = False,
    find_checkpoint: Callable | None = None,
    label_loss_for: Callable | None = None,
) -> dict:
    """Stage 1 (or its reuse): the model ends as the trained teacher, saved as `stage1/teacher.safetensors`.
    With `resume`, a finished stage 1 is read back and an interrupted one continues from its last checkpoint.
    `label_loss_for(labels)` gives the teacher path's imbalance handling for stage 1's labels (or None)."""
    final = teacher_file(args, output_dir)
    if args.teacher_from:
        if not final.is_file():
            raise FileNotFoundError(
                f"teacher_from={args.teacher_from!r}: no {STAGE1_DIR}/{STAGE1_MODEL} there; give a "
                "two-stage run folder whose stage 1 finished, or the teacher file itself."
            )
        load_teacher_weights(model, final)
        return {"stage1": "reused", "teacher_from": str(args.teacher_from), "stage1_steps": args.stage1_steps}
    if resume and final.is_file():
        load_teacher_weights(model, final)
        return {"stage1": "resumed (finished before)", "stage1_steps": args.stage1_steps}
    items = stage1_items(data, args)
    source_label_loss = None
    if label_loss_for is not None:  # the teacher path's prior is stage 1's mix of English and Burmese labels
        source_label_loss = label_loss_for([it["source_label"] for it in items])
    stage_args = _stage_args(training_args, output_dir / STAGE1_DIR, args.stage1_steps)
    trainer = make_trainer(
        model, stage_args, ItemDataset(items), SourceOnlyCollator(collator), source_label_loss=source_label_loss
    )
    start = time.perf_counter()
    trainer.train(resume_from_checkpoint=_resume_point(output_dir / STAGE1_DIR, resume, find_checkpoint))
    if trainer.is_world_process_zero():
        _save_weights(model, final)
    return {
        "stage1": "trained",
        "stage1_seconds": round(time.perf_counter() - start, 1),
        "stage1_steps": trainer.state.global_step,
        "stage1_rows": len(items),
        "stage1_burmese_rows": len(items) - len(data.english_texts),
    }


def cached_teacher_posteriors(
    model, tokenizer, texts: list[str], max_length: int, batch_size: int, cache_dir: Path | None, language: str = "my"
) -> np.ndarray:
    """The teacher's posteriors on `texts` (the unlabelled reviews; the sides of the translation pairs), stored beside
    the stage-1 teacher (safetensors) and read back by any later run that reuses the same teacher on the same texts
    (the bench's ablation rows)."""
    import hashlib

    from safetensors.numpy import load_file, save_file

    path = None
    if cache_dir is not None:
        key = [max_length, texts] if language == "my" else [max_length, language, texts]  # old caches stay valid
        digest = hashlib.sha256(json.dumps(key, ensure_ascii=False).encode()).hexdigest()[:16]
        path = cache_dir / f"posteriors-{digest}.safetensors"
        if path.is_file():
            return load_file(str(path))["posteriors"]
    probs = teacher_posteriors(
        model, tokenizer, texts, language=language, max_length=max_length, batch_size=batch_size
    )
    if path is not None and os.access(cache_dir, os.W_OK):
        tmp = path.with_suffix(".tmp")
        save_file({"posteriors": probs}, str(tmp))
        os.replace(tmp, path)
    return probs


def _estimate_prior(
    model,
    tokenizer,
    data: TransferData,
    args: TransferArguments,
    record: dict,
    source_prior: np.ndarray,
    max_length: int,
    eval_batch_size: int,
    posteriors_cache_dir: Path | None,
) -> tuple[np.ndarray, np.ndarray]:
    """`(prior, posteriors)`: the target class prior from the frozen teacher's posteriors `(N, C)` on the unlabelled
    reviews (EM, guarded by BBSE on the held-out English rows; :mod:`.prior`), and those posteriors. Writes the
    estimate into `record`."""
    probs = cached_teacher_posteriors(
        model, tokenizer, data.unlabelled, max_length, eval_batch_size, posteriors_cache_dir
    )
    heldout = None
    if data.heldout_texts:
        heldout = (
            teacher_posteriors(
                model, tokenizer, data.heldout_texts, language="en", max_length=max_length, batch_size=eval_batch_size
            ),
            np.asarray(data.heldout_labels),
        )
        record["heldout_accuracy"] = round(float((heldout[0].argmax(1) == heldout[1]).mean()), 4)
    parallel = None
    if args.cross_lingual_prior and data.parallel:  # both sides of every pair, as the frozen model reads them
        parallel = (
            cached_teacher_posteriors(
                model,
                tokenizer,
                [m for m, _ in data.parallel],
                max_length,
                eval_batch_size,
                posteriors_cache_dir,
                "my",
            ),
            cached_teacher_posteriors(
                model,
                tokenizer,
                [e for _, e in data.parallel],
                max_length,
                eval_batch_size,
                posteriors_cache_dir,
                "en",
            ),
        )
    estimate = estimate_target_prior(
        probs, source_prior, args.min_prior, heldout, parallel, args.prior_trust_ratio, args.prior_estimator
    )
    record["target_prior"] = estimate.to_dict()
    record["teacher_predicted_share"] = (
        (np.bincount(probs.argmax(1), minlength=probs.shape[1]) / len(probs)).round(4).tolist()
    )
    return np.asarray(estimate.prior), probs


def prepare_stage2(
    model,
    tokenizer,
    data: TransferData,
    args: TransferArguments,
    *,
    num_items: int,
    max_length: int,
    seed: int,
    states_cache: dict | None = None,
    eval_batch_size: int = 64,
    posteriors_cache_dir: Path | None = None,
    distill_cache: dict | None = None,
) -> tuple[list[dict], dict]:
    """Everything the frozen teacher (the model as it is now) gives stage 2, computed once, and the stage-2 items.

    `posteriors_cache_dir` (the stage-1 teacher's folder) keeps the teacher's posteriors for reuse; give it only
    while the model still is that teacher (the first round). `states_cache` and `distill_cache` (English text ->
    teacher BiGRU states / teacher posterior) carry the frozen teacher's outputs into later rounds.

    Returns:
        `(items, record)`: the items (with cached teacher states) and what was estimated and selected.
    """
    num_labels = model.config.num_labels
    english_labels = np.asarray(data.english_labels)
    source_prior = np.bincount(english_labels, minlength=num_labels) / len(english_labels)
    record: dict[str, Any] = {"source_prior": source_prior.round(4).tolist()}
    start = time.perf_counter()
    pseudo_targets, pseudo_labels = {}, {}
    if data.unlabelled:
        prior, probs = _estimate_prior(
            model, tokenizer, data, args, record, source_prior, max_length, eval_batch_size, posteriors_cache_dir
        )
        adjusted = adjust_posteriors(probs, source_prior, prior)
        if args.self_training or args.unlabelled_pairing == "pseudo-label":
            pseudo = select_pseudo_labels(
                adjusted, prior, args.pseudo_fraction, args.pseudo_threshold, args.soft_labels, args.soft_temperature
            )
            record["pseudo_labels"] = pseudo.summary()
            pseudo_labels = {int(i): int(y) for i, y in zip(pseudo.indices, pseudo.labels)}
            if args.self_training:
                pseudo_targets = {int(i): t * args.pseudo_weight for i, t in zip(pseudo.indices, pseudo.targets)}
    else:  # supervised: every Burmese review is labelled, so the target prior is the labels' own
        prior = class_prior(data.target_labels, num_labels)  # smoothed as the imbalance handling smooths it
        record["target_prior"] = {"prior": prior.round(4).tolist(), "fallback": None, "from": "target labels"}
    source_weights = None
    if args.domain_importance_weights:
        ratio = prior / np.maximum(source_prior, 1e-6)  # pi_t(y) / pi_s(y)
        source_weights = ratio / float((ratio * source_prior).sum())  # mean weight 1 over the English rows
        record["source_domain_weights"] = source_weights.round(4).tolist()
    streams = Stage2Streams(
        english_texts=data.english_texts,
        english_labels=data.english_labels,
        parallel=data.parallel if args.parallel_share > 0 else [],
        unlabelled=data.unlabelled,
        pseudo_targets=pseudo_targets,
        pseudo_labels=pseudo_labels,
        source_weights=source_weights,
        labelled=list(zip(data.target_texts, data.target_labels)),
    )
    items = build_stage2_items(
        streams,
        num_items,
        parallel_share=args.parallel_share,
        pairing=args.unlabelled_pairing,
        shuffle_parallel=args.shuffle_parallel,
        seed=seed,
        labelled_share=args.labelled_share,
    )
    if args.parallel_distillation > 0:
        record["distilled"] = attach_distillation_targets(
            model, tokenizer, items, args.parallel_distillation, distill_cache, max_length, eval_batch_size
        )
    wanted = sorted({it["teacher_text"] for it in items if it["teacher_text"] is not None})
    cache = states_cache if states_cache is not None else {}
    missing = [t for t in wanted if t not in cache]
    if missing and model.dual_path is not None:
        states = teacher_states(model, tokenizer, missing, max_length=max_length, batch_size=eval_batch_size)
        # each row its own storage: under DDP the items are pickled for the broadcast, and a row that is a view of the
        # whole (N, M, k) tensor would carry all of it, once per item
        cache.update((text, row.clone()) for text, row in zip(missing, states))
    if model.dual_path is None:
        for it in items:
            it["teacher_text"] = None
    attach_teacher_states(items, cache)
    record["items"] = {
        "total": len(items),
        "parallel": sum(1 for it in items if it["stream"] == "parallel"),
        "with_teacher_pair": sum(1 for it in items if it["teacher_states"] is not None),
        "with_pseudo_label": sum(1 for it in items if it["stream"] == "unlabelled" and it["soft_label"] is not None),
        "labelled": sum(1 for it in items if it["stream"] == "labelled"),
    }
    # the bytes of the items' teacher states, and of the storages they hold (equal: no item holds more than its own)
    held = {id(it["teacher_states"]): it["teacher_states"] for it in items if it["teacher_states"] is not None}
    record["items"]["teacher_states_bytes"] = sum(t.nbytes for t in held.values())
    record["items"]["teacher_states_storage_bytes"] = sum(t.untyped_storage().nbytes() for t in held.values())
    record["teacher_seconds"] = round(time.perf_counter() - start, 1)
    return items, record


def attach_distillation_targets(
    model, tokenizer, items: list[dict], weight: float, cache: dict | None, max_length: int, batch_size: int
) -> int:
    """Cross-lingual distillation (beyond the paper): every parallel item's `soft_label` becomes the frozen teacher's
    posterior on its English side (the teacher path, as English is read in stage 1), times `weight`. With
    `shuffle_parallel` the English side is the shuffled partner, so the control breaks this link too.

    `cache` (English text -> posterior) must hold the stage-1 teacher's outputs: later rounds, where the model is the
    student, read them from it. Returns the number of items that got a target."""
    cache = cache if cache is not None else {}
    parallel = [it for it in items if it["stream"] == "parallel" and it["teacher_text"] is not None]
    missing = sorted({it["teacher_text"] for it in parallel} - set(cache))
    if missing:
        probs = teacher_posteriors(
            model, tokenizer, missing, language="en", max_length=max_length, batch_size=batch_size
        )  # (N, C)
        cache.update(zip(missing, probs))
    for it in parallel:
        it["soft_label"] = np.asarray(cache[it["teacher_text"]], dtype=np.float64) * weight  # (C,), mass = weight
    return len(parallel)


def match_decision_to_prior(model, tokenizer, texts: list[str], prior, max_length: int, batch_size: int) -> dict:
    """Shift the classifier's output bias (the logits of both paths) so that the model, as it is now, predicts each
    class on `prior`'s share of `texts` (:func:`.prior.prior_matching_bias`). The saved checkpoint carries the
    shifted bias, so inference needs nothing new. Returns what was done, for `train_config.json`."""
    import torch

    from .prior import prior_matching_bias

    def shift() -> tuple[np.ndarray, dict]:  # the main process's computation (one process under DDP)
        probs = teacher_posteriors(
            model, tokenizer, texts, language="my", max_length=max_length, batch_size=batch_size
        )
        log_probs = np.log(np.clip(probs, 1e-30, None))  # (N, C): the logits up to a per-row constant
        bias = prior_matching_bias(log_probs, np.asarray(prior, dtype=np.float64))
        num_labels = probs.shape[1]
        before = np.bincount(log_probs.argmax(1), minlength=num_labels) / len(probs)
        after = np.bincount((log_probs + bias).argmax(1), minlength=num_labels) / len(probs)
        return bias, {
            "prior": np.round(prior, 4).tolist(),
            "bias": np.round(bias, 4).tolist(),
            "rows": len(texts),
            "predicted_share_before": before.round(4).tolist(),
            "predicted_share_after": after.round(4).tolist(),
        }

    bias, record = computed_once(shift)  # every process shifts its copy by the same, exact bias
    out_proj = model.classifier.out_proj
    with torch.no_grad():
        out_proj.bias += torch.as_tensor(bias, dtype=out_proj.bias.dtype, device=out_proj.bias.device)
    logger.info("prior matching: %s", record)
    return record


def fit_ngram_view(
    model, tokenizer, data: TransferData, args: TransferArguments, prior, max_length: int, batch_size: int
) -> dict:
    """The n-gram view (:mod:`.ngram_view`), fitted on the student's posteriors on the unlabelled reviews under the
    estimated `prior`'s quotas, and on the labelled reviews' gold labels (few-shot, supervised).

    Under DDP the main process fits it and every other process receives the fitted head (its weights and its config
    entry), so all of them score with the same view."""
    from ..ngram_head import NgramHead

    def fit() -> tuple[dict, dict, dict]:  # the main process's computation (one process under DDP)
        posteriors = None
        if data.unlabelled:  # the student alone: the model has no n-gram view yet
            posteriors = teacher_posteriors(
                model, tokenizer, data.unlabelled, language="my", max_length=max_length, batch_size=batch_size
            )
        fitted = fit_ngram_head(
            model,
            tokenizer,
            data.unlabelled,
            posteriors,
            prior,
            fraction=args.ngram_fraction,
            weight=args.ngram_weight,
            C=args.ngram_C,
            max_length=max_length,
            batch_size=batch_size,
            labelled_texts=data.target_texts,
            labelled_labels=data.target_labels,
        )
        state = {k: v.detach().cpu() for k, v in model.ngram_head.state_dict().items()}
        return fitted, state, dict(model.config.ngram_head)

    record, state, spec = computed_once(fit)
    if process_group()[0] != 0:  # the main process's head, as it fitted it
        head = NgramHead(spec, model.config.num_labels)
        head.load_state_dict(state)
        model.ngram_head = head.to(next(model.parameters()).device)
        model.config.ngram_head = spec
    record["processes"] = rank_records(ngram_head=model.ngram_head.state_dict())
    logger.info("n-gram view: %s", record)
    return record


def run_two_stage(
    model,
    tokenizer,
    data: TransferData,
    args: TransferArguments,
    training_args,
    collator: CTAMCollator,
    make_trainer: Callable,
    output_dir: str | os.PathLike,
    resume: bool = False,
    find_checkpoint: Callable | None = None,
    label_loss_for: Callable | None = None,
) -> dict:
    """Stage 1, then `self_training_rounds` rounds of stage 2; resumable in either stage.

    With `resume`, a finished stage 1 is read back from `stage1/teacher.safetensors` (the frozen teacher's outputs are
    deterministic, so they are recomputed), and each stage continues from the newest intact checkpoint in its folder
    (`find_checkpoint(folder)`, default transformers' `get_last_checkpoint`). Without it, each stage starts afresh.

    Args:
        model (`CTAMForSequenceClassification`): built with its preset; trained in place.
        make_trainer (`Callable`): `(model, training_args, train_dataset, data_collator, source_label_loss=None) ->
            CTAMTrainer`; `source_label_loss` is the stage's English-path eq. 12 adjustment (a `LabelLoss` or None),
            the trainer's policy for that stage (the model keeps none).
        training_args (`TrainingArguments`): the run's arguments; each stage derives its own (folder, steps).
        label_loss_for (`Callable`, *optional*): labels -> the run's imbalance handling for them (a `LabelLoss` or
            None; modeling_ctam.training.imbalance). The few-shot and supervised settings give it: stage 1's teacher
            path is handled by the prior of its English and Burmese labels, stage 2's English stream by its own; each
            stage's trainer gets its own.

    Returns:
        `dict`: the record of both stages (written by the caller into `train_config.json`).
    """
    output_dir = Path(output_dir)
    data = data.hold_out(args.heldout_fraction, training_args.seed)
    record: dict[str, Any] = {
        "recipe": "two-stage",
        "arguments": dataclasses.asdict(args),
        "english_rows": len(data.english_texts),
        "english_heldout": len(data.heldout_texts),
    }
    run_start = time.perf_counter()
    record.update(
        run_stage1(
            model,
            tokenizer,
            data,
            args,
            training_args,
            collator,
            make_trainer,
            output_dir,
            resume,
            find_checkpoint,
            label_loss_for if data.target_labels else None,
        )
    )
    stage2_source_label_loss = None
    if label_loss_for is not None and data.target_labels:  # stage 2: the English stream is the English rows alone
        stage2_source_label_loss = label_loss_for(data.english_labels)
    cfg = model.config
    if args.stage2_lambda_align is not None:
        cfg.lambda_align = args.stage2_lambda_align
    if args.stage2_lambda_domain is not None:
        cfg.lambda_domain = args.stage2_lambda_domain
    if model.dual_path is not None:
        model.dual_path.student_starts_as_teacher()  # the student BiGRU starts as the trained teacher BiGRU
    per_step = (
        training_args.per_device_train_batch_size
        * training_args.gradient_accumulation_steps
        * max(1, training_args.world_size)
    )
    states_cache: dict = {}
    distill_cache: dict = {}
    rounds = []
    for round_index in range(args.self_training_rounds):
        round_dir = (
            output_dir / STAGE2_DIR if round_index == 0 else output_dir / f"{STAGE2_DIR}-round{round_index + 1}"
        )
        # the frozen teacher's outputs and the items: computed by the main process, the same on every process
        items, round_record = computed_once(
            lambda: prepare_stage2(
                model,
                tokenizer,
                data,
                args,
                num_items=args.stage2_steps * per_step,
                max_length=collator.max_length,
                seed=training_args.seed + round_index,
                states_cache=states_cache,
                eval_batch_size=training_args.per_device_eval_batch_size,
                posteriors_cache_dir=teacher_file(args, output_dir).parent if round_index == 0 else None,
                distill_cache=distill_cache,
            )
        )
        round_record["processes"] = rank_records(
            items=items, pseudo_labels=[(it["text"], it["soft_label"]) for it in items if it["stream"] == "unlabelled"]
        )
        stage_args = _stage_args(training_args, round_dir, args.stage2_steps, args.stage2_learning_rate)
        trainer = make_trainer(
            model,
            stage_args,
            ItemDataset(items),
            Stage2Collator(collator, cfg.num_labels),
            source_label_loss=stage2_source_label_loss,
        )
        stage_start = time.perf_counter()
        trainer.train(resume_from_checkpoint=_resume_point(round_dir, resume, find_checkpoint))
        round_record["stage2_seconds"] = round(time.perf_counter() - stage_start, 1)
        round_record["log_history"] = [h for h in trainer.state.log_history if "loss" in h][-3:]
        rounds.append(round_record)
        logger.info(
            "stage 2 round %d: %s",
            round_index + 1,
            json.dumps({k: v for k, v in round_record.items() if k != "log_history"}),
        )
    record["stage2_rounds"] = rounds
    if args.match_prior:  # on the unlabelled reviews; supervised (none unlabelled): the labelled ones, their prior
        record["prior_matching"] = match_decision_to_prior(
            model,
            tokenizer,
            data.unlabelled or data.target_texts,
            rounds[0]["target_prior"]["prior"],
            collator.max_length,
            training_args.per_device_eval_batch_size,
        )
    if args.ngram_view:  # the second view, fitted on the final student's pseudo-labels (and any gold labels)
        record["ngram_view"] = fit_ngram_view(
            model,
            tokenizer,
            data,
            args,
            rounds[0]["target_prior"]["prior"],
            collator.max_length,
            training_args.per_device_eval_batch_size,
        )
    record["global_step"] = record["stage1_steps"] + args.stage2_steps * args.self_training_rounds
    record["train_runtime_s"] = round(time.perf_counter() - run_start, 1)
    return record
