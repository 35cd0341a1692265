"""CTAM model configuration.

One field per choice that ``docs/method.md`` leaves open, so that a checkpoint's ``config.json`` says exactly which
reading of the paper it was trained with. The encoder is any Hugging Face encoder; its configuration is held as the
sub-config ``encoder_config``.
"""

from __future__ import annotations

from transformers import AutoConfig, PreTrainedConfig
from transformers.configuration_utils import SubConfigSpec

POOLING_MODES = ("mean", "first")
GATE_TYPES = ("vector", "scalar")
GRL_SCHEDULES = ("dann", "constant")
PAIRING_MODES = ("random", "label", "parallel")
ALIGN_WEIGHTINGS = ("attention", "uniform")
ALIGN_REDUCTIONS = ("mean", "normalized", "sum")
STUDENT_GRU_INITS = ("independent", "teacher")
STATIC_POOLING_MODES = ("word_form", "occurrence")
VECMAP_INTEGRATIONS = ("fusion", "init", "aux_loss")

LEGACY_DEFAULTS = {"align_reduction": "sum"}
"""Fields whose default changed, with the old default: a saved config.json that lacks one was written when the old
default applied (every CTAM config.json written since the field exists carries it), so it loads with the old value."""

RETIRED_FIELDS = ("source_language",)
"""Fields that are gone (nothing read them); a saved config.json that carries one still loads, without it."""


DEFAULT_NGRAM_BUCKETS = 1048573  # the largest prime below 2^20
NGRAM_HEAD_DEFAULTS = {"max_order": 3, "buckets": DEFAULT_NGRAM_BUCKETS, "weight": 0.5, "ignore_ids": []}


def resolve_ngram_head_config(spec: dict | None) -> dict | None:
    """`CTAMConfig.ngram_head` with its defaults filled in and checked; `None` (no n-gram view) stays `None`."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ValueError(
            f"CTAMConfig.ngram_head={spec!r} must be a dict (keys {sorted(NGRAM_HEAD_DEFAULTS)}) or None."
        )
    unknown = sorted(set(spec) - set(NGRAM_HEAD_DEFAULTS))
    if unknown:
        raise ValueError(f"CTAMConfig.ngram_head has unknown keys {unknown}; use {sorted(NGRAM_HEAD_DEFAULTS)}.")
    out = {**NGRAM_HEAD_DEFAULTS, **spec}
    if out["max_order"] not in (1, 2, 3):
        raise ValueError(f"CTAMConfig.ngram_head max_order={out['max_order']!r} must be 1, 2 or 3.")
    if not isinstance(out["buckets"], int) or out["buckets"] < 2:
        raise ValueError(
            f"CTAMConfig.ngram_head buckets={out['buckets']!r} must be an integer >= 2 (a prime is best)."
        )
    if not isinstance(out["weight"], (int, float)) or not 0.0 <= out["weight"] <= 1.0:
        raise ValueError(
            f"CTAMConfig.ngram_head weight={out['weight']!r} must lie in [0, 1] (the n-gram view's share)."
        )
    out["ignore_ids"] = sorted({int(i) for i in out["ignore_ids"]})
    return out


class CTAMConfig(PreTrainedConfig):
    r"""
    Configuration of a CTAM model (VXLM encoder + dual-path attention supervision + domain discriminator).

    Args:
        encoder_config (`dict` or `PreTrainedConfig`, *optional*):
            Configuration of the encoder (any Hugging Face encoder that returns per-layer hidden states). A dict must
            carry `model_type`. Defaults to an `xlm-roberta` configuration (the paper's `FacebookAI/xlm-roberta-base`).
        use_vxlm (`bool`, *optional*, defaults to `True`):
            Fuse VecMap static vectors into the encoder output with the eq. 3 gate. `False` gives the `xlmr-base`
            ablation (encoder + classifier).
        static_layer (`int`, *optional*):
            Hidden-state index `l` used for eq. 1 static word vectors (0 = embeddings, `i` = output of layer `i`).
            Defaults to the last layer (`num_hidden_layers`): the best layer by bilingual-lexicon-induction
            precision@1 on the offline encoder's dev dictionary (table in docs/alignment.md; rerun
            `bench/static_layer.py --encoder NAME` for another encoder).
        static_pooling (`str`, *optional*, defaults to `"word_form"`):
            Eq. 1 grouping: `"word_form"` averages every occurrence of a word form in a sequence, `"occurrence"`
            averages each occurrence on its own (cheaper, a departure from eq. 1).
        vecmap_integrations (`list[str]`, *optional*, defaults to `["fusion", "init"]`):
            Which of the paper's three ways bring the mapping in: `"fusion"` (eq. 3 gate), `"init"` (mapping
            initialised from the Procrustes solution), `"aux_loss"` (`||W h_static(my) - h_static(en)||^2` over
            dictionary pairs).
        mapping_trainable (`bool`, *optional*, defaults to `True`):
            Whether the eq. 2 mapping `W` stays trainable (the "dynamic mapping matrix").
        mapping_orthogonality_weight (`float`, *optional*, defaults to 0.0):
            Weight of the penalty `||W^T W - I||^2` added to the loss (0 disables it).
        aux_loss_weight (`float`, *optional*, defaults to 0.1):
            Weight of the auxiliary mapping loss when `"aux_loss"` is in `vecmap_integrations`.
        gate_type (`str`, *optional*, defaults to `"vector"`):
            Eq. 3 gate: `"vector"` (one gate per hidden unit and token) or `"scalar"` (one per token).
        pooling (`str`, *optional*, defaults to `"mean"`):
            Sentence pooling of the fused states for the classifier: `"mean"` over real tokens or `"first"` token.
        classifier_dropout (`float`, *optional*, defaults to 0.1):
            Dropout in the classification head.
        align_layers (`list[int]`, *optional*):
            Hidden-state indices whose masked means form the layer sequences `T_m` / `S_m` of the dual path. Defaults
            to every encoder layer (1..L).
        gru_hidden_size (`int`, *optional*):
            Hidden size of each direction of the teacher and student BiGRUs. Defaults to half the encoder hidden size.
        align_weighting (`str`, *optional*, defaults to `"attention"`):
            Eq. 10 weights: `"attention"` uses the eq. 7-9 weights `X_i`, `"uniform"` weights every teacher layer
            alike.
        align_reduction (`str`, *optional*, defaults to `"normalized"`):
            How eq. 10 reduces `(s_i - h'_i)^2` over the BiGRU units. `"normalized"`: the per-unit mean divided by the
            variance of the teacher states over the batch, scale-free (about 1 for an uninformed student): what puts
            `L_R` on the scale of `L_T` at the paper's weight 0.4 (docs/method-notes.md). `"mean"`: the plain per-unit
            mean, measured at about 0.015 on the offline encoder, too small to move anything. `"sum"`: the first
            reading, about 22 at the start, which let `L_R` dominate and collapse training. The first default was
            `"sum"`: a config.json without this key (written before the key existed) reads as `"sum"`, so older
            models keep the loss they were trained with ([`LEGACY_DEFAULTS`]).
        teacher_head (`bool`, *optional*, defaults to `False`):
            Give the teacher BiGRU a signal: a linear head on the mean of its states `h'`, trained with the English
            labels by cross-entropy beside `L_T` (a departure from the paper, whose BiGRU has no loss; method.md
            section 3). The head sees detached layer summaries, so it trains the BiGRU and not the encoder.
        student_gru_init (`str`, *optional*, defaults to `"independent"`):
            Initial weights of the student BiGRU: `"independent"` (its own random draw, method.md) or `"teacher"` (a
            copy of the teacher BiGRU's initial weights, so that at the start `L_R` measures how the two paths' layer
            summaries differ rather than how two random GRUs differ; docs/method-notes.md).
        share_encoder (`bool`, *optional*, defaults to `True`):
            Teacher and student share the encoder. `False` gives the student its own copy with the same initial
            weights.
        discriminator_hidden_size (`int`, *optional*):
            Hidden size of the eq. 11 domain discriminator MLP. Defaults to half the encoder hidden size.
        grl_schedule (`str`, *optional*, defaults to `"dann"`):
            Gradient-reversal strength over training: `"dann"` ramps `2/(1+exp(-gamma p)) - 1` with `p` the fraction of
            training done, `"constant"` keeps `grl_lambda`.
        grl_lambda (`float`, *optional*, defaults to 1.0):
            Maximum (or constant) gradient-reversal strength.
        grl_gamma (`float`, *optional*, defaults to 10.0):
            Steepness `gamma` of the DANN ramp.
        lambda_cls (`float`, *optional*, defaults to 1.0):
            Weight `l1` of the classification loss `L_T` (eq. 13).
        lambda_align (`float`, *optional*, defaults to 0.4):
            Weight `l2` of the dual-path attention loss `L_R` (eq. 13). 0 switches the dual path off.
        lambda_domain (`float`, *optional*, defaults to 0.1):
            Weight `l3` of the domain loss `L_S` (eq. 13). 0 switches the discriminator off.
        pairing (`str`, *optional*, defaults to `"random"`):
            How each Burmese example is paired with an English one for training: `"random"`, `"label"`, `"parallel"`.
        target_language (`str`, *optional*, defaults to `"my"`):
            Language of the target data (student path, inference).
        ngram_head (`dict`, *optional*):
            The n-gram view (beyond the paper; `ngram_head.py`, docs/transfer.md): a linear model over hashed token
            n-grams whose log-posterior is mixed into the student's, `{"max_order": 3, "buckets": 1048573,
            "weight": 0.5, "ignore_ids": [...]}` (missing keys take these defaults). `None` (default): no n-gram view.
            The recipe sets it when it fits the head (`ngram_view: true`).
        encoder_name_or_path (`str`, *optional*):
            Where the encoder's pretrained weights came from (a Hub id or the offline alias); informational, used by
            the model card's `base_model`.
    """

    model_type = "ctam"
    # Output fields that are not predictions: Trainer leaves them out of `EvalPrediction.predictions`.
    keys_to_ignore_at_inference = [
        "loss_cls",
        "loss_align",
        "loss_domain",
        "loss_mapping",
        "loss_teacher",
        "gate_mean",
        "source_logits",
        "layer_weights",
        "hidden_states",
        "attentions",
    ]
    sub_configs_defaults = {
        "encoder_config": SubConfigSpec(config_class=AutoConfig, model_type="xlm-roberta"),
    }

    encoder_config: dict | PreTrainedConfig | None = None
    use_vxlm: bool = True
    static_layer: int | None = None
    static_pooling: str = "word_form"
    vecmap_integrations: list[str] | None = None
    mapping_trainable: bool = True
    mapping_orthogonality_weight: float = 0.0
    aux_loss_weight: float = 0.1
    gate_type: str = "vector"
    pooling: str = "mean"
    classifier_dropout: float = 0.1
    align_layers: list[int] | None = None
    gru_hidden_size: int | None = None
    align_weighting: str = "attention"
    align_reduction: str = "normalized"
    teacher_head: bool = False
    student_gru_init: str = "independent"
    share_encoder: bool = True
    discriminator_hidden_size: int | None = None
    grl_schedule: str = "dann"
    grl_lambda: float = 1.0
    grl_gamma: float = 10.0
    lambda_cls: float = 1.0
    lambda_align: float = 0.4
    lambda_domain: float = 0.1
    pairing: str = "random"
    target_language: str = "my"
    encoder_name_or_path: str | None = None
    ngram_head: dict | None = None

    @classmethod
    def from_dict(cls, config_dict: dict, **kwargs) -> CTAMConfig:
        """`PreTrainedConfig.from_dict` (what `from_pretrained` reads config.json with), keeping saved configs' meaning
        across changed defaults ([`LEGACY_DEFAULTS`]) and dropping retired fields ([`RETIRED_FIELDS`])."""
        config_dict = {**LEGACY_DEFAULTS, **config_dict}
        config_dict = {key: value for key, value in config_dict.items() if key not in RETIRED_FIELDS}
        return super().from_dict(config_dict, **kwargs)

    def __post_init__(self, **kwargs):
        if isinstance(self.encoder_config, dict) and "model_type" not in self.encoder_config:
            raise ValueError(
                "CTAMConfig.encoder_config is a dict without `model_type`; add it (e.g. 'xlm-roberta', 'bert') or "
                "pass a config object such as AutoConfig.from_pretrained('FacebookAI/xlm-roberta-base')."
            )
        super().__post_init__(**kwargs)
        if self.static_layer is None:
            self.static_layer = getattr(
                self.encoder_config, "num_hidden_layers", 0
            )  # best BLI layer, docs/alignment.md
        if self.vecmap_integrations is None:
            self.vecmap_integrations = ["fusion", "init"]
        self.vecmap_integrations = list(self.vecmap_integrations)
        self._validate()

    # ------------------------------------------------------------------ validation
    def _choice(self, name: str, allowed: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in allowed:
            raise ValueError(f"CTAMConfig.{name}={value!r} is not supported; use one of {list(allowed)}.")

    def _validate(self) -> None:
        enc = self.encoder_config
        num_layers = getattr(enc, "num_hidden_layers", None)
        hidden = getattr(enc, "hidden_size", None)
        if num_layers is None or hidden is None:
            raise ValueError(
                f"CTAMConfig.encoder_config ({type(enc).__name__}) has no `num_hidden_layers`/`hidden_size`; "
                "CTAM needs an encoder that returns per-layer hidden states (e.g. XLM-R, BERT, DeBERTa)."
            )
        if not 0 <= self.static_layer <= num_layers:
            raise ValueError(
                f"CTAMConfig.static_layer={self.static_layer} is out of range: the encoder has {num_layers} layers, "
                f"so use an index in 0..{num_layers} (0 = embeddings, i = output of layer i)."
            )
        if self.align_layers is not None:
            layers = list(self.align_layers)
            if not layers:
                raise ValueError("CTAMConfig.align_layers is empty; give at least one layer index or None for all.")
            bad = [m for m in layers if not isinstance(m, int) or not 0 <= m <= num_layers]
            if bad:
                raise ValueError(
                    f"CTAMConfig.align_layers has indices {bad} outside 0..{num_layers} (the encoder has {num_layers} "
                    f"layers)."
                )
            if len(set(layers)) != len(layers):
                raise ValueError(f"CTAMConfig.align_layers={layers} repeats a layer; list each layer once.")
            self.align_layers = layers
        for name, allowed in (
            ("static_pooling", STATIC_POOLING_MODES),
            ("gate_type", GATE_TYPES),
            ("pooling", POOLING_MODES),
            ("align_weighting", ALIGN_WEIGHTINGS),
            ("align_reduction", ALIGN_REDUCTIONS),
            ("student_gru_init", STUDENT_GRU_INITS),
            ("grl_schedule", GRL_SCHEDULES),
            ("pairing", PAIRING_MODES),
        ):
            self._choice(name, allowed)
        unknown = [v for v in self.vecmap_integrations if v not in VECMAP_INTEGRATIONS]
        if unknown:
            raise ValueError(
                f"CTAMConfig.vecmap_integrations has unknown entries {unknown}; use a subset of "
                f"{list(VECMAP_INTEGRATIONS)}."
            )
        for name in (
            "lambda_cls",
            "lambda_align",
            "lambda_domain",
            "mapping_orthogonality_weight",
            "aux_loss_weight",
            "grl_lambda",
            "grl_gamma",
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"CTAMConfig.{name}={value!r} must be a non-negative number.")
        if not 0.0 <= self.classifier_dropout < 1.0:
            raise ValueError(f"CTAMConfig.classifier_dropout={self.classifier_dropout} must lie in [0, 1).")
        for name in ("gru_hidden_size", "discriminator_hidden_size"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value <= 0):
                raise ValueError(
                    f"CTAMConfig.{name}={value!r} must be a positive integer or None (half the hidden size)."
                )
        self.ngram_head = resolve_ngram_head_config(self.ngram_head)
        if self.num_labels is not None and self.num_labels < 2:
            raise ValueError(f"CTAMConfig.num_labels={self.num_labels}: CTAM is a classifier, use at least 2 labels.")

    # ------------------------------------------------------------------ derived sizes
    @property
    def hidden_size(self) -> int:
        """The encoder's hidden size `d`."""
        return self.encoder_config.hidden_size

    @property
    def resolved_align_layers(self) -> list[int]:
        """Hidden-state indices used by the dual path (`align_layers`, or every layer 1..L)."""
        if self.align_layers is not None:
            return list(self.align_layers)
        return list(range(1, self.encoder_config.num_hidden_layers + 1))

    @property
    def resolved_gru_hidden_size(self) -> int:
        return self.gru_hidden_size or max(1, self.hidden_size // 2)

    @property
    def resolved_discriminator_hidden_size(self) -> int:
        return self.discriminator_hidden_size or max(1, self.hidden_size // 2)


__all__ = ["CTAMConfig"]
