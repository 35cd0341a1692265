"""`python eval.py [evaluate]`: score a model on a labelled dataset, writing the one metrics record (`metrics.json`),
`report.md`, the confusion matrix (paper figure 2) and `predictions.jsonl`."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

logger = logging.getLogger(__name__)


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `evaluate`."""
    from ..data.formats import DATA_FORMATS

    parser.add_argument("--model", required=True, help="Model folder (save_pretrained) or Hub id.")
    parser.add_argument(
        "--revision", default=None, help="Hub revision of the model to pin (recommended with Hub ids)."
    )
    parser.add_argument(
        "--trust-remote-code",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Load CTAM's modeling code saved with the model (default on; pin --revision for Hub "
        "ids). --no-trust-remote-code uses the installed modeling_ctam package instead.",
    )
    parser.add_argument("--data", required=True, help="Evaluation file, folder or Hub dataset id.")
    parser.add_argument(
        "--data-format",
        choices=DATA_FORMATS,
        default=None,
        help="Format of --data (inferred from the name when omitted).",
    )
    parser.add_argument(
        "--labels",
        choices=("binary", "three-class", "five-class"),
        default="binary",
        help="Label scheme of the data; must match the model's classes (default binary).",
    )
    parser.add_argument("--output-dir", required=True, help="Where metrics.json, report.md and the figure go.")
    parser.add_argument(
        "--split",
        default="validation",
        help="Hub split (default validation); local files are one split and ignore it.",
    )
    parser.add_argument("--text-column", default="text", help="Text column for csv/json/jsonl/hub data.")
    parser.add_argument("--label-column", default="label", help="Label column for csv/json/jsonl/hub data.")
    parser.add_argument(
        "--encoding",
        default=None,
        help="Text encoding of --data (default utf-8; latin-1 for the mr format), e.g. latin-1.",
    )
    parser.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="Skip rows with an unknown label, empty text or a text over 10,000 characters (or "
        "another malformed row), count them per reason in metrics.json and report.md, and go "
        "on. Without it the first bad row stops the run, naming its file and line.",
    )
    parser.add_argument(
        "--source-labels",
        default=None,
        help="What raw labels mean for generic files / unknown Hub ids: binary, stars, stars0, "
        "three-class (see modeling_ctam.data.load_examples).",
    )
    parser.add_argument(
        "--language",
        choices=("my", "en"),
        default=None,
        help="Language of the texts; Burmese texts get CTAM's Burmese preprocessing. Default: my for "
        "GKLMIP, en for sst2-tsv / uci-tsv / mr, the model's target_language (my) for "
        "csv / json / jsonl, the known language of a Hub id (else en).",
    )
    parser.add_argument("--batch-size", type=int, default=32, help="Texts per forward pass (default 32).")
    parser.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="Truncation length in tokens (default: the training run's max_length from the model "
        "folder's train_config.json, else 128).",
    )
    parser.add_argument(
        "--word-ids",
        action="store_true",
        help="Pass Burmese word-segmenter word_ids to the model (use it if the model was trained "
        "with them); default: the model's tokenizer word boundaries.",
    )
    parser.add_argument(
        "--method-name", default=None, help="Name of the method in tables and figures (e.g. xlmr-base, vxlm, ctam)."
    )
    parser.add_argument("--seed", type=int, default=None, help="Training seed of the model, recorded for tables.")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda if available).")
    parser.add_argument(
        "--max-examples", type=int, default=None, help="Score only the first N examples (smoke tests)."
    )
    parser.add_argument("--no-predictions", action="store_true", help="Do not write predictions.jsonl.")
    parser.add_argument("--no-figure", action="store_true", help="Do not draw confusion_matrix.png.")


def _load_config(name: str, revision: str | None, trust_remote_code: bool = True):
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name, revision=revision, trust_remote_code=trust_remote_code)
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: cannot load a model config from {name!r}: {err}") from err


def _load_model(name: str, revision: str | None, device, trust_remote_code: bool = True):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        model = AutoModelForSequenceClassification.from_pretrained(
            name, revision=revision, trust_remote_code=trust_remote_code, dtype=torch.float32
        )
    except (OSError, ValueError) as err:  # missing, truncated or garbage weights; weights that disagree with config
        raise SystemExit(f"error: --model {name}: cannot load the model: {err}") from err
    try:
        tokenizer = AutoTokenizer.from_pretrained(name, revision=revision)
    except (OSError, ValueError) as err:
        raise SystemExit(
            f"error: {name!r} has no tokenizer ({err}); save the tokenizer next to the model "
            "(tokenizer.save_pretrained(model_dir)), as train.py does."
        ) from err
    return model.to(device).eval(), tokenizer


_LEARNED_OFFSET_TYPES = ("roberta", "xlm-roberta", "xlm-roberta-xl", "camembert", "longformer", "data2vec-text")


def model_max_tokens(config, tokenizer=None) -> int | None:
    """The longest input (in tokens) the model's position embeddings allow, or `None` when unknown.

    RoBERTa-family encoders (XLM-R) start positions after the padding index, so they fit
    ``max_position_embeddings - pad_token_id - 1`` tokens; others fit ``max_position_embeddings``. A tokenizer's
    ``model_max_length`` lowers the limit further when it is a real value.
    """
    encoder = getattr(config, "encoder_config", None) or config
    limit = getattr(encoder, "max_position_embeddings", None)
    if limit is not None and getattr(encoder, "model_type", "") in _LEARNED_OFFSET_TYPES:
        limit -= (getattr(encoder, "pad_token_id", None) or 0) + 1
    tokenizer_limit = getattr(tokenizer, "model_max_length", None)
    if tokenizer_limit is not None and tokenizer_limit < 1_000_000:
        limit = tokenizer_limit if limit is None else min(limit, tokenizer_limit)
    return limit


def trained_max_length(model: str) -> int | None:
    """The `max_length` a local model folder was trained with (`train_config.json`, written by train.py), if any."""
    record = Path(model) / "train_config.json"
    if not record.is_file():
        return None
    try:
        value = (json.loads(record.read_text(encoding="utf-8")).get("config") or {}).get("max_length")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 0 else None


def run_evaluate(args: argparse.Namespace, argv: list[str] | None = None) -> dict:
    """``python eval.py evaluate``: score a model on a labelled dataset; returns the metrics record."""
    import torch

    from ..data import LABEL_SCHEMES, get_load_stats, load_examples, resolve_format
    from ..utils.paths import sha256_file
    from .figures import plot_confusion_matrix
    from .metrics import metrics_record, write_metrics
    from .predict import predict, resolve_label_names
    from .report import render_report

    out = Path(args.output_dir)
    if out.exists() and not out.is_dir():  # before any scoring, not after it
        raise SystemExit(f"error: --output-dir {out} is an existing file; give a folder (it will hold metrics.json).")
    if args.max_length is None:
        args.max_length = trained_max_length(args.model) or 128
    for name in ("batch_size", "max_length"):
        if getattr(args, name) < 1:
            raise SystemExit(f"error: --{name.replace('_', '-')} must be a positive integer.")
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    config = _load_config(args.model, args.revision, args.trust_remote_code)
    # the label check needs only the config: fail before loading weights or data
    label_names, remap = resolve_label_names(
        getattr(config, "id2label", None), config.num_labels, LABEL_SCHEMES[args.labels], args.labels
    )
    model, tokenizer = _load_model(args.model, args.revision, device, args.trust_remote_code)
    limit = model_max_tokens(config, tokenizer)
    if limit is not None and args.max_length > limit:
        logger.warning(
            "--max-length %d is more than the model's %d positions allow; using %d.", args.max_length, limit, limit
        )
        args.max_length = limit

    language = args.language
    data_format = resolve_format(args.data, args.data_format)
    if language is None and data_format in ("csv", "json", "jsonl"):
        # generic files carry no language: assume the model's target language (Burmese for CTAM)
        language = getattr(config, "target_language", None)
        language = language if language in ("my", "en") else "my"
    dataset = load_examples(
        args.data,
        data_format,
        split=args.split,
        labels=args.labels,
        text_column=args.text_column,
        label_column=args.label_column,
        source_labels=args.source_labels,
        language=language,
        on_error="skip" if args.skip_bad_rows else "raise",
        encoding=args.encoding,
    )
    stats = get_load_stats(dataset)
    language = language or (stats.language if stats is not None else None) or "my"
    if args.max_examples is not None:
        dataset = dataset.select(range(min(args.max_examples, len(dataset))))
    references = [int(x) for x in dataset["label"]]
    if any(r < 0 for r in references):
        n = sum(1 for r in references if r < 0)
        raise SystemExit(
            f"error: {n} of {len(references)} rows of {args.data} have no label; evaluation needs labels "
            "(check --label-column)."
        )
    if not references:
        raise SystemExit(f"error: {args.data} gave no examples under --labels {args.labels}.")
    texts = list(dataset["text"])
    logger.info("Scoring %d examples of %s with %s on %s", len(texts), args.data, args.model, device)
    predictions, info = predict(
        model,
        tokenizer,
        texts,
        language=language,
        batch_size=args.batch_size,
        max_length=args.max_length,
        word_ids=args.word_ids,
        device=device,
    )
    model_predictions = predictions
    if remap is not None:
        predictions = [remap[p] for p in predictions]

    record = metrics_record(
        references,
        predictions,
        label_names,
        model=args.model,
        model_revision=args.revision,
        method=args.method_name,
        seed=args.seed,
        data=args.data,
        data_name=Path(str(args.data)).name,
        data_sha256=sha256_file(args.data),
        data_format=stats.data_format if stats is not None else args.data_format,
        split=args.split if (stats is not None and stats.data_format == "hub") else None,
        label_scheme=args.labels,
        language=language,
        max_length=args.max_length,
        word_ids=bool(args.word_ids),
        num_truncated=info["num_truncated"],
        seconds=round(info["seconds"], 2),
        model_id2label={
            str(i): str(config.id2label.get(i, config.id2label.get(str(i), i))) for i in range(config.num_labels)
        }
        if getattr(config, "id2label", None)
        else None,
        data_stats={
            "rows_read": stats.rows_read,
            "rows_kept": stats.rows_kept,
            "dropped": stats.dropped,
            "skipped": stats.skipped,
        }
        if stats is not None
        else None,
        command="python eval.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
    )
    out.mkdir(parents=True, exist_ok=True)
    figure = None
    if not args.no_figure:
        title = f"{args.method_name or Path(args.model).name}: {Path(str(args.data)).name} (n={len(references)})"
        figure = plot_confusion_matrix(
            record["confusion_matrix"]["matrix"], label_names, out / "confusion_matrix.png", title=title
        ).name
        record["confusion_matrix_png"] = figure
    write_metrics(record, out / "metrics.json")
    (out / "report.md").write_text(render_report(record, figure), encoding="utf-8")
    if not args.no_predictions:
        with (out / "predictions.jsonl").open("w", encoding="utf-8") as handle:
            lines = dataset["source_line"] if "source_line" in dataset.column_names else [None] * len(texts)
            model_names = [
                str(config.id2label.get(i, config.id2label.get(str(i), i))) for i in range(config.num_labels)
            ]
            for where, ref, pred, raw, probs in zip(
                lines, references, predictions, model_predictions, info["probabilities"]
            ):
                handle.write(
                    json.dumps(
                        {
                            "source_line": where,
                            "label": label_names[ref],
                            "prediction": label_names[pred],
                            "model_class": raw,
                            "probabilities": dict(zip(model_names, probs)),
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
    print(
        f"{args.method_name or args.model}: macro-F1 {record['macro_f1']:.4f}  weighted-F1 "
        f"{record['weighted_f1']:.4f}  accuracy {record['accuracy']:.4f}  (n={record['n_examples']}) -> {out}"
    )
    return record
