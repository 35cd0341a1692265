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

import dataclasses
from dataclasses import dataclass

import torch
from torch import nn

from .domain import grl_strength
from .dual_path import layer_summaries
from .outputs_ctam import CTAMModelOutput, CTAMSequenceClassifierOutput, PathTerms
from .vxlm import NOT_A_WORD, gate_mean, word_ids_from_start_table


def _pad_to(x: torch.Tensor, length: int, value) -> torch.Tensor:
    return x if x.shape[1] == length else nn.functional.pad(x, (0, length - x.shape[1]), value=value)


@dataclass
class PathInputs:
    r"""One path's batch in the training forward: the English rows (source, teacher path) or the Burmese rows (target,
    student path).

    Args:
        input_ids (`torch.LongTensor` of shape `(B, T)`): token ids.
        attention_mask (`torch.Tensor` of shape `(B, T)`, *optional*): 1 for real tokens.
        token_type_ids (`torch.LongTensor` of shape `(B, T)`, *optional*): passed to the encoder when given.
        word_ids (`torch.LongTensor` of shape `(B, T)`, *optional*): eq. 1 word index per token.
        labels (`torch.LongTensor` of shape `(B,)`, *optional*): class ids, -100 where unknown.
        logit_offsets (`torch.FloatTensor` of shape `(num_labels,)`, *optional*): added to this path's logits inside
            eq. 12 only (logit adjustment).
        class_weights (`torch.FloatTensor` of shape `(num_labels,)`, *optional*): class weights of this path's eq. 12.
    """

    input_ids: torch.LongTensor
    attention_mask: torch.Tensor | None = None
    token_type_ids: torch.LongTensor | None = None
    word_ids: torch.LongTensor | None = None
    labels: torch.LongTensor | None = None
    logit_offsets: torch.Tensor | None = None
    class_weights: torch.Tensor | None = None

    def with_mask(self) -> PathInputs:
        """These inputs with an all-ones `attention_mask` when none was given."""
        if self.attention_mask is not None:
            return self
        return dataclasses.replace(self, attention_mask=torch.ones_like(self.input_ids))


@dataclass
class LossSetup:
    """What both paths' shares of eq. 13 need: the checked labels of each path (-100 where unknown) with its eq. 12
    adjustment (logit offsets, class weights; None for plain cross-entropy), the count of labelled rows (soft
    pseudo-labels count by their weight; eq. 12 divides by it), the row count of both paths (the mean of `L_S`) and the
    gradient-reversal strength."""

    source: PathInputs
    target: PathInputs
    labelled_count: torch.Tensor
    n_labelled: torch.Tensor
    n_rows: int
    strength: float


class CTAMLossMixin:
    """The training forward of [`CTAMForSequenceClassification`]: the teacher path alone (stage 1), both paths with
    each one's share of eq. 13, the labels' checks, and the path-by-path backward. Uses the model's `ctam`,
    `classifier`, `dual_path`, `domain_discriminator` and `config`."""

    # ------------------------------------------------------------------ the training forward of both paths
    def _encode(self, path: PathInputs, is_target: bool, output_attentions: bool | None = None) -> CTAMModelOutput:
        """One path through [`CTAMModel`]: the Burmese rows mapped by eq. 2 (`is_target`), the English rows not."""
        return self.ctam(
            path.input_ids,
            path.attention_mask,
            path.token_type_ids,
            path.word_ids,
            is_target=is_target,
            output_attentions=output_attentions,
            return_dict=True,
        )

    def _teacher_only(self, source: PathInputs) -> CTAMSequenceClassifierOutput:
        """Stage 1: English text through the teacher path (no mapping): `l1 (L_T + L_teacher_head)`."""
        source = source.with_mask()
        teacher = self._encode(source, is_target=False)
        logits = self.classifier(teacher.pooler_output)  # (Bs, C)
        loss_cls = self._cls_loss(logits, source)
        loss_teacher = None
        if loss_cls is not None and self.dual_path is not None and self.dual_path.teacher_head is not None:
            t_seq = layer_summaries(
                teacher.hidden_states, source.attention_mask, self.config.resolved_align_layers
            ).detach()  # (Bs, M, d)
            head_logits = self.dual_path.teacher_head_logits(self.dual_path.teacher_states(t_seq))  # (Bs, C)
            loss_teacher = self._cls_loss(head_logits, source)
        loss = None
        if loss_cls is not None:
            loss = self.config.lambda_cls * (loss_cls if loss_teacher is None else loss_cls + loss_teacher)
        return CTAMSequenceClassifierOutput(
            loss=loss, logits=logits, loss_cls=loss_cls, loss_teacher=loss_teacher, source_logits=logits
        )

    def _encode_both(
        self, target: PathInputs, source: PathInputs, output_attentions: bool | None = None
    ) -> tuple[CTAMModelOutput, CTAMModelOutput, torch.Tensor, torch.Tensor]:
        """Teacher and student outputs and their attention masks (both paths' inputs carry masks); one joint encoder
        pass when the encoder is shared, whose rows keep the joint length (the longer of the two paths', padding
        masked)."""
        if self.ctam.student_encoder is not None:
            student = self._encode(target, is_target=True, output_attentions=output_attentions)
            teacher = self._encode(source, is_target=False)
            return teacher, student, source.attention_mask, target.attention_mask
        Bs, Bt = source.input_ids.shape[0], target.input_ids.shape[0]
        T = max(source.input_ids.shape[1], target.input_ids.shape[1])
        pad_id = self.config.encoder_config.pad_token_id
        pad_id = 0 if pad_id is None else pad_id
        ids = torch.cat([_pad_to(source.input_ids, T, pad_id), _pad_to(target.input_ids, T, pad_id)])  # (Bs + Bt, T)
        mask = torch.cat([_pad_to(source.attention_mask, T, 0), _pad_to(target.attention_mask, T, 0)])  # (Bs + Bt, T)
        types = None
        if target.token_type_ids is not None or source.token_type_ids is not None:
            types = torch.cat(
                [
                    _pad_to(
                        source.token_type_ids
                        if source.token_type_ids is not None
                        else torch.zeros_like(source.input_ids),
                        T,
                        0,
                    ),
                    _pad_to(
                        target.token_type_ids
                        if target.token_type_ids is not None
                        else torch.zeros_like(target.input_ids),
                        T,
                        0,
                    ),
                ]
            )
        words = None
        if target.word_ids is not None or source.word_ids is not None:
            table_words = lambda i, m: word_ids_from_start_table(i, m, self.ctam.word_start_table)  # noqa: E731
            words = torch.cat(
                [
                    _pad_to(
                        source.word_ids
                        if source.word_ids is not None
                        else table_words(source.input_ids, source.attention_mask),
                        T,
                        NOT_A_WORD,
                    ),
                    _pad_to(
                        target.word_ids
                        if target.word_ids is not None
                        else table_words(target.input_ids, target.attention_mask),
                        T,
                        NOT_A_WORD,
                    ),
                ]
            )
        is_target = torch.cat([torch.zeros(Bs, dtype=torch.bool), torch.ones(Bt, dtype=torch.bool)]).to(ids.device)
        joint = self.ctam(
            ids, mask, types, words, is_target=is_target, output_attentions=output_attentions, return_dict=True
        )  # one pass over (Bs + Bt, T)

        def part(out: CTAMModelOutput, rows: slice) -> CTAMModelOutput:
            return CTAMModelOutput(
                last_hidden_state=out.last_hidden_state[rows],
                pooler_output=out.pooler_output[rows],
                gate=None if out.gate is None else out.gate[rows],
                static_vectors=None if out.static_vectors is None else out.static_vectors[rows],
                hidden_states=tuple(h[rows] for h in out.hidden_states),
                attentions=None if out.attentions is None else tuple(a[rows] for a in out.attentions),
            )

        return part(joint, slice(0, Bs)), part(joint, slice(Bs, Bs + Bt)), mask[:Bs], mask[Bs:]

    def _dual_path(
        self,
        target: PathInputs,
        source: PathInputs,
        *,
        teacher_states: torch.Tensor | None = None,
        teacher_weights: torch.Tensor | None = None,
        soft_labels: torch.Tensor | None = None,
        source_weights: torch.Tensor | None = None,
        training_progress: float | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
    ) -> CTAMSequenceClassifierOutput:
        """Both paths in one forward: each path's share of eq. 13 (the keywords as in [`forward`])."""
        target, source = target.with_mask(), source.with_mask()
        teacher, student, teacher_mask, student_mask = self._encode_both(target, source, output_attentions)
        setup = self._loss_setup(target, source, training_progress, soft_labels)
        src = self._source_terms(
            teacher, teacher_mask, setup, cached_teacher=teacher_states is not None, source_weights=source_weights
        )
        tgt = self._target_terms(
            student,
            student_mask,
            setup,
            src,
            teacher_states=teacher_states,
            teacher_weights=teacher_weights,
            soft_labels=soft_labels,
        )
        n_labelled, n_rows = setup.n_labelled, setup.n_rows
        loss_cls = (src.ce_sum + tgt.ce_sum) / n_labelled if bool(setup.labelled_count > 0) else None
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
            attentions=student.attentions if output_attentions else None,
        )

    # ------------------------------------------------------------------ eq. 13, one path at a time
    def _loss_setup(
        self, target: PathInputs, source: PathInputs, training_progress: float | None, soft_labels=None
    ) -> LossSetup:
        """Both paths' labels checked in one go (no host synchronisation but the one error check), and what the
        shares divide by ([`LossSetup`])."""
        device = target.input_ids.device
        source_labels, labels = source.labels, target.labels
        if source_labels is None:
            source_labels = torch.full((source.input_ids.shape[0],), -100, dtype=torch.long, device=device)
        if labels is None:
            labels = torch.full((target.input_ids.shape[0],), -100, dtype=torch.long, device=device)
        source_labels, labels = source_labels.to(device).view(-1), labels.to(device).view(-1)
        self._checked_labels(torch.cat([source_labels, labels]), device)  # both paths in one check
        count = (source_labels != -100).sum() + (labels != -100).sum()
        if soft_labels is not None:
            count = count + soft_labels.float().sum()
        cfg = self.config
        return LossSetup(
            source=dataclasses.replace(source, labels=source_labels),
            target=dataclasses.replace(target, labels=labels),
            labelled_count=count,
            n_labelled=count.float().clamp_min(1e-6),
            n_rows=source.input_ids.shape[0] + target.input_ids.shape[0],
            strength=grl_strength(training_progress, cfg.grl_schedule, cfg.grl_lambda, cfg.grl_gamma),
        )

    @staticmethod
    def _cls_sum(logits: torch.Tensor, labels: torch.Tensor, path: PathInputs) -> torch.Tensor:
        """Eq. 12 cross-entropy summed over one path's labelled rows (the caller divides by all labelled rows), with
        the path's `logit_offsets` (Menon et al. 2021: `-log softmax(f(x) + tau log pi)_y`) and `class_weights` when
        the caller gave them. `labels` were checked by `_loss_setup` or `_checked_labels`."""
        weight = None if path.class_weights is None else path.class_weights.to(logits.device)
        if path.logit_offsets is not None:
            logits = logits.float() + path.logit_offsets.to(logits.device)
        return nn.functional.cross_entropy(logits.float(), labels, weight=weight, ignore_index=-100, reduction="sum")

    @staticmethod
    def _soft_cls_sum(logits: torch.Tensor, soft_labels: torch.Tensor) -> torch.Tensor:
        """Eq. 12 against soft pseudo-labels `(B, C)` (rows sum to their weight), summed over rows."""
        if soft_labels.shape != logits.shape:
            raise ValueError(
                f"soft_labels has shape {tuple(soft_labels.shape)}, but the logits have {tuple(logits.shape)}: give "
                "one row of num_labels pseudo-label weights per target row."
            )
        return -(soft_labels.float() * torch.log_softmax(logits.float(), dim=-1)).sum()

    def _source_terms(
        self,
        teacher: CTAMModelOutput,
        mask: torch.Tensor,
        setup: LossSetup,
        *,
        cached_teacher: bool = False,
        source_weights: torch.Tensor | None = None,
    ) -> PathTerms:
        """The English rows' share of eq. 13: `l1 L_T` and `l3 L_S` over them, and `T_1..T_M` for eq. 10 (unless the
        target rows bring cached teacher states), with the teacher head's loss when it is on."""
        cfg = self.config
        logits = self.classifier(teacher.pooler_output)  # (Bs, C)  teacher path
        ce_sum = self._cls_sum(logits, setup.source.labels, setup.source)
        part = cfg.lambda_cls * ce_sum / setup.n_labelled
        domain_sum = None
        if self.domain_discriminator is not None:  # eq. 11, source rows (importance-weighted when weights are given)
            domain_sum = self.domain_discriminator(teacher.pooler_output, True, setup.strength, source_weights)
            part = part + cfg.lambda_domain * domain_sum / setup.n_rows
        terms = PathTerms(part=part, ce_sum=ce_sum, domain_sum=domain_sum, logits=logits)
        if self.dual_path is not None and not cached_teacher:
            # (Bs, M, d) T_1..T_M, detached: eq. 10 trains the student side only
            terms.t_seq = layer_summaries(teacher.hidden_states, mask, cfg.resolved_align_layers).detach()
            if self.dual_path.teacher_head is not None:  # the teacher BiGRU's own signal (departure, method.md 3)
                terms.t_states = self.dual_path.teacher_states(terms.t_seq)  # (Bs, M, k)
                head_logits = self.dual_path.teacher_head_logits(terms.t_states)  # (Bs, C)
                head_sum = self._cls_sum(head_logits, setup.source.labels, setup.source)
                terms.loss_teacher = head_sum / setup.n_labelled
                terms.part = terms.part + cfg.lambda_cls * terms.loss_teacher
        return terms

    def _target_terms(
        self,
        student: CTAMModelOutput,
        mask: torch.Tensor,
        setup: LossSetup,
        src: PathTerms,
        *,
        teacher_states: torch.Tensor | None = None,
        teacher_weights: torch.Tensor | None = None,
        soft_labels: torch.Tensor | None = None,
    ) -> PathTerms:
        """The Burmese rows' share of eq. 13: `l1 L_T` (gold or pseudo-labels) and `l3 L_S` over them, `l2 L_R` and
        the mapping losses."""
        cfg = self.config
        logits = self.classifier(student.pooler_output)  # (Bt, C)  student path
        ce_sum = self._cls_sum(logits, setup.target.labels, setup.target)
        if soft_labels is not None:  # self-training: the frozen teacher's soft pseudo-labels
            ce_sum = ce_sum + self._soft_cls_sum(logits, soft_labels)
        part = cfg.lambda_cls * ce_sum / setup.n_labelled
        terms = PathTerms(part=part, ce_sum=ce_sum, logits=logits)
        if self.dual_path is not None:
            # (Bt, M, d) S_1..S_M
            s_seq = layer_summaries(student.hidden_states, mask, cfg.resolved_align_layers)
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
            terms.domain_sum = self.domain_discriminator(student.pooler_output, False, setup.strength)
            terms.part = terms.part + cfg.lambda_domain * terms.domain_sum / setup.n_rows
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

    def _cls_loss(self, logits: torch.Tensor, path: PathInputs) -> torch.Tensor | None:
        """Eq. 12 over one path's labelled rows, their mean; None without any."""
        if path.labels is None:
            return None
        labels = self._checked_labels(path.labels, logits.device)
        count = (labels != -100).sum()
        if not bool(count > 0):
            return None
        return self._cls_sum(logits, labels, path) / count

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
        "logit_offsets",
        "class_weights",
        "source_logit_offsets",
        "source_class_weights",
    )

    def path_by_path_losses(self, input_ids: torch.LongTensor, source_input_ids: torch.LongTensor, **inputs):
        r"""The eq. 13 training loss in two exact parts, for a backward pass after each path (less peak memory).

        Takes the inputs of [`forward`]'s training call (`input_ids`, `source_input_ids` and, by keyword, the optional
        ones: masks, word ids, labels, the stage-2 `teacher_states` / `teacher_weights` / `soft_labels` /
        `source_weights`, `training_progress`, each path's eq. 12 `logit_offsets` / `class_weights`).

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
        target = PathInputs(
            input_ids,
            get("attention_mask"),
            get("token_type_ids"),
            get("word_ids"),
            get("labels"),
            get("logit_offsets"),
            get("class_weights"),
        ).with_mask()
        source = PathInputs(
            source_input_ids,
            get("source_attention_mask"),
            get("source_token_type_ids"),
            get("source_word_ids"),
            get("source_labels"),
            get("source_logit_offsets"),
            get("source_class_weights"),
        ).with_mask()
        teacher_states, soft_labels = get("teacher_states"), get("soft_labels")
        setup = self._loss_setup(target, source, get("training_progress"), soft_labels)
        teacher = self._encode(source, is_target=False)  # English rows, no mapping
        src = self._source_terms(
            teacher,
            source.attention_mask,
            setup,
            cached_teacher=teacher_states is not None,
            source_weights=get("source_weights"),
        )
        del teacher
        yield src.part, {}
        student = self._encode(target, is_target=True)  # Burmese, mapped
        tgt = self._target_terms(
            student,
            target.attention_mask,
            setup,
            src,
            teacher_states=teacher_states,
            teacher_weights=get("teacher_weights"),
            soft_labels=soft_labels,
        )
        detached = lambda t: None if t is None else t.detach()  # noqa: E731
        components = {
            "loss": src.part.detach() + tgt.part.detach(),
            "loss_cls": (src.ce_sum.detach() + tgt.ce_sum.detach()) / setup.n_labelled,
            "loss_align": detached(tgt.loss_align),
            "loss_domain": None
            if src.domain_sum is None
            else (src.domain_sum.detach() + tgt.domain_sum.detach()) / setup.n_rows,
            "loss_mapping": detached(tgt.loss_mapping),
            "loss_teacher": detached(src.loss_teacher),
            "gate_mean": gate_mean(student.gate, target.attention_mask),
        }
        yield tgt.part, components
