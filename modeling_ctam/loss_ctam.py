"""The training forward of [`CTAMForSequenceClassification`] and its eq. 12-13 loss (method.md section 3).

Stage 1 runs the English teacher path alone (`_teacher_only`). The dual-path forward encodes both paths (one joint
encoder pass when the encoder is shared) and adds each path's share of `L = l1 L_T + l2 L_R + l3 L_S`: the English
(teacher-path) rows' and the Burmese (student-path) rows'. The shares are exact parts, because the teacher's states
enter `L_R` detached (eq. 10), so [`CTAMLossMixin.path_by_path_losses`] can run a backward pass after each one (less
peak memory, the same gradients).

This file is part of the flat set of files copied next to a checkpoint on the Hub: it imports nothing from the package
but its flat siblings.
"""

from __future__ import annotations

import torch
from torch import nn

from .domain import grl_strength
from .dual_path import layer_summaries
from .outputs_ctam import CTAMModelOutput, CTAMSequenceClassifierOutput, PathTerms
from .vxlm import NOT_A_WORD, gate_mean, word_ids_from_start_table


def _pad_to(x: torch.Tensor, length: int, value) -> torch.Tensor:
    return x if x.shape[1] == length else nn.functional.pad(x, (0, length - x.shape[1]), value=value)


class CTAMLossMixin:
    """The training forward of [`CTAMForSequenceClassification`]: the teacher path alone (stage 1), both paths with
    each one's share of eq. 13, the labels' checks, and the path-by-path backward. Uses the model's `ctam`,
    `classifier`, `dual_path`, `domain_discriminator` and `config`."""

    # ------------------------------------------------------------------ the training forward of both paths
    def _teacher_only(
        self, source_input_ids, source_attention_mask, source_token_type_ids, source_word_ids, source_labels
    ) -> CTAMSequenceClassifierOutput:
        """Stage 1: English text through the teacher path (no mapping): `l1 (L_T + L_teacher_head)`."""
        if source_attention_mask is None:
            source_attention_mask = torch.ones_like(source_input_ids)
        teacher = self.ctam(
            source_input_ids, source_attention_mask, source_token_type_ids, source_word_ids, is_target=False
        )
        logits = self.classifier(teacher.pooler_output)  # (Bs, C)
        loss_cls = self._cls_loss(logits, source_labels)
        loss_teacher = None
        if loss_cls is not None and self.dual_path is not None and self.dual_path.teacher_head is not None:
            t_seq = layer_summaries(
                teacher.hidden_states, source_attention_mask, self.config.resolved_align_layers
            ).detach()  # (Bs, M, d)
            head_logits = self.dual_path.teacher_head_logits(self.dual_path.teacher_states(t_seq))  # (Bs, C)
            loss_teacher = self._cls_loss(head_logits, source_labels)
        loss = None
        if loss_cls is not None:
            loss = self.config.lambda_cls * (loss_cls if loss_teacher is None else loss_cls + loss_teacher)
        return CTAMSequenceClassifierOutput(
            loss=loss, logits=logits, loss_cls=loss_cls, loss_teacher=loss_teacher, source_logits=logits
        )

    def _encode_both(
        self,
        input_ids,
        attention_mask,
        token_type_ids,
        word_ids,
        source_input_ids,
        source_attention_mask,
        source_token_type_ids,
        source_word_ids,
    ):
        """Teacher and student outputs; one joint encoder pass when the encoder is shared."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if source_attention_mask is None:
            source_attention_mask = torch.ones_like(source_input_ids)
        if self.ctam.student_encoder is not None:
            student = self.ctam(input_ids, attention_mask, token_type_ids, word_ids, is_target=True)
            teacher = self.ctam(
                source_input_ids, source_attention_mask, source_token_type_ids, source_word_ids, is_target=False
            )
            return teacher, student, source_attention_mask, attention_mask
        Bs, Bt = source_input_ids.shape[0], input_ids.shape[0]
        T = max(source_input_ids.shape[1], input_ids.shape[1])
        pad_id = self.config.encoder_config.pad_token_id
        pad_id = 0 if pad_id is None else pad_id
        ids = torch.cat([_pad_to(source_input_ids, T, pad_id), _pad_to(input_ids, T, pad_id)])  # (Bs + Bt, T)
        mask = torch.cat([_pad_to(source_attention_mask, T, 0), _pad_to(attention_mask, T, 0)])  # (Bs + Bt, T)
        types = None
        if token_type_ids is not None or source_token_type_ids is not None:
            types = torch.cat(
                [
                    _pad_to(
                        source_token_type_ids
                        if source_token_type_ids is not None
                        else torch.zeros_like(source_input_ids),
                        T,
                        0,
                    ),
                    _pad_to(token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids), T, 0),
                ]
            )
        words = None
        if word_ids is not None or source_word_ids is not None:
            table_words = lambda i, m: word_ids_from_start_table(i, m, self.ctam.word_start_table)  # noqa: E731
            words = torch.cat(
                [
                    _pad_to(
                        source_word_ids
                        if source_word_ids is not None
                        else table_words(source_input_ids, source_attention_mask),
                        T,
                        NOT_A_WORD,
                    ),
                    _pad_to(
                        word_ids if word_ids is not None else table_words(input_ids, attention_mask), T, NOT_A_WORD
                    ),
                ]
            )
        is_target = torch.cat([torch.zeros(Bs, dtype=torch.bool), torch.ones(Bt, dtype=torch.bool)]).to(ids.device)
        joint = self.ctam(ids, mask, types, words, is_target=is_target)  # one pass over (Bs + Bt, T)

        def part(out: CTAMModelOutput, rows: slice) -> CTAMModelOutput:
            return CTAMModelOutput(
                last_hidden_state=out.last_hidden_state[rows],
                pooler_output=out.pooler_output[rows],
                gate=None if out.gate is None else out.gate[rows],
                static_vectors=None if out.static_vectors is None else out.static_vectors[rows],
                hidden_states=tuple(h[rows] for h in out.hidden_states),
            )

        return part(joint, slice(0, Bs)), part(joint, slice(Bs, Bs + Bt)), mask[:Bs], mask[Bs:]

    def _dual_path(
        self,
        input_ids,
        attention_mask,
        token_type_ids,
        word_ids,
        labels,
        source_input_ids,
        source_attention_mask,
        source_token_type_ids,
        source_word_ids,
        source_labels,
        training_progress,
        output_hidden_states,
        teacher_states=None,
        teacher_weights=None,
        soft_labels=None,
        source_weights=None,
    ) -> CTAMSequenceClassifierOutput:
        teacher, student, teacher_mask, student_mask = self._encode_both(
            input_ids,
            attention_mask,
            token_type_ids,
            word_ids,
            source_input_ids,
            source_attention_mask,
            source_token_type_ids,
            source_word_ids,
        )
        source_labels, labels, labelled_count, strength = self._loss_setup(
            source_labels, labels, source_input_ids, input_ids, training_progress, soft_labels
        )
        n_labelled, n_rows = labelled_count.float().clamp_min(1e-6), source_input_ids.shape[0] + input_ids.shape[0]
        src = self._source_terms(
            teacher,
            teacher_mask,
            source_labels,
            n_labelled,
            n_rows,
            strength,
            cached_teacher=teacher_states is not None,
            source_weights=source_weights,
        )
        tgt = self._target_terms(
            student,
            student_mask,
            labels,
            src,
            n_labelled,
            n_rows,
            strength,
            teacher_states,
            teacher_weights,
            soft_labels,
        )
        loss_cls = (src.ce_sum + tgt.ce_sum) / n_labelled if bool(labelled_count > 0) else None
        loss_domain = None if src.domain_sum is None else (src.domain_sum + tgt.domain_sum) / n_rows
        return CTAMSequenceClassifierOutput(
            loss=src.part + tgt.part,
            logits=tgt.logits,
            loss_cls=loss_cls,
            loss_align=tgt.loss_align,
            loss_domain=loss_domain,
            loss_mapping=tgt.loss_mapping,
            loss_teacher=src.loss_teacher,
            gate_mean=gate_mean(student.gate, student_mask),
            source_logits=src.logits,
            layer_weights=tgt.layer_weights,
            hidden_states=student.hidden_states if output_hidden_states else None,
        )

    # ------------------------------------------------------------------ eq. 13, one path at a time
    def _loss_setup(self, source_labels, labels, source_input_ids, input_ids, training_progress, soft_labels=None):
        """Labels with -100 for missing ones, the labelled-row count (a tensor: no host synchronisation; eq. 12 divides
        by it; soft pseudo-labels count by their weight) and the gradient-reversal strength."""
        device = input_ids.device
        if source_labels is None:
            source_labels = torch.full((source_input_ids.shape[0],), -100, dtype=torch.long, device=device)
        if labels is None:
            labels = torch.full((input_ids.shape[0],), -100, dtype=torch.long, device=device)
        source_labels, labels = source_labels.to(device).view(-1), labels.to(device).view(-1)
        self._checked_labels(torch.cat([source_labels, labels]), device)  # both paths in one check
        count = (source_labels != -100).sum() + (labels != -100).sum()
        if soft_labels is not None:
            count = count + soft_labels.float().sum()
        cfg = self.config
        return (
            source_labels,
            labels,
            count,
            grl_strength(training_progress, cfg.grl_schedule, cfg.grl_lambda, cfg.grl_gamma),
        )

    def _cls_sum(self, logits: torch.Tensor, labels: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Eq. 12 cross-entropy summed over one path's labelled rows (the caller divides by all labelled rows).
        `labels` come from `_loss_setup`, which checked them. In training, the path's `label_loss` /
        `source_label_loss` set by the trainer (class weights or Menon et al. 2021 logit offsets,
        modeling_ctam.training.imbalance) applies."""
        adjust = getattr(self, "label_loss" if target else "source_label_loss", None) if self.training else None
        weight = None
        if adjust is not None:
            logits, weight = adjust(logits)
        return nn.functional.cross_entropy(logits.float(), labels, weight=weight, ignore_index=-100, reduction="sum")

    @staticmethod
    def _soft_cls_sum(logits: torch.Tensor, soft_labels: torch.Tensor) -> torch.Tensor:
        """Eq. 12 against soft pseudo-labels `(B, C)` (rows sum to their weight), summed over rows."""
        assert soft_labels.shape == logits.shape, (
            f"soft_labels {tuple(soft_labels.shape)} vs logits {tuple(logits.shape)}"
        )
        return -(soft_labels.float() * torch.log_softmax(logits.float(), dim=-1)).sum()

    def _source_terms(
        self,
        teacher: CTAMModelOutput,
        mask,
        source_labels,
        n_labelled,
        n_rows,
        strength,
        cached_teacher: bool = False,
        source_weights=None,
    ) -> PathTerms:
        """The English rows' share of eq. 13: `l1 L_T` and `l3 L_S` over them, and `T_1..T_M` for eq. 10 (unless the
        target rows bring cached teacher states), with the teacher head's loss when it is on."""
        cfg = self.config
        logits = self.classifier(teacher.pooler_output)  # (Bs, C)  teacher path
        ce_sum = self._cls_sum(logits, source_labels)
        part = cfg.lambda_cls * ce_sum / n_labelled
        domain_sum = None
        if self.domain_discriminator is not None:  # eq. 11, source rows (importance-weighted when weights are given)
            domain_sum = self.domain_discriminator(teacher.pooler_output, True, strength, source_weights)
            part = part + cfg.lambda_domain * domain_sum / n_rows
        terms = PathTerms(part=part, ce_sum=ce_sum, domain_sum=domain_sum, logits=logits)
        if self.dual_path is not None and not cached_teacher:
            # (Bs, M, d) T_1..T_M, detached: eq. 10 trains the student side only
            terms.t_seq = layer_summaries(teacher.hidden_states, mask, cfg.resolved_align_layers).detach()
            if self.dual_path.teacher_head is not None:  # the teacher BiGRU's own signal (departure, method.md 3)
                terms.t_states = self.dual_path.teacher_states(terms.t_seq)  # (Bs, M, k)
                head_sum = self._cls_sum(self.dual_path.teacher_head_logits(terms.t_states), source_labels)
                terms.loss_teacher = head_sum / n_labelled
                terms.part = terms.part + cfg.lambda_cls * terms.loss_teacher
        return terms

    def _target_terms(
        self,
        student: CTAMModelOutput,
        mask,
        labels,
        src: PathTerms,
        n_labelled,
        n_rows,
        strength,
        teacher_states=None,
        teacher_weights=None,
        soft_labels=None,
    ) -> PathTerms:
        """The Burmese rows' share of eq. 13: `l1 L_T` (gold or pseudo-labels) and `l3 L_S` over them, `l2 L_R` and
        the mapping losses."""
        cfg = self.config
        logits = self.classifier(student.pooler_output)  # (Bt, C)  student path
        ce_sum = self._cls_sum(logits, labels, target=True)
        if soft_labels is not None:  # self-training: the frozen teacher's soft pseudo-labels
            ce_sum = ce_sum + self._soft_cls_sum(logits, soft_labels)
        part = cfg.lambda_cls * ce_sum / n_labelled
        terms = PathTerms(part=part, ce_sum=ce_sum, logits=logits)
        if self.dual_path is not None:
            s_seq = layer_summaries(student.hidden_states, mask, cfg.resolved_align_layers)  # (Bt, M, d) S_1..S_M
            if teacher_states is not None:  # (Bt, M, k) cached frozen-teacher states, one per target row
                terms.loss_align, _, terms.layer_weights = self.dual_path(
                    s_seq, teacher_states=teacher_states, row_weights=teacher_weights
                )  # eq. 10
            else:  # pairs: the i-th target example with the i-th source example
                n = min(src.t_seq.shape[0], s_seq.shape[0])
                t_states = None if src.t_states is None else src.t_states[:n]
                terms.loss_align, _, terms.layer_weights = self.dual_path(
                    s_seq[:n], src.t_seq[:n], teacher_states=t_states
                )  # eq. 10
            terms.part = terms.part + cfg.lambda_align * terms.loss_align
        if self.domain_discriminator is not None:  # eq. 11, target rows
            terms.domain_sum = self.domain_discriminator(student.pooler_output, False, strength)
            terms.part = terms.part + cfg.lambda_domain * terms.domain_sum / n_rows
        terms.loss_mapping = self.ctam.mapping_loss()
        if terms.loss_mapping is not None:
            terms.part = terms.part + terms.loss_mapping
        return terms

    def _checked_labels(self, labels: torch.Tensor, device: torch.device) -> torch.Tensor:
        labels = labels.to(device).view(-1)
        bad = labels[(labels != -100) & ((labels < 0) | (labels >= self.num_labels))]
        if bad.numel():
            raise ValueError(
                f"label {int(bad[0])} is outside 0..{self.num_labels - 1} (num_labels={self.num_labels}); "
                "check the label scheme (binary / three-class) of the data against the model's id2label."
            )
        return labels

    def _cls_loss(
        self, logits: torch.Tensor, labels: torch.Tensor | None, target: bool = False
    ) -> torch.Tensor | None:
        if labels is None:
            return None
        labels = self._checked_labels(labels, logits.device)
        count = (labels != -100).sum()
        if not bool(count > 0):
            return None
        return self._cls_sum(logits, labels, target) / count

    # ------------------------------------------------------------------ path-by-path backward
    _PATH_BY_PATH_INPUTS = (
        "attention_mask",
        "token_type_ids",
        "word_ids",
        "labels",
        "source_attention_mask",
        "source_token_type_ids",
        "source_word_ids",
        "source_labels",
        "teacher_states",
        "teacher_weights",
        "soft_labels",
        "source_weights",
        "training_progress",
    )

    def path_by_path_losses(self, input_ids: torch.LongTensor, source_input_ids: torch.LongTensor, **inputs):
        r"""The eq. 13 training loss in two exact parts, for a backward pass after each path (less peak memory).

        Takes the inputs of [`forward`]'s training call (`input_ids`, `source_input_ids` and, by keyword, the optional
        ones: masks, word ids, labels, the stage-2 `teacher_states` / `teacher_weights` / `soft_labels` /
        `source_weights`, `training_progress`).

        The teacher's states enter `L_R` detached (eq. 10), so `L = l1 L_T + l2 L_R + l3 L_S` splits into a source
        part (`L_T` and `L_S` terms of the English rows) and a target part (`L_T` and `L_S` terms of the Burmese rows,
        `L_R`, the mapping losses). A generator: it yields the source part, and after the caller's backward frees the
        source activations it runs the student path and yields the target part. The two gradients add up to the
        joint forward's (tested); peak activation memory is that of one path.

        Yields:
            `(torch.Tensor, dict)`: the part's loss (a scalar to call `backward` on) and, with the last part, the
            components `loss`, `loss_cls`, `loss_align`, `loss_domain`, `loss_mapping`, `loss_teacher`, `gate_mean`
            (detached).
        """
        unknown = sorted(set(inputs) - set(self._PATH_BY_PATH_INPUTS))
        if unknown:
            raise TypeError(
                f"path_by_path_losses got unexpected inputs {unknown}; it takes {self._PATH_BY_PATH_INPUTS}."
            )
        get = inputs.get
        attention_mask, source_attention_mask = get("attention_mask"), get("source_attention_mask")
        labels, source_labels = get("labels"), get("source_labels")
        teacher_states, soft_labels = get("teacher_states"), get("soft_labels")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if source_attention_mask is None:
            source_attention_mask = torch.ones_like(source_input_ids)
        source_labels, labels, count, strength = self._loss_setup(
            source_labels, labels, source_input_ids, input_ids, get("training_progress"), soft_labels
        )
        n_labelled, n_rows = count.float().clamp_min(1e-6), source_input_ids.shape[0] + input_ids.shape[0]
        teacher = self.ctam(
            source_input_ids,
            source_attention_mask,
            get("source_token_type_ids"),
            get("source_word_ids"),
            is_target=False,
        )  # English rows, no mapping
        src = self._source_terms(
            teacher,
            source_attention_mask,
            source_labels,
            n_labelled,
            n_rows,
            strength,
            cached_teacher=teacher_states is not None,
            source_weights=get("source_weights"),
        )
        del teacher
        yield src.part, {}
        student = self.ctam(
            input_ids, attention_mask, get("token_type_ids"), get("word_ids"), is_target=True
        )  # Burmese, mapped
        tgt = self._target_terms(
            student,
            attention_mask,
            labels,
            src,
            n_labelled,
            n_rows,
            strength,
            teacher_states,
            get("teacher_weights"),
            soft_labels,
        )
        detached = lambda t: None if t is None else t.detach()  # noqa: E731
        components = {
            "loss": src.part.detach() + tgt.part.detach(),
            "loss_cls": (src.ce_sum.detach() + tgt.ce_sum.detach()) / n_labelled,
            "loss_align": detached(tgt.loss_align),
            "loss_domain": None
            if src.domain_sum is None
            else (src.domain_sum.detach() + tgt.domain_sum.detach()) / n_rows,
            "loss_mapping": detached(tgt.loss_mapping),
            "loss_teacher": detached(src.loss_teacher),
            "gate_mean": gate_mean(student.gate, attention_mask),
        }
        yield tgt.part, components
