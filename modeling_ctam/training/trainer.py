"""`CTAMTrainer`: a `transformers.Trainer` that optimises CTAM's eq. 13 composite loss and logs each component."""

from __future__ import annotations

from collections import defaultdict

import torch
from transformers import Trainer

from .imbalance import LabelLoss

LOSS_COMPONENTS = ("loss_cls", "loss_align", "loss_domain", "loss_mapping", "loss_teacher", "gate_mean")


class CTAMTrainer(Trainer):
    """Trainer for [`CTAMForSequenceClassification`].

    - `compute_loss` passes the fraction of training done (`training_progress`) so the gradient-reversal strength
      follows the DANN ramp, and returns the composite loss `l1 L_T + l2 L_R + l3 L_S`.
    - Each component (`loss_cls`, `loss_align`, `loss_domain`, `loss_mapping`) and the mean gate value are averaged
      over the optimisation steps since the last log and logged beside `loss`.
    - The model reports `accepts_loss_kwargs = False`, so Trainer divides the per-batch mean loss by the gradient
      accumulation steps itself: accumulation 2 at half batch gives the update of accumulation 1 at full batch (for
      `align_reduction="normalized"`, up to `L_R`'s variance, which each micro-batch estimates on its own rows).
    - Labels: only the target `labels` are prediction labels (`label_names=["labels"]` unless set otherwise).
    - `path_by_path=True` runs the backward pass after each path (`CTAMForSequenceClassification.path_by_path_losses`):
      the same gradients as the joint pass, with the peak activation memory of one path. One process only.
    - `train_sampler`: a sampler over the training items instead of the Trainer's random one (the class-balanced
      sampler of `modeling_ctam.training.imbalance`).
    - `label_loss` / `source_label_loss`: the run's class-imbalance handling of each path's eq. 12 (logit offsets or
      class weights, a [`LabelLoss`] of `modeling_ctam.training.imbalance`). The trainer owns this policy: it hands
      it to `forward` as `logit_offsets` / `class_weights` (`source_logit_offsets` / `source_class_weights`) in
      training steps only, so that evaluation, and the saved model, compute plain eq. 12. The two-stage recipe builds
      one trainer per stage, each with its stage's policy.
    """

    def __init__(
        self,
        *args,
        path_by_path: bool = False,
        train_sampler=None,
        label_loss: LabelLoss | None = None,
        source_label_loss: LabelLoss | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.path_by_path = path_by_path
        self.train_sampler = train_sampler
        self.label_loss = label_loss
        self.source_label_loss = source_label_loss
        if path_by_path and (self.args.world_size > 1 or self.args.n_gpu > 1):
            raise ValueError(
                "path_by_path backward runs on one process and one device: each path's forward bypasses the "
                "DistributedDataParallel wrapper. For several processes, lower the per-path batch and raise "
                "gradient_accumulation_steps, or use gradient_checkpointing."
            )
        if self.args.label_names is None:
            self.label_names = ["labels"]
        # running sums kept as tensors on the device: no host synchronisation per step, one at logging time
        self._component_sums: dict[str, torch.Tensor] = {}
        self._component_counts: dict[str, int] = defaultdict(int)

    def _get_train_sampler(self, train_dataset=None):
        if self.train_sampler is not None:
            return self.train_sampler
        return super()._get_train_sampler(train_dataset)

    def _label_loss_inputs(self) -> dict[str, torch.Tensor]:
        """The `forward` arguments of this run's eq. 12 adjustments (training steps only)."""
        inputs = {}
        if self.label_loss is not None:
            inputs.update(self.label_loss.forward_kwargs(source=False))
        if self.source_label_loss is not None:
            inputs.update(self.source_label_loss.forward_kwargs(source=True))
        return inputs

    def _training_progress(self) -> float | None:
        max_steps = getattr(self.state, "max_steps", 0) or 0
        return self.state.global_step / max_steps if max_steps > 0 else None

    def _record_components(self, outputs) -> None:
        for name in LOSS_COMPONENTS:
            value = outputs.get(name)
            if value is not None:
                value = value.detach().float()
                prev = self._component_sums.get(name)
                self._component_sums[name] = value if prev is None else prev + value
                self._component_counts[name] += 1

    def training_step(self, model, inputs, num_items_in_batch=None):
        if not (self.path_by_path and "source_input_ids" in inputs):
            return super().training_step(model, inputs, num_items_in_batch)
        model.train()
        inputs = self._prepare_inputs(inputs)
        parts = self.accelerator.unwrap_model(model).path_by_path_losses(
            **inputs, training_progress=self._training_progress(), **self._label_loss_inputs()
        )
        total = None
        while True:
            with self.compute_loss_context_manager(), self.accelerator.autocast():  # forward under autocast only
                step = next(parts, None)
            if step is None:
                break
            part, components = step
            part = part / self.current_gradient_accumulation_steps  # as Trainer scales a per-batch mean loss
            self.accelerator.backward(part)  # frees this path's activations before the next path runs
            total = part.detach() if total is None else total + part.detach()
        self._record_components(components)
        return total

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if "source_input_ids" in inputs:
            inputs = {**inputs, "training_progress": self._training_progress()}
        if model.training:  # the run's eq. 12 adjustments; evaluation scores plain eq. 12
            inputs = {**inputs, **self._label_loss_inputs()}
        outputs = model(**inputs)
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs[0]
        if model.training and isinstance(outputs, dict):
            self._record_components(outputs)
        return (loss, outputs) if return_outputs else loss

    def log(self, logs: dict[str, float], *args, **kwargs) -> None:
        if "loss" in logs and self._component_counts:
            for name, count in self._component_counts.items():
                total = self._component_sums[name]
                if self.args.world_size > 1:  # average over processes like Trainer does for `loss`
                    total = self.accelerator.reduce(total, reduction="mean")
                logs[name] = round(float(total) / max(count, 1), 6)
            self._component_sums.clear()
            self._component_counts.clear()
        super().log(logs, *args, **kwargs)


__all__ = ["CTAMTrainer", "LOSS_COMPONENTS"]
