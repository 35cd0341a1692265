"""The model card (``README.md``) of a CTAM Hub repository, and its local checks.

Metadata (YAML header, built with ``huggingface_hub.ModelCardData``):

- ``library_name: transformers``, ``pipeline_tag: text-classification``, ``language: [my, en]``, ``license``,
  ``base_model`` (the encoder's Hub id), ``datasets`` (Hub ids of the training corpora), ``tags``;
- ``widget``: Burmese examples, each with the ``output`` the built folder's pipeline really gives for it (the model
  page's widget cannot run custom code, so these outputs are what a visitor sees); one example is the Zawgyi-encoded
  twin of another and carries the same output;
- ``model-index``: the evaluation results (``eval.py``'s ``metrics.json``, else ``train.py``'s
  ``dev_metrics.json``: one schema, :func:`modeling_ctam.evaluation.metrics.metrics_record`) as
  ``huggingface_hub.EvalResult`` entries.

The body is ``templates/model_card_template.md`` (Jinja), filled from config.json, ``train_config.json`` and the
metrics record.

:func:`check_card` validates the metadata locally: ``ModelCard.validate()`` posts the card to the Hub's
``/api/validate-yaml`` and needs the network, so the dry run re-parses the card with ``ModelCard.load`` and
``ModelCardData`` (which parses ``model-index`` into ``EvalResult`` objects and raises on malformed entries) and
checks each field this project relies on. :mod:`modeling_ctam.hub.push` also calls ``ModelCard.validate()`` before
uploading.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from ..utils.paths import is_hub_id
from .record import DATASET_HUB_IDS, find_key

TEMPLATE_PATH = Path(__file__).resolve().parent / "templates" / "model_card_template.md"
LICENSE_ID = re.compile(r"^[a-z0-9][a-z0-9.\-]*$")
REVISION_PLACEHOLDER = "<commit-sha>"

# Short product reviews written for the widget (Unicode Burmese; every word is in burmesenlp's lexicon). The Zawgyi
# twin of each is made with python-myanmar's converter while building, and one twin is shown as a widget example of
# its own. Avoid dot-below + asat (e.g. "သင့်"): python-myanmar writes it as Unicode U+1037 U+103A, which in Zawgyi
# reads as a medial ya (U+103A is ya-pin there), so its "Zawgyi" would not be the same sentence.
WIDGET_TEXTS = (
    {"text": "ဒီဖုန်းက အရမ်းကောင်းတယ်။ ဘက်ထရီလည်း ကြာကြာခံတယ်။", "example_title": "Praise (phone, battery)"},
    {"text": "ပစ္စည်းက ပျက်နေတယ်။ ငွေအလကားကုန်တာပဲ။", "example_title": "Complaint (broken item)"},
    {"text": "ပို့ဆောင်မှု မြန်ပြီး ဈေးနှုန်းလည်း သက်သာတယ်။", "example_title": "Praise (delivery, price)"},
    {"text": "အရည်အသွေး မကောင်းဘူး။ ထပ်မဝယ်တော့ဘူး။", "example_title": "Complaint (quality)"},
)
ZAWGYI_WIDGET_INDEX = 1  # which example also appears in Zawgyi encoding

CITATIONS = (TEMPLATE_PATH.parent / "citations.bib").read_text(encoding="utf-8").rstrip("\n")
"""The BibTeX entries of the card's citation section (`templates/citations.bib`)."""


# ---------------------------------------------------------------------------------------------------------------------
# Widget
# ---------------------------------------------------------------------------------------------------------------------
def to_zawgyi(text: str) -> str | None:
    """`text` in Zawgyi encoding (python-myanmar's converter, independent of burmese.py's burmesenlp), or `None`
    when the conversion leaves it unchanged."""
    from myanmar import converter

    zawgyi = converter.convert(text, "unicode", "zawgyi")
    return zawgyi if zawgyi != text else None


def widget_examples(texts: Sequence[dict] | None = None) -> list[dict]:
    """The examples to run: `{"text", "example_title", "zawgyi"}`. The Zawgyi twin of each text is taken from the
    item's own `"zawgyi"` when given, else made with python-myanmar's converter."""
    out = []
    for i, item in enumerate(texts or WIDGET_TEXTS):
        item = {"text": item} if isinstance(item, str) else dict(item)
        if not isinstance(item.get("text"), str) or not item["text"].strip():
            raise ValueError(f"widget example {i} has no text")
        item.setdefault("example_title", f"Example {i + 1}")
        if not item.get("zawgyi"):
            item["zawgyi"] = to_zawgyi(item["text"])
        out.append(item)
    return out


def _rounded(scores: list[dict]) -> list[dict]:
    return [{"label": s["label"], "score": round(float(s["score"]), 4)} for s in scores]


def widget_from_predictions(examples: Sequence[dict], predictions: Sequence[dict]) -> list[dict]:
    """`widget:` entries with the pipeline's outputs (all labels, best first, scores to 4 decimals)."""
    widget = []
    for example, row in zip(examples, predictions):
        widget.append(
            {
                "text": example["text"],
                "example_title": example["example_title"],
                "output": _rounded(row["text"]["scores"]),
            }
        )
    if 0 <= ZAWGYI_WIDGET_INDEX < len(predictions) and "zawgyi" in predictions[ZAWGYI_WIDGET_INDEX]:
        example = examples[ZAWGYI_WIDGET_INDEX]
        widget.append(
            {
                "text": example["zawgyi"],
                "example_title": f"{example['example_title']}, Zawgyi-encoded",
                "output": _rounded(predictions[ZAWGYI_WIDGET_INDEX]["zawgyi"]["scores"]),
            }
        )
    return widget


# ---------------------------------------------------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------------------------------------------------
def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def metric(metrics: dict | None, name: str) -> float | None:
    """``metrics[name]`` of a metrics record, when it is a finite number."""
    return _number((metrics or {}).get(name))


def per_class_rows(metrics: dict | None, labels: Sequence[str]) -> list[dict]:
    """Per-class precision / recall / F1 / support rows from the record's ``per_class`` ({label: {...}})."""
    table = (metrics or {}).get("per_class") or {}
    rows = []
    for label in labels:
        entry = table.get(label) or {}
        row = {"label": label, **{key: _number(entry.get(key)) for key in ("precision", "recall", "f1", "support")}}
        if any(row[k] is not None for k in ("precision", "recall", "f1")):
            rows.append(row)
    return rows


def confusion_matrix(metrics: dict | None, labels: Sequence[str]) -> tuple[list[list[int]] | None, list[str]]:
    """``(matrix, label order)`` from the record's ``confusion_matrix`` (``{"labels", "matrix"}``)."""
    table = (metrics or {}).get("confusion_matrix")
    if not isinstance(table, dict):
        return None, list(labels)
    return table.get("matrix"), [str(v) for v in table.get("labels") or labels]


def majority_baseline(metrics: dict | None) -> dict | None:
    """The record's ``majority_baseline`` (:func:`modeling_ctam.evaluation.metrics.majority_baseline`)."""
    baseline = (metrics or {}).get("majority_baseline")
    return baseline if isinstance(baseline, dict) else None


def confusion_lines(matrix: list[list[int]] | None, labels: Sequence[str]) -> list[str]:
    """The confusion matrix as Markdown table lines (rows: true class, columns: predicted class)."""
    if not matrix or len(matrix) != len(labels) or any(len(row) != len(labels) for row in matrix):
        return []
    lines = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    lines += [f"| **{label}** | " + " | ".join(str(v) for v in row) + " |" for label, row in zip(labels, matrix)]
    return lines


def eval_dataset(record) -> dict:
    """What the reported metrics were computed on: Hub id, readable name, split, size. From the metrics record
    (``data``, ``split``, ``label_scheme``, ``n_examples``, ``max_length``), else the training configuration
    (``target_dev``, ``labels``); GKLMIP by default (the project's Burmese evaluation set)."""
    metrics, train_config = record.metrics or {}, record.train_config or {}
    name = metrics.get("data") or find_key(train_config, "target_dev")
    hub_id = _dataset_hub_id(name) if isinstance(name, str) else None
    hub_id = hub_id or "SEACrowd/gklmip_sentiment"
    split = metrics.get("split")
    if not split and isinstance(name, str):
        base = Path(name).name.lower()
        split = next(
            (
                s
                for key, s in (("dev", "validation"), ("valid", "validation"), ("test", "test"), ("train", "train"))
                if key in base
            ),
            None,
        )
    if not split and record.metrics_source == "dev_metrics.json":
        split = "validation"
    split = {"dev": "validation", "valid": "validation"}.get(str(split), split) if split else None
    scheme = metrics.get("label_scheme") or find_key(train_config, "labels", "label_scheme")
    readable = "GKLMIP product reviews (Burmese)" if hub_id == "SEACrowd/gklmip_sentiment" else hub_id
    if isinstance(scheme, str):
        readable += f", {scheme} labels"
    size = metrics.get("n_examples")
    max_length = metrics.get("max_length")
    return {
        "max_length": max_length if isinstance(max_length, int) else None,
        "type": hub_id,
        "name": readable,
        "split": split,
        "file": Path(name).name if isinstance(name, str) else None,
        "n_examples": size if isinstance(size, int) else None,
    }


def _dataset_hub_id(name: str) -> str | None:
    """The Hub id of a corpus named by Hub id or by a data path such as ``my/gklmip/...json``."""
    key = name.strip().lower()
    if key in DATASET_HUB_IDS:
        return DATASET_HUB_IDS[key]
    parts = [p.lower() for p in Path(name).parts] + [Path(name).stem.lower()]
    for part in parts:
        if part in DATASET_HUB_IDS:
            return DATASET_HUB_IDS[part]
    for part in parts:  # e.g. "sst2_train" or "product_sentiment_dataset_dev"
        for known, hub_id in DATASET_HUB_IDS.items():
            if "/" not in known and len(known) >= 4 and known in part:
                return hub_id
    return None


def eval_results(record, task_name: str = "Sentiment analysis") -> list[EvalResult]:
    """`EvalResult`s for macro-F1, weighted F1 and accuracy (whichever the metrics carry)."""
    dataset = eval_dataset(record)
    results = []
    for key, metric_type, name, args in (
        ("macro_f1", "f1", "Macro F1", {"average": "macro"}),
        ("weighted_f1", "f1", "Weighted F1", {"average": "weighted"}),
        ("accuracy", "accuracy", "Accuracy", None),
    ):
        value = metric(record.metrics, key)
        if value is None:
            continue
        results.append(
            EvalResult(
                task_type="text-classification",
                task_name=task_name,
                dataset_type=dataset["type"],
                dataset_name=dataset["name"],
                dataset_split=dataset["split"],
                metric_type=metric_type,
                metric_value=round(value, 4),
                metric_name=name,
                metric_args=args,
            )
        )
    return results


# ---------------------------------------------------------------------------------------------------------------------
# Training description
# ---------------------------------------------------------------------------------------------------------------------
def _short(value: Any) -> str:
    """A value for the card: file paths reduced to their last two parts (no machine paths on the Hub)."""
    if isinstance(value, str) and (os.path.isabs(value) or value.startswith(("~", "./", "../"))):
        parts = Path(value).parts
        return "/".join(parts[-2:]) if len(parts) >= 2 else parts[-1]
    if isinstance(value, (list, tuple)):
        return ", ".join(_short(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


TRAINING_KEYS = (
    # (label, keys looked up in train_config.json, breadth-first; the first key is the current name, later ones
    # are the names older runs recorded, e.g. `warmup` before the config took TrainingArguments' `warmup_steps`)
    ("encoder", ("encoder",)),
    ("preset", ("preset",)),
    ("setting", ("setting",)),
    ("label scheme", ("labels",)),
    ("English data", ("source_data",)),
    ("English examples", ("source_examples", "max_source_examples")),
    ("English labels", ("source_labels",)),
    ("Burmese training data", ("target_train",)),
    ("Burmese training examples", ("target_train_examples",)),
    ("Burmese training labels", ("target_train_labels",)),
    ("Burmese dev data", ("target_dev",)),
    ("Burmese dev labels", ("dev_labels",)),
    ("pairing", ("pairing",)),
    ("parallel data", ("parallel_data",)),
    ("VecMap alignment", ("alignment",)),
    ("max_length", ("max_length",)),
    ("word_ids", ("word_ids",)),
    ("frozen word embeddings", ("freeze_embeddings",)),
    ("frozen layers", ("freeze_layers",)),
    ("LoRA", ("lora",)),
    ("epochs", ("num_train_epochs",)),
    ("max_steps", ("max_steps",)),
    ("batch size (per device)", ("per_device_train_batch_size",)),
    ("gradient accumulation", ("gradient_accumulation_steps",)),
    ("learning rate", ("learning_rate",)),
    ("warmup", ("warmup_steps", "warmup")),
    ("weight decay", ("weight_decay",)),
    ("scheduler", ("lr_scheduler_type",)),
    ("seed", ("seed",)),
    ("class imbalance", ("imbalance_summary", "imbalance")),
    ("recipe", ("recipe",)),
    ("stage-1 steps", ("stage1_steps",)),
    ("stage-2 steps", ("stage2_steps",)),
    ("parallel share of stage 2", ("parallel_share",)),
    ("self-training", ("self_training",)),
    ("prior's held-out English", ("heldout_data",)),
    ("decision at the target prior", ("match_prior",)),
    ("model selection", ("metric_for_best_model",)),
    ("parameters", ("parameters",)),
    ("device", ("device",)),
    ("processes", ("world_size",)),
    ("mixed precision", ("mixed_precision",)),
    ("versions", ("versions",)),
)
# keys of the joint recipe's one Trainer run that the two-stage recipe replaces by its stage budgets (no checkpoint
# is chosen in either stage, and the stage-2 streams do their own pairing)
TWO_STAGE_UNUSED = ("epochs", "max_steps", "pairing", "model selection")
CONFIG_KEYS = (
    "use_vxlm",
    "vecmap_integrations",
    "static_layer",
    "lambda_cls",
    "lambda_align",
    "lambda_domain",
    "pooling",
    "gate_type",
    "align_weighting",
    "grl_schedule",
    "share_encoder",
)


def training_rows(train_config: dict | None, config: dict, metrics: dict | None = None) -> list[tuple[str, str]]:
    """(setting, value) rows for the card: the run's settings from ``train_config.json`` (file paths shortened,
    nothing machine-specific), the run's length from the metrics, then CTAM's own settings from config.json."""
    rows = []
    if train_config:
        two_stage = find_key(train_config, "recipe") == "two-stage"
        for label, keys in TRAINING_KEYS:
            if two_stage and label in TWO_STAGE_UNUSED:
                continue
            value = find_key(train_config, *keys)
            if value is None or value == {} or value == []:
                continue
            if label == "versions" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k in ("torch", "transformers", "peft", "accelerate")}
            rows.append((label, _short(value)))
    for label, key in (("training steps", "global_step"), ("wall time (s)", "wall_time_s")):
        value = (metrics or {}).get(key)
        if _number(value) is not None:
            rows.append((label, _short(value)))
    rows += [(f"config.{key}", _short(config[key])) for key in CONFIG_KEYS if key in config]
    return rows


# ---------------------------------------------------------------------------------------------------------------------
# The card
# ---------------------------------------------------------------------------------------------------------------------
def datasets_from(train_config: dict | None) -> list[str]:
    """Hub ids of the corpora the run trained on (``source_data``, ``target_train``, ``target_dev``,
    ``parallel_data`` of train_config.json); GKLMIP always (the Burmese data). Corpora with no Hub id are left out."""
    names = []
    for key in ("source_data", "target_train", "target_dev", "parallel_data"):
        value = find_key(train_config or {}, key)
        names += value if isinstance(value, list) else [value] if isinstance(value, str) else []
    found = ["SEACrowd/gklmip_sentiment"]
    for name in names:
        hub_id = _dataset_hub_id(str(name))
        if hub_id and hub_id not in found:
            found.append(hub_id)
    return found


def build_model_card(
    *,
    repo_id: str,
    config: dict,
    record,
    widget: list[dict],
    base_model: str,
    base_model_note: str | None,
    license: str,
    revision: str | None,
    requirements: Sequence[str],
    space_id: str | None = None,
    onnx: dict | None = None,
) -> ModelCard:
    """The model card of a built folder (see the module docstring)."""
    labels = [config["id2label"][k] for k in sorted(config["id2label"], key=int)]
    results = eval_results(record)
    model_name = repo_id.split("/")[-1]
    card_data = ModelCardData(
        language=["my", "en"],
        license=license,
        library_name="transformers",
        pipeline_tag="text-classification",
        base_model=base_model,
        datasets=datasets_from(record.train_config),
        tags=["ctam", "sentiment-analysis", "cross-lingual", "burmese", "myanmar", "zawgyi", "custom_code"],
        metrics=["f1", "accuracy"] if results else None,
        widget=widget,
        model_name=model_name if results else None,
        eval_results=results or None,
    )
    from ..data.burmese import ZAWGYI_THRESHOLD

    settings = config.get("ctam_inference") or {}
    if not config.get("use_vxlm", True):
        variant = "xlmr-base"
    elif not config.get("lambda_align") and not config.get("lambda_domain"):
        variant = "vxlm"
    else:
        variant = "ctam"
    encoder = config.get("encoder_config") or {}
    return ModelCard.from_template(
        card_data,
        template_path=str(TEMPLATE_PATH),
        repo_id=repo_id,
        model_title=model_name,
        revision=revision or REVISION_PLACEHOLDER,
        revision_pinned=bool(revision),
        labels=labels,
        base_model_id=base_model,
        base_model_note=base_model_note,
        encoder=encoder,
        settings=settings,
        config=config,
        variant=variant,
        training=training_rows(record.train_config, config, record.metrics),
        has_train_config=record.train_config is not None,
        results=[{"name": r.metric_name, "value": r.metric_value} for r in results],
        eval_dataset=eval_dataset(record) if results else None,
        metrics_source=record.metrics_source,
        per_class=per_class_rows(record.metrics, labels),
        confusion=confusion_lines(*confusion_matrix(record.metrics, labels)),
        baseline=majority_baseline(record.metrics),
        widget_examples=widget,
        requirements=list(requirements),
        zawgyi_threshold=ZAWGYI_THRESHOLD,
        citations=CITATIONS,
        space_id=space_id,
        onnx=onnx,
    )


# ---------------------------------------------------------------------------------------------------------------------
# Local checks
# ---------------------------------------------------------------------------------------------------------------------
def _yaml_header(text: str) -> dict:
    match = re.match(r"^---\n(.*?)\n---\n", text, flags=re.S)
    if not match:
        raise ValueError("README.md does not start with a YAML block between --- lines")
    data = yaml.safe_load(match.group(1))
    if not isinstance(data, dict):
        raise ValueError("the YAML header is not a mapping")
    return data


def check_card(path: str | os.PathLike, config: dict | None = None) -> list[str]:
    """Problems with a model card's metadata (empty list when it is valid for this project).

    Local stand-in for ``ModelCard.validate()`` (which needs the network): YAML parses; ``ModelCardData`` accepts
    it (``model-index`` parsed into ``EvalResult`` objects, raising on malformed entries); the fields a Hub model
    page uses are present and well-formed; widget outputs name the model's labels with scores in [0, 1] summing to
    1; the usage snippet pins a ``revision``.
    """
    problems: list[str] = []
    text = Path(path).read_text(encoding="utf-8")
    try:
        header = _yaml_header(text)
        # Parses `model-index` into EvalResult objects and validates them; raises on malformed metadata.
        card = ModelCard.load(path, ignore_metadata_errors=False)
        data = card.data.to_dict()
    except Exception as err:  # noqa: BLE001 - every parse failure is a card problem
        return [f"README.md metadata does not parse: {err}"]
    if data.get("library_name") != "transformers":
        problems.append("library_name must be 'transformers'")
    if data.get("pipeline_tag") != "text-classification":
        problems.append("pipeline_tag must be 'text-classification'")
    language = data.get("language")
    if not isinstance(language, list) or not {"my", "en"} <= set(language):
        problems.append(f"language must list my and en (got {language})")
    license_id = data.get("license")
    if not isinstance(license_id, str) or not LICENSE_ID.match(license_id):
        problems.append(f"license {license_id!r} is not a licence identifier")
    elif license_id == "other" and not (data.get("license_name") and data.get("license_link")):
        problems.append("license 'other' needs license_name and license_link")
    base_model = data.get("base_model")
    if not isinstance(base_model, str) or not is_hub_id(base_model):
        problems.append(f"base_model {base_model!r} is not a Hub model id")
    datasets = data.get("datasets")
    if (
        not isinstance(datasets, list)
        or not datasets
        or not all(isinstance(d, str) and is_hub_id(d) for d in datasets)
    ):
        problems.append(f"datasets {datasets!r} must be a list of Hub dataset ids")
    if not isinstance(data.get("tags"), list):
        problems.append("tags must be a list")
    labels = set((config or {}).get("id2label", {}).values())
    widget = data.get("widget")
    if not isinstance(widget, list) or not widget:
        problems.append("widget must be a non-empty list of examples")
        widget = []
    for i, example in enumerate(widget):
        if not isinstance(example, dict) or not isinstance(example.get("text"), str) or not example["text"].strip():
            problems.append(f"widget[{i}] has no text")
            continue
        if not re.search("[\u1000-\u109f]", example["text"]):
            problems.append(f"widget[{i}] is not Burmese text")
        output = example.get("output")
        if (
            not isinstance(output, list)
            or not output
            or not all(
                isinstance(o, dict)
                and isinstance(o.get("label"), str)
                and _number(o.get("score")) is not None
                and 0.0 <= o["score"] <= 1.0
                for o in output
            )
        ):
            problems.append(f"widget[{i}].output must be a list of {{label, score in [0, 1]}}")
            continue
        if labels and {o["label"] for o in output} != labels:
            names = [o["label"] for o in output]
            problems.append(f"widget[{i}].output labels {names} are not the model's {sorted(labels)}")
        if abs(sum(o["score"] for o in output) - 1.0) > 1e-3:
            problems.append(f"widget[{i}].output scores do not sum to 1")
        if any(re.fullmatch(r"LABEL_\d+", o["label"]) for o in output):
            problems.append(f"widget[{i}].output has generic LABEL_i names")
    if "model-index" in header:
        results = card.data.eval_results or []
        if not results:
            problems.append("model-index has no results")
        for r in results:
            if _number(r.metric_value) is None or not 0.0 <= r.metric_value <= 1.0:
                problems.append(f"model-index metric {r.metric_name} has value {r.metric_value!r}, not in [0, 1]")
            if not is_hub_id(r.dataset_type or ""):
                problems.append(f"model-index dataset type {r.dataset_type!r} is not a Hub dataset id")
    if "revision=" not in text:
        problems.append("the card's usage snippet does not pin a revision")
    if "trust_remote_code=True" not in text:
        problems.append("the card does not say that loading needs trust_remote_code=True")
    return problems
