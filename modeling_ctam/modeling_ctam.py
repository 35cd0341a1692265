"""CTAM: VXLM encoder, dual-path attention supervision and a gradient-reversal domain discriminator.

Paper: Zhou and Zhao (2025), "Cross-lingual sentiment analysis for low-resource languages via semantic alignment and
transfer learning". The precise reading of each equation is fixed in the project's ``docs/method.md``; equation numbers
are cited beside the lines that compute them.

Shapes: B batch, T tokens, d hidden size, M layers used by the dual path.

This file and the files it imports relatively (configuration_ctam, vxlm, dual_path, domain) are copied flat next to a
checkpoint by ``save_pretrained``, so that ``trust_remote_code=True`` loading works where this package is not installed.
"""

from __future__ import annotations

import importlib

import torch
from torch import nn
from transformers import AutoModel, AutoTokenizer, PreTrainedModel
from transformers import initialization as init
from transformers.utils import logging

from .configuration_ctam import CTAMConfig
from .domain import DomainDiscriminator, grl_strength
from .dual_path import BilinearScore, DualPathAttention, layer_summaries
from .outputs_ctam import CTAMModelOutput, CTAMSequenceClassifierOutput, PathTerms
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


def _resolve_encoder_name(name_or_path: str) -> str:
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

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *args, allow_partial_load: bool = False, **kwargs):
        """`PreTrainedModel.from_pretrained`; weights that disagree with config.json (missing, unexpected, mis-shaped,
        a moved `static_layer`) are an error naming them, unless `allow_partial_load=True` (load what fits)."""
        want_info, source = kwargs.pop("output_loading_info", False), str(pretrained_model_name_or_path)
        try:
            model, info = super().from_pretrained(source, *args, output_loading_info=True, **kwargs)
        except Exception as err:
            if "mismatched_sizes" in str(err):
                raise ValueError(f"{source}: the weights do not match config.json (tensor shapes differ; the load "
                                 "report above lists each one): re-save the model, or pass "
                                 "ignore_mismatched_sizes=True.") from err
            if type(err).__name__ == "SafetensorError":  # the safetensors package's error: truncated or not safetensors
                raise OSError(f"{source}: its model.safetensors is truncated or not a safetensors file ({err}); copy "
                              "it again, or save the model again.") from err
            raise
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
                f"tokenizer has {table.numel()} entries but the encoder's vocabulary has {self.word_start_table.numel()}; "
                "use the tokenizer that belongs to this encoder."
            )
        self.word_start_table.fill_(-1)
        self.word_start_table[: table.numel()] = table.to(self.word_start_table.device)

    def load_alignment(self, alignment) -> None:
        """Initialise the eq. 2 mapping from a VecMap result: a folder or `mapping.safetensors` file written by
        `python -m modeling_ctam.align`, or a dict with `weight`, `target_mean`, `source_mean` (and optionally
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
                    "model.load_alignment(...) with an alignment folder written by `python -m modeling_ctam.align`."
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
        """
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        B, T = input_ids.shape
        is_target_all = isinstance(is_target, bool) and is_target
        use_student = self.student_encoder is not None and is_target_all
        encoder = self.student_encoder if use_student else self.encoder
        enc_kwargs = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        enc = encoder(
            input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
            output_attentions=output_attentions, return_dict=True, **enc_kwargs,
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
        return CTAMModelOutput(
            last_hidden_state=h, pooler_output=pooled, gate=gate, static_vectors=h_vec,
            hidden_states=hidden_states, attentions=enc.attentions,
        )

    def _pool(self, h: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.config.pooling == "first":
            return h[:, 0]
        mask = attention_mask.to(h.dtype).unsqueeze(-1)  # (B, T, 1)
        return (h * mask).sum(1) / mask.sum(1).clamp_min(1.0)  # (B, d)


def _pad_to(x: torch.Tensor, length: int, value) -> torch.Tensor:
    return x if x.shape[1] == length else nn.functional.pad(x, (0, length - x.shape[1]), value=value)


class CTAMForSequenceClassification(CTAMPreTrainedModel):
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
            DualPathAttention(d, config.resolved_gru_hidden_size, config.align_weighting, config.align_reduction,
                              num_labels=config.num_labels if config.teacher_head else None)
            if config.lambda_align > 0 else None
        )
        self.domain_discriminator = (
            DomainDiscriminator(d, config.resolved_discriminator_hidden_size) if config.lambda_domain > 0 else None
        )
        self.post_init()
        if self.dual_path is not None and config.student_gru_init == "teacher":
            self.dual_path.student_starts_as_teacher()

    # ------------------------------------------------------------------ construction around a pretrained encoder
    @classmethod
    def from_encoder_pretrained(cls, encoder_name_or_path: str, *, tokenizer=None, alignment=None,
                                encoder_kwargs: dict | None = None, **config_kwargs) -> "CTAMForSequenceClassification":
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
        path = _resolve_encoder_name(encoder_name_or_path)
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
                logger.warning(f"no tokenizer found with {encoder_name_or_path!r} ({err}); eq. 1 treats each token as a word.")
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
            source_input_ids, source_attention_mask, source_token_type_ids, source_word_ids (`torch.Tensor` of shape `(B_src, T_src)`, *optional*):
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

        With `source_*` alone (no `input_ids`), the forward runs the teacher path only: stage 1 of the two-stage recipe
        (English `L_T` and, with `teacher_head`, the teacher head's loss).
        """
        if input_ids is None:
            if source_input_ids is not None:
                return self._teacher_only(source_input_ids, source_attention_mask, source_token_type_ids,
                                          source_word_ids, source_labels)
            raise ValueError("CTAM needs `input_ids` (eq. 1 groups tokens into words by their ids).")
        if source_input_ids is None:
            return self._student_only(input_ids, attention_mask, token_type_ids, word_ids, labels,
                                      output_hidden_states, output_attentions, soft_labels)
        return self._dual_path(
            input_ids, attention_mask, token_type_ids, word_ids, labels, source_input_ids, source_attention_mask,
            source_token_type_ids, source_word_ids, source_labels, training_progress, output_hidden_states,
            teacher_states, teacher_weights, soft_labels, source_weights,
        )

    def _teacher_only(self, source_input_ids, source_attention_mask, source_token_type_ids, source_word_ids,
                      source_labels) -> CTAMSequenceClassifierOutput:
        """Stage 1: English text through the teacher path (no mapping): `l1 (L_T + L_teacher_head)`."""
        if source_attention_mask is None:
            source_attention_mask = torch.ones_like(source_input_ids)
        teacher = self.ctam(source_input_ids, source_attention_mask, source_token_type_ids, source_word_ids,
                            is_target=False)
        logits = self.classifier(teacher.pooler_output)  # (Bs, C)
        loss_cls = self._cls_loss(logits, source_labels)
        loss_teacher = None
        if loss_cls is not None and self.dual_path is not None and self.dual_path.teacher_head is not None:
            t_seq = layer_summaries(teacher.hidden_states, source_attention_mask,
                                    self.config.resolved_align_layers).detach()  # (Bs, M, d)
            head_logits = self.dual_path.teacher_head_logits(self.dual_path.teacher_states(t_seq))  # (Bs, C)
            loss_teacher = self._cls_loss(head_logits, source_labels)
        loss = None
        if loss_cls is not None:
            loss = self.config.lambda_cls * (loss_cls if loss_teacher is None else loss_cls + loss_teacher)
        return CTAMSequenceClassifierOutput(loss=loss, logits=logits, loss_cls=loss_cls, loss_teacher=loss_teacher,
                                            source_logits=logits)

    def _student_only(self, input_ids, attention_mask, token_type_ids, word_ids, labels, output_hidden_states,
                      output_attentions, soft_labels=None) -> CTAMSequenceClassifierOutput:
        out = self.ctam(input_ids, attention_mask, token_type_ids, word_ids, is_target=True,
                        output_attentions=output_attentions)
        logits = self.classifier(out.pooler_output)  # (B, num_labels)
        loss_cls = self._cls_loss(logits, labels, target=True)
        if soft_labels is not None:  # eq. 12 over hard and soft (pseudo) labels alike
            hard = labels if labels is not None else torch.full_like(input_ids[:, 0], -100)
            hard = self._checked_labels(hard, logits.device)
            mass = (hard != -100).sum() + soft_labels.sum()
            ce = self._cls_sum(logits, hard, target=True) + self._soft_cls_sum(logits, soft_labels)
            loss_cls = ce / mass.clamp_min(1e-6)
        loss = None if loss_cls is None else self.config.lambda_cls * loss_cls
        return CTAMSequenceClassifierOutput(
            loss=loss, logits=logits, loss_cls=loss_cls,
            # a batch-level training diagnostic; left out at inference so that every output splits per example
            # (the stock text-classification pipeline's batching indexes each output tensor by example)
            gate_mean=gate_mean(out.gate, attention_mask) if self.training else None,
            hidden_states=out.hidden_states if output_hidden_states else None, attentions=out.attentions,
        )

    def _encode_both(self, input_ids, attention_mask, token_type_ids, word_ids, source_input_ids,
                     source_attention_mask, source_token_type_ids, source_word_ids):
        """Teacher and student outputs; one joint encoder pass when the encoder is shared."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if source_attention_mask is None:
            source_attention_mask = torch.ones_like(source_input_ids)
        if self.ctam.student_encoder is not None:
            student = self.ctam(input_ids, attention_mask, token_type_ids, word_ids, is_target=True)
            teacher = self.ctam(source_input_ids, source_attention_mask, source_token_type_ids, source_word_ids,
                                is_target=False)
            return teacher, student, source_attention_mask, attention_mask
        Bs, Bt = source_input_ids.shape[0], input_ids.shape[0]
        T = max(source_input_ids.shape[1], input_ids.shape[1])
        pad_id = self.config.encoder_config.pad_token_id
        pad_id = 0 if pad_id is None else pad_id
        ids = torch.cat([_pad_to(source_input_ids, T, pad_id), _pad_to(input_ids, T, pad_id)])  # (Bs + Bt, T)
        mask = torch.cat([_pad_to(source_attention_mask, T, 0), _pad_to(attention_mask, T, 0)])  # (Bs + Bt, T)
        types = None
        if token_type_ids is not None or source_token_type_ids is not None:
            types = torch.cat([
                _pad_to(source_token_type_ids if source_token_type_ids is not None else torch.zeros_like(source_input_ids), T, 0),
                _pad_to(token_type_ids if token_type_ids is not None else torch.zeros_like(input_ids), T, 0),
            ])
        words = None
        if word_ids is not None or source_word_ids is not None:
            table_words = lambda i, m: word_ids_from_start_table(i, m, self.ctam.word_start_table)  # noqa: E731
            words = torch.cat([
                _pad_to(source_word_ids if source_word_ids is not None else table_words(source_input_ids, source_attention_mask), T, NOT_A_WORD),
                _pad_to(word_ids if word_ids is not None else table_words(input_ids, attention_mask), T, NOT_A_WORD),
            ])
        is_target = torch.cat([torch.zeros(Bs, dtype=torch.bool), torch.ones(Bt, dtype=torch.bool)]).to(ids.device)
        joint = self.ctam(ids, mask, types, words, is_target=is_target)  # one pass over (Bs + Bt, T)

        def part(out: CTAMModelOutput, rows: slice) -> CTAMModelOutput:
            return CTAMModelOutput(
                last_hidden_state=out.last_hidden_state[rows], pooler_output=out.pooler_output[rows],
                gate=None if out.gate is None else out.gate[rows],
                static_vectors=None if out.static_vectors is None else out.static_vectors[rows],
                hidden_states=tuple(h[rows] for h in out.hidden_states),
            )

        return part(joint, slice(0, Bs)), part(joint, slice(Bs, Bs + Bt)), mask[:Bs], mask[Bs:]

    def _dual_path(self, input_ids, attention_mask, token_type_ids, word_ids, labels, source_input_ids,
                   source_attention_mask, source_token_type_ids, source_word_ids, source_labels, training_progress,
                   output_hidden_states, teacher_states=None, teacher_weights=None, soft_labels=None,
                   source_weights=None) -> CTAMSequenceClassifierOutput:
        teacher, student, teacher_mask, student_mask = self._encode_both(
            input_ids, attention_mask, token_type_ids, word_ids, source_input_ids, source_attention_mask,
            source_token_type_ids, source_word_ids,
        )
        source_labels, labels, labelled_count, strength = self._loss_setup(source_labels, labels, source_input_ids,
                                                                            input_ids, training_progress, soft_labels)
        n_labelled, n_rows = labelled_count.float().clamp_min(1e-6), source_input_ids.shape[0] + input_ids.shape[0]
        src = self._source_terms(teacher, teacher_mask, source_labels, n_labelled, n_rows, strength,
                                 cached_teacher=teacher_states is not None, source_weights=source_weights)
        tgt = self._target_terms(student, student_mask, labels, src, n_labelled, n_rows, strength,
                                 teacher_states, teacher_weights, soft_labels)
        loss_cls = (src.ce_sum + tgt.ce_sum) / n_labelled if bool(labelled_count > 0) else None
        loss_domain = None if src.domain_sum is None else (src.domain_sum + tgt.domain_sum) / n_rows
        return CTAMSequenceClassifierOutput(
            loss=src.part + tgt.part, logits=tgt.logits, loss_cls=loss_cls, loss_align=tgt.loss_align,
            loss_domain=loss_domain, loss_mapping=tgt.loss_mapping, loss_teacher=src.loss_teacher,
            gate_mean=gate_mean(student.gate, student_mask), source_logits=src.logits,
            layer_weights=tgt.layer_weights, hidden_states=student.hidden_states if output_hidden_states else None,
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
        return source_labels, labels, count, grl_strength(training_progress, cfg.grl_schedule, cfg.grl_lambda,
                                                               cfg.grl_gamma)

    def _cls_sum(self, logits: torch.Tensor, labels: torch.Tensor, target: bool = False) -> torch.Tensor:
        """Eq. 12 cross-entropy summed over one path's labelled rows (the caller divides by all labelled rows).
        `labels` come from `_loss_setup`, which checked them. In training, the path's `label_loss` / `source_label_loss`
        set by the trainer (class weights or Menon et al. 2021 logit offsets, modeling_ctam.training.imbalance) applies."""
        adjust = getattr(self, "label_loss" if target else "source_label_loss", None) if self.training else None
        weight = None
        if adjust is not None:
            logits, weight = adjust(logits)
        return nn.functional.cross_entropy(logits.float(), labels, weight=weight, ignore_index=-100, reduction="sum")

    @staticmethod
    def _soft_cls_sum(logits: torch.Tensor, soft_labels: torch.Tensor) -> torch.Tensor:
        """Eq. 12 against soft pseudo-labels `(B, C)` (rows sum to their weight), summed over rows."""
        assert soft_labels.shape == logits.shape, f"soft_labels {tuple(soft_labels.shape)} vs logits {tuple(logits.shape)}"
        return -(soft_labels.float() * torch.log_softmax(logits.float(), dim=-1)).sum()

    def _source_terms(self, teacher: CTAMModelOutput, mask, source_labels, n_labelled, n_rows, strength,
                      cached_teacher: bool = False, source_weights=None) -> PathTerms:
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

    def _target_terms(self, student: CTAMModelOutput, mask, labels, src: PathTerms, n_labelled, n_rows, strength,
                      teacher_states=None, teacher_weights=None, soft_labels=None) -> PathTerms:
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
                    s_seq, teacher_states=teacher_states, row_weights=teacher_weights)  # eq. 10
            else:  # pairs: the i-th target example with the i-th source example
                n = min(src.t_seq.shape[0], s_seq.shape[0])
                t_states = None if src.t_states is None else src.t_states[:n]
                terms.loss_align, _, terms.layer_weights = self.dual_path(
                    s_seq[:n], src.t_seq[:n], teacher_states=t_states)  # eq. 10
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

    def _cls_loss(self, logits: torch.Tensor, labels: torch.Tensor | None, target: bool = False) -> torch.Tensor | None:
        if labels is None:
            return None
        labels = self._checked_labels(labels, logits.device)
        count = (labels != -100).sum()
        if not bool(count > 0):
            return None
        return self._cls_sum(logits, labels, target) / count

    # ------------------------------------------------------------------ path-by-path backward
    _PATH_BY_PATH_INPUTS = (
        "attention_mask", "token_type_ids", "word_ids", "labels", "source_attention_mask", "source_token_type_ids",
        "source_word_ids", "source_labels", "teacher_states", "teacher_weights", "soft_labels", "source_weights",
        "training_progress")

    def path_by_path_losses(self, input_ids: torch.LongTensor, source_input_ids: torch.LongTensor, **inputs):
        r"""The eq. 13 training loss in two exact parts, for a backward pass after each path (less peak memory).

        Takes the inputs of [`forward`]'s training call (`input_ids`, `source_input_ids` and, by keyword, the optional
        ones: masks, word ids, labels, the stage-2 `teacher_states` / `teacher_weights` / `soft_labels` /
        `source_weights`, `training_progress`).

        The teacher's states enter `L_R` detached (eq. 10), so `L = l1 L_T + l2 L_R + l3 L_S` splits into a source part
        (`L_T` and `L_S` terms of the English rows) and a target part (`L_T` and `L_S` terms of the Burmese rows, `L_R`,
        the mapping losses). A generator: it yields the source part, and after the caller's backward frees the
        source activations it runs the student path and yields the target part. The two gradients add up to the
        joint forward's (tested); peak activation memory is that of one path.

        Yields:
            `(torch.Tensor, dict)`: the part's loss (a scalar to call `backward` on) and, with the last part, the
            components `loss`, `loss_cls`, `loss_align`, `loss_domain`, `loss_mapping`, `loss_teacher`, `gate_mean`
            (detached).
        """
        unknown = sorted(set(inputs) - set(self._PATH_BY_PATH_INPUTS))
        if unknown:
            raise TypeError(f"path_by_path_losses got unexpected inputs {unknown}; it takes {self._PATH_BY_PATH_INPUTS}.")
        get = inputs.get
        attention_mask, source_attention_mask = get("attention_mask"), get("source_attention_mask")
        labels, source_labels = get("labels"), get("source_labels")
        teacher_states, soft_labels = get("teacher_states"), get("soft_labels")
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        if source_attention_mask is None:
            source_attention_mask = torch.ones_like(source_input_ids)
        source_labels, labels, count, strength = self._loss_setup(source_labels, labels, source_input_ids, input_ids,
                                                                   get("training_progress"), soft_labels)
        n_labelled, n_rows = count.float().clamp_min(1e-6), source_input_ids.shape[0] + input_ids.shape[0]
        teacher = self.ctam(source_input_ids, source_attention_mask, get("source_token_type_ids"),
                            get("source_word_ids"), is_target=False)  # English rows, no mapping
        src = self._source_terms(teacher, source_attention_mask, source_labels, n_labelled, n_rows, strength,
                                 cached_teacher=teacher_states is not None, source_weights=get("source_weights"))
        del teacher
        yield src.part, {}
        student = self.ctam(input_ids, attention_mask, get("token_type_ids"), get("word_ids"),
                            is_target=True)  # Burmese, mapped
        tgt = self._target_terms(student, attention_mask, labels, src, n_labelled, n_rows, strength, teacher_states,
                                 get("teacher_weights"), soft_labels)
        detached = lambda t: None if t is None else t.detach()  # noqa: E731
        components = {
            "loss": src.part.detach() + tgt.part.detach(),
            "loss_cls": (src.ce_sum.detach() + tgt.ce_sum.detach()) / n_labelled,
            "loss_align": detached(tgt.loss_align),
            "loss_domain": None if src.domain_sum is None else (src.domain_sum.detach() + tgt.domain_sum.detach()) / n_rows,
            "loss_mapping": detached(tgt.loss_mapping),
            "loss_teacher": detached(src.loss_teacher),
            "gate_mean": gate_mean(student.gate, attention_mask),
        }
        yield tgt.part, components


__all__ = ["CTAMModel", "CTAMForSequenceClassification", "CTAMPreTrainedModel", "CTAMModelOutput",
           "CTAMSequenceClassifierOutput"]
