"""CTAM: VXLM encoder, dual-path attention supervision and a gradient-reversal domain discriminator.

Paper: Zhou and Zhao (2025), "Cross-lingual sentiment analysis for low-resource languages via semantic alignment and
transfer learning". The precise reading of each equation is fixed in the project's ``docs/method.md``; equation numbers
are cited beside the lines that compute them.

Shapes: B batch, T tokens, d hidden size, M layers used by the dual path.

This file and the files it imports relatively (configuration_ctam, outputs_ctam, loss_ctam, vxlm, dual_path, domain)
are copied flat next to a checkpoint by ``save_pretrained``, so that ``trust_remote_code=True`` loading works where
this package is not installed. The training forward of both paths and the eq. 12-13 loss are in ``loss_ctam.py``.
"""

from __future__ import annotations

import importlib

import torch
from safetensors import SafetensorError
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel
from transformers import initialization as init
from transformers.utils import logging

from .configuration_ctam import CTAMConfig
from .domain import DomainDiscriminator
from .dual_path import BilinearScore, DualPathAttention
from .loss_ctam import CTAMLossMixin, PathInputs
from .ngram_head import NgramHead, ensemble_logits
from .outputs_ctam import CTAMModelOutput, CTAMSequenceClassifierOutput
from .vxlm import (
    NOT_A_WORD,
    VecMapMapping,
    VXLMGate,
    gate_mean,
    load_mapping_file,
    loading_problems,
    pool_static_word_vectors,
    static_pooling_matrix,
    word_ids_from_start_table,
    word_start_table_from_tokenizer,
)

logger = logging.get_logger(__name__)

AUTO_MAP = {
    "AutoConfig": "configuration_ctam.CTAMConfig",
    "AutoModel": "modeling_ctam.CTAMModel",
    "AutoModelForSequenceClassification": "modeling_ctam.CTAMForSequenceClassification",
}


def _encoder_from_config(encoder_config) -> PreTrainedModel:
    """Any Hugging Face encoder, built from its config (never by class name); without a pooler where it has one."""
    try:
        return AutoModel.from_config(encoder_config, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_config(encoder_config)


def resolve_encoder_name(name_or_path: str) -> str:
    """Map CTAM's offline-encoder alias to its built folder when the CTAM package is installed; else pass through."""
    try:
        offline = importlib.import_module("modeling_ctam.offline_encoder")
    except ImportError:
        return name_or_path
    return offline.resolve_encoder(name_or_path)


class CTAMClassificationHead(nn.Module):
    """Dropout -> Linear(d, d) -> tanh -> dropout -> Linear(d, num_labels) over the pooled fused state."""

    def __init__(self, config: CTAMConfig):
        super().__init__()
        d = config.hidden_size
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.dense = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, config.num_labels)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        x = torch.tanh(self.dense(self.dropout(pooled)))  # (B, d)
        return self.out_proj(self.dropout(x))  # (B, num_labels)


class CTAMPreTrainedModel(PreTrainedModel):
    config_class = CTAMConfig
    base_model_prefix = "ctam"
    main_input_name = "input_ids"
    supports_gradient_checkpointing = True
    _supports_sdpa = True
    # The composite loss is a per-batch mean: Trainer must scale it for gradient accumulation itself.
    accepts_loss_kwargs = False

    def _init_weights(self, module):
        super()._init_weights(module)
        if isinstance(module, nn.GRU):
            for name, param in module.named_parameters():
                if "weight" in name:
                    init.xavier_uniform_(param)
                else:
                    init.zeros_(param)
        elif isinstance(module, BilinearScore):
            init.xavier_uniform_(module.weight)
            init.zeros_(module.bias)
        elif isinstance(module, VecMapMapping):
            init.eye_(module.weight)
            init.zeros_(module.target_mean)
            init.zeros_(module.source_mean)
            init.constant_(module.static_layer, self.config.static_layer)
        elif isinstance(module, CTAMModel):
            init.ones_(module.word_start_table)
        elif isinstance(module, NgramHead):  # fitted by the recipe; unfitted it predicts uniformly
            init.zeros_(module.weight)
            init.zeros_(module.bias)
            init.ones_(module.idf)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, allow_partial_load: bool = False, **kwargs):
        """`PreTrainedModel.from_pretrained`; weights that disagree with config.json (missing, unexpected, mis-shaped,
        a moved `static_layer`) are an error naming them, unless `allow_partial_load=True` (load what fits) or, for
        mis-shaped ones, `ignore_mismatched_sizes=True`."""
        want_info, source = kwargs.pop("output_loading_info", False), str(pretrained_model_name_or_path)
        ignore_mismatched_sizes = kwargs.pop("ignore_mismatched_sizes", False)
        try:
            # Mis-shaped weights come back in the loading info and are refused below, by name: transformers' own
            # refusal is a bare RuntimeError that does not say which weights.
            model, info = super().from_pretrained(
                source, *args, output_loading_info=True, ignore_mismatched_sizes=True, **kwargs
            )
        except SafetensorError as err:  # the safetensors reader: a truncated file, or not a safetensors file
            raise OSError(
                f"{source}: its model.safetensors is truncated or not a safetensors file ({err}); copy it again, or "
                "save the model again."
            ) from err
        mismatched = sorted(info.get("mismatched_keys") or ())
        if mismatched and not ignore_mismatched_sizes:
            shown = ", ".join(f"{key} {tuple(saved)} vs {tuple(built)}" for key, saved, built in mismatched[:4])
            raise ValueError(
                f"{source}: the weights do not match config.json ({len(mismatched)} tensor shapes differ: {shown}): "
                "re-save the model, or pass ignore_mismatched_sizes=True."
            )
        if not allow_partial_load and (problems := loading_problems(model, info, source)):
            raise ValueError("; ".join(problems) + ".")
        return (model, info) if want_info else model

    def save_pretrained(self, save_directory, *args, **kwargs):
        # One class holds one auto class, so both Auto entries are written here (hf-notes: auto_map).
        self.config.auto_map = dict(AUTO_MAP)
        return super().save_pretrained(save_directory, *args, **kwargs)


class CTAMModel(CTAMPreTrainedModel):
    """The VXLM encoder: encoder, eq. 1 word pooling, eq. 2 mapping, eq. 3 gate; returns fused states and pooling."""

    def __init__(self, config: CTAMConfig):
        super().__init__(config)
        self.encoder = _encoder_from_config(config.encoder_config)
        self.student_encoder = None if config.share_encoder else _encoder_from_config(config.encoder_config)
        d = config.hidden_size
        self.mapping = VecMapMapping(d, config.mapping_trainable, config.static_layer) if config.use_vxlm else None
        self.gate = VXLMGate(d, config.gate_type) if self.uses_fusion else None
        # Word boundaries for eq. 1 when the inputs carry no `word_ids`: filled from the tokenizer by
        # `set_word_boundaries`; all ones (each token its own word) until then.
        self.register_buffer("word_start_table", torch.ones(config.encoder_config.vocab_size, dtype=torch.int8))
        # Auxiliary mapping loss (vecmap_integrations "aux_loss"): corpus-level static vectors of dictionary pairs.
        self.register_buffer("aux_target_vectors", torch.zeros(0, d), persistent=False)
        self.register_buffer("aux_source_vectors", torch.zeros(0, d), persistent=False)
        self.post_init()

    @property
    def uses_fusion(self) -> bool:
        return self.config.use_vxlm and "fusion" in self.config.vecmap_integrations

    def get_input_embeddings(self):
        return self.encoder.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.encoder.set_input_embeddings(value)

    # ------------------------------------------------------------------ set-up helpers
    @torch.no_grad()
    def set_word_boundaries(self, tokenizer) -> None:
        """Fill the eq. 1 word-boundary table from `tokenizer` (a SentencePiece, WordPiece or byte-BPE tokenizer)."""
        table = word_start_table_from_tokenizer(tokenizer)
        if table.numel() > self.word_start_table.numel():
            raise ValueError(
                f"tokenizer has {table.numel()} entries but the encoder's vocabulary has "
                f"{self.word_start_table.numel()}; use the tokenizer that belongs to this encoder."
            )
        self.word_start_table.fill_(-1)
        self.word_start_table[: table.numel()] = table.to(self.word_start_table.device)

    def load_alignment(self, alignment) -> None:
        """Initialise the eq. 2 mapping from a VecMap result: a folder or `mapping.safetensors` file written by
        `python -m modeling_ctam.alignment`, or a dict with `weight`, `target_mean`, `source_mean` (and optionally
        `dictionary_target_vectors` / `dictionary_source_vectors` for the auxiliary loss)."""
        if self.mapping is None:
            raise ValueError("this model has use_vxlm=False, so it has no mapping to initialise.")
        if isinstance(alignment, (str, bytes)) or hasattr(alignment, "__fspath__"):
            alignment, _ = load_mapping_file(alignment, expected_layer=self.config.static_layer)
        missing = [k for k in ("weight",) if k not in alignment]
        if missing:
            raise ValueError(f"alignment has no {missing}; expected keys weight, target_mean, source_mean.")
        self.mapping.load_alignment(alignment["weight"], alignment.get("target_mean"), alignment.get("source_mean"))
        if "dictionary_target_vectors" in alignment and "dictionary_source_vectors" in alignment:
            self.aux_target_vectors = alignment["dictionary_target_vectors"].to(self.mapping.weight)
            self.aux_source_vectors = alignment["dictionary_source_vectors"].to(self.mapping.weight)

    def mapping_loss(self) -> torch.Tensor | None:
        """Weighted `||W^T W - I||^2` and auxiliary dictionary loss; None when neither is on."""
        if self.mapping is None:
            return None
        total = None
        if self.config.mapping_orthogonality_weight > 0:
            total = self.config.mapping_orthogonality_weight * self.mapping.orthogonality_penalty()
        if "aux_loss" in self.config.vecmap_integrations and self.config.aux_loss_weight > 0:
            if self.aux_target_vectors.numel() == 0:
                raise ValueError(
                    "vecmap_integrations has 'aux_loss' but no dictionary vectors are loaded: call "
                    "model.load_alignment(...) with an alignment folder written by `python -m "
                    "modeling_ctam.alignment`."
                )
            mapped = self.mapping(self.aux_target_vectors.unsqueeze(0), is_target=True).squeeze(0)  # (P, d)
            aux = ((mapped - self.aux_source_vectors) ** 2).sum(-1).mean()  # ||W h_static(my) - h_static(en)||^2
            total = aux * self.config.aux_loss_weight if total is None else total + aux * self.config.aux_loss_weight
        return total

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.LongTensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        word_ids: torch.LongTensor | None = None,
        is_target: bool | torch.Tensor = True,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
        **kwargs,
    ) -> CTAMModelOutput:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(B, T)`): token ids.
            attention_mask (`torch.Tensor` of shape `(B, T)`, *optional*): 1 for real tokens.
            token_type_ids (`torch.LongTensor` of shape `(B, T)`, *optional*): passed to the encoder if given.
            word_ids (`torch.LongTensor` of shape `(B, T)`, *optional*): eq. 1 word index per token (-1 outside
                words), e.g. from a Burmese word segmenter. Defaults to the tokenizer's own boundaries.
            is_target (`bool` or `torch.BoolTensor` of shape `(B,)`, *optional*, defaults to `True`): which rows are
                target-language (mapped by eq. 2); source-language rows bypass the mapping.
            output_attentions (`bool`, *optional*): return the encoder's attention maps.
            return_dict (`bool`, *optional*, defaults to `config.return_dict`): a [`CTAMModelOutput`], or with `False`
                a tuple of its fields that are not None.
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        B, T = input_ids.shape
        is_target_all = isinstance(is_target, bool) and is_target
        use_student = self.student_encoder is not None and is_target_all
        encoder = self.student_encoder if use_student else self.encoder
        enc_kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        enc = encoder(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=True,
            output_attentions=output_attentions,
            return_dict=True,
            **enc_kwargs,
        )
        hidden_states = enc.hidden_states  # L+1 x (B, T, d); the static layer comes from this same forward
        h_xlm = enc.last_hidden_state  # (B, T, d)
        gate = h_vec = None
        if self.gate is not None:
            if word_ids is None:
                word_ids = word_ids_from_start_table(input_ids, attention_mask, self.word_start_table)  # (B, T)
            else:
                word_ids = word_ids.masked_fill(~attention_mask.bool(), NOT_A_WORD)
            pooling = static_pooling_matrix(input_ids, word_ids, by_form=self.config.static_pooling == "word_form")
            h_static = pool_static_word_vectors(hidden_states[self.config.static_layer], pooling)  # (B, T, d)  eq. 1
            if isinstance(is_target, bool):
                h_vec = self.mapping(h_static, is_target)  # (B, T, d)  eq. 2
            else:
                mapped = self.mapping(h_static, True)
                h_vec = torch.where(is_target.view(B, 1, 1), mapped, h_static)  # (B, T, d)  eq. 2, target rows only
            h, gate = self.gate(h_xlm, h_vec)  # (B, T, d)  eq. 3
        else:
            h = h_xlm
        pooled = self._pool(h, attention_mask)  # (B, d)
        output = CTAMModelOutput(
            last_hidden_state=h,
            pooler_output=pooled,
            gate=gate,
            static_vectors=h_vec,
            hidden_states=hidden_states,
            attentions=enc.attentions,
        )
        return output if return_dict else output.to_tuple()

    def _pool(self, h: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.config.pooling == "first":
            return h[:, 0]
        mask = attention_mask.to(h.dtype).unsqueeze(-1)  # (B, T, 1)
        return (h * mask).sum(1) / mask.sum(1).clamp_min(1.0)  # (B, d)


class CTAMForSequenceClassification(CTAMLossMixin, CTAMPreTrainedModel):
    """CTAM for sentiment classification.

    Inference (`model(input_ids=..., attention_mask=...)`) runs the student path on target-language text and returns
    `.logits`. Training passes the source-language batch too (`source_input_ids`, `source_attention_mask`,
    `source_labels`) and gets the eq. 13 composite `loss` with each component beside it.
    """

    def __init__(self, config: CTAMConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.ctam = CTAMModel(config)
        self.classifier = CTAMClassificationHead(config)
        d = config.hidden_size
        self.dual_path = (
            DualPathAttention(
                d,
                config.resolved_gru_hidden_size,
                config.align_weighting,
                config.align_reduction,
                num_labels=config.num_labels if config.teacher_head else None,
            )
            if config.lambda_align > 0
            else None
        )
        self.domain_discriminator = (
            DomainDiscriminator(d, config.resolved_discriminator_hidden_size) if config.lambda_domain > 0 else None
        )
        # the n-gram view (beyond the paper): fitted after training by the recipe, None until then
        self.ngram_head = NgramHead(config.ngram_head, config.num_labels) if config.ngram_head else None
        self.post_init()
        if self.dual_path is not None and config.student_gru_init == "teacher":
            self.dual_path.student_starts_as_teacher()

    # ------------------------------------------------------------------ construction around a pretrained encoder
    @classmethod
    def from_encoder_pretrained(
        cls,
        encoder_name_or_path: str,
        *,
        tokenizer=None,
        alignment=None,
        encoder_kwargs: dict | None = None,
        **config_kwargs,
    ) -> "CTAMForSequenceClassification":
        r"""Build CTAM around a pretrained encoder checkpoint.

        Args:
            encoder_name_or_path (`str`): a Hub id (e.g. `FacebookAI/xlm-roberta-base`), a local folder, or the
                offline alias `ctam/e5-small-offline`.
            tokenizer (`PreTrainedTokenizerBase`, *optional*): used for eq. 1 word boundaries; loaded from the
                encoder's folder when omitted.
            alignment (`str` or `dict`, *optional*): a VecMap result to initialise the eq. 2 mapping
                (see [`CTAMModel.load_alignment`]).
            encoder_kwargs (`dict`, *optional*): passed to `AutoModel.from_pretrained` (e.g. `revision`).
            config_kwargs: [`CTAMConfig`] fields (`num_labels`, `id2label`, loss weights, ...).

        The encoder's weights are loaded; CTAM's own parts (GRUs, gate, mapping, bilinear attention, discriminator,
        classifier) are initialised by `_init_weights`.
        """
        path = resolve_encoder_name(encoder_name_or_path)
        encoder_kwargs = dict(encoder_kwargs or {})
        encoder_kwargs.setdefault("dtype", torch.float32)
        pretrained = AutoModel.from_pretrained(path, **encoder_kwargs)
        encoder_config = pretrained.config.to_dict()
        encoder_config["_name_or_path"] = encoder_name_or_path  # the id or alias, never a machine's cache path
        config = CTAMConfig(encoder_config=encoder_config, **config_kwargs)
        model = cls(config)
        state = {k: v for k, v in pretrained.state_dict().items() if not k.startswith("pooler.")}
        missing, unexpected = model.ctam.encoder.load_state_dict(state, strict=False)
        missing = [k for k in missing if not k.startswith("pooler.")]
        if missing or unexpected:
            raise ValueError(
                f"encoder weights from {encoder_name_or_path!r} do not fit the encoder built from its config: "
                f"missing {missing[:5]}, unexpected {unexpected[:5]}."
            )
        if model.ctam.student_encoder is not None:
            model.ctam.student_encoder.load_state_dict(model.ctam.encoder.state_dict())
        del pretrained
        if tokenizer is None:
            try:
                tokenizer = AutoTokenizer.from_pretrained(path, revision=encoder_kwargs.get("revision"))
            except (OSError, ValueError) as err:
                logger.warning(
                    f"no tokenizer found with {encoder_name_or_path!r} ({err}); eq. 1 treats each token as a word."
                )
        if tokenizer is not None:
            model.ctam.set_word_boundaries(tokenizer)
        if alignment is not None:
            model.ctam.load_alignment(alignment)
        model.config.encoder_name_or_path = encoder_name_or_path
        return model

    def load_alignment(self, alignment) -> None:
        """See [`CTAMModel.load_alignment`]."""
        self.ctam.load_alignment(alignment)

    # ------------------------------------------------------------------ forward
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.LongTensor | None = None,
        word_ids: torch.LongTensor | None = None,
        labels: torch.LongTensor | None = None,
        source_input_ids: torch.LongTensor | None = None,
        source_attention_mask: torch.Tensor | None = None,
        source_token_type_ids: torch.LongTensor | None = None,
        source_word_ids: torch.LongTensor | None = None,
        source_labels: torch.LongTensor | None = None,
        teacher_states: torch.FloatTensor | None = None,
        teacher_weights: torch.FloatTensor | None = None,
        soft_labels: torch.FloatTensor | None = None,
        source_weights: torch.FloatTensor | None = None,
        training_progress: float | None = None,
        logit_offsets: torch.FloatTensor | None = None,
        class_weights: torch.FloatTensor | None = None,
        source_logit_offsets: torch.FloatTensor | None = None,
        source_class_weights: torch.FloatTensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        return_dict: bool | None = None,
    ) -> CTAMSequenceClassifierOutput:
        r"""
        Args:
            input_ids, attention_mask, token_type_ids, word_ids (`torch.Tensor` of shape `(B, T)`):
                The target-language (Burmese) batch: the student path. `word_ids` as in [`CTAMModel.forward`].
            labels (`torch.LongTensor` of shape `(B,)`, *optional*):
                Target labels (-100 where unknown: zero-shot training passes none).
            source_input_ids, source_attention_mask, source_token_type_ids, source_word_ids (`torch.Tensor` of shape
                `(B_src, T_src)`, *optional*):
                The source-language (English) batch: the teacher path. Given only in training.
            source_labels (`torch.LongTensor` of shape `(B_src,)`, *optional*): source labels.
            teacher_states (`torch.FloatTensor` of shape `(B, M, k)`, *optional*):
                Two-stage recipe, stage 2: the frozen stage-1 teacher's BiGRU states `h'` for each target row's
                English pair (a translation, or a review of the pseudo-label's class), computed once and cached.
                Eq. 10 then compares the student with these instead of running the teacher BiGRU on the batch.
            teacher_weights (`torch.FloatTensor` of shape `(B,)`, *optional*):
                Weight of each target row in `L_R` (0 for rows without a teacher pair). Defaults to 1.
            soft_labels (`torch.FloatTensor` of shape `(B, num_labels)`, *optional*):
                Soft pseudo-labels of target rows for eq. 12 (self-training); each row sums to its weight (0 = none).
            source_weights (`torch.FloatTensor` of shape `(B_src,)`, *optional*):
                Per-row weights of the English rows in `L_S` (the target/source class-prior ratio).
            training_progress (`float`, *optional*):
                Fraction of training done, for the gradient-reversal schedule (CTAMTrainer passes it).
            logit_offsets (`torch.FloatTensor` of shape `(num_labels,)`, *optional*):
                Added to the target path's logits inside eq. 12 only: the logit-adjusted loss of Menon et al. (2021),
                `-log softmax(f(x) + tau log pi)_y`, with `pi` the Burmese labels' prior. The returned logits stay the
                model's own. Without it (and `class_weights`) eq. 12 is plain cross-entropy, as the config says: the
                model keeps no training policy. [`CTAMTrainer`] passes the run's class-imbalance handling here in
                training (`modeling_ctam.training.imbalance`).
            class_weights (`torch.FloatTensor` of shape `(num_labels,)`, *optional*):
                Class weights of the target path's eq. 12 cross-entropy (the run's inverse class frequencies).
            source_logit_offsets, source_class_weights (`torch.FloatTensor` of shape `(num_labels,)`, *optional*):
                The same for the source (English) path's labels, the teacher head's included.
            output_hidden_states (`bool`, *optional*):
                Return the student path's encoder hidden states (with the English batch and a shared encoder: its
                rows of the joint pass, at the longer of the two paths' lengths).
            output_attentions (`bool`, *optional*):
                Return the student path's encoder attention maps (rows as for `output_hidden_states`).
            return_dict (`bool`, *optional*, defaults to `config.return_dict`):
                A [`CTAMSequenceClassifierOutput`], or with `False` a tuple of its fields that are not None, the loss
                first when there is one.

        With `source_*` alone (no `input_ids`), the forward runs the teacher path only: stage 1 of the two-stage recipe
        (English `L_T` and, with `teacher_head`, the teacher head's loss).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        target = source = None
        if input_ids is not None:
            target = PathInputs(
                input_ids, attention_mask, token_type_ids, word_ids, labels, logit_offsets, class_weights
            )
        if source_input_ids is not None:
            source = PathInputs(
                source_input_ids,
                source_attention_mask,
                source_token_type_ids,
                source_word_ids,
                source_labels,
                source_logit_offsets,
                source_class_weights,
            )
        if target is None and source is None:
            raise ValueError("CTAM needs `input_ids` (eq. 1 groups tokens into words by their ids).")
        if target is None:
            output = self._teacher_only(source)
        elif source is None:
            output = self._student_only(
                target,
                soft_labels=soft_labels,
                output_hidden_states=output_hidden_states,
                output_attentions=output_attentions,
            )
        else:
            output = self._dual_path(
                target,
                source,
                teacher_states=teacher_states,
                teacher_weights=teacher_weights,
                soft_labels=soft_labels,
                source_weights=source_weights,
                training_progress=training_progress,
                output_hidden_states=output_hidden_states,
                output_attentions=output_attentions,
            )
        return output if return_dict else output.to_tuple()

    def _student_only(
        self,
        target: PathInputs,
        *,
        soft_labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
    ) -> CTAMSequenceClassifierOutput:
        """Inference, and training on Burmese rows alone: the student path, eq. 12 over hard and soft labels."""
        out = self._encode(target, is_target=True, output_attentions=output_attentions)
        logits = self.classifier(out.pooler_output)  # (B, num_labels)
        if self.ngram_head is not None:  # the n-gram view's share of the posterior (ngram_head.py)
            ngram_logits = self.ngram_head(target.input_ids, target.attention_mask)  # (B, num_labels)
            logits = ensemble_logits(logits, ngram_logits, self.config.ngram_head["weight"])  # (B, num_labels)
        loss_cls = self._cls_loss(logits, target)
        if soft_labels is not None:  # eq. 12 over hard and soft (pseudo) labels alike
            hard = target.labels if target.labels is not None else torch.full_like(target.input_ids[:, 0], -100)
            hard = self._checked_labels(hard, logits.device)
            mass = (hard != -100).sum() + soft_labels.sum()
            ce = self._cls_sum(logits, hard, target) + self._soft_cls_sum(logits, soft_labels)
            loss_cls = ce / mass.clamp_min(1e-6)
        loss = None if loss_cls is None else self.config.lambda_cls * loss_cls
        return CTAMSequenceClassifierOutput(
            loss=loss,
            logits=logits,
            loss_cls=loss_cls,
            # a batch-level training diagnostic; left out at inference so that every output splits per example
            # (the stock text-classification pipeline's batching indexes each output tensor by example)
            gate_mean=gate_mean(out.gate, target.attention_mask) if self.training else None,
            hidden_states=out.hidden_states if output_hidden_states else None,
            attentions=out.attentions,
        )


__all__ = [
    "CTAMModel",
    "CTAMForSequenceClassification",
    "CTAMPreTrainedModel",
    "CTAMModelOutput",
    "CTAMSequenceClassifierOutput",
]
