#!/usr/bin/env python
# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""Evaluate a CTAM (or any sequence-classification) model, and build the paper's figures and tables.

Commands (the first one is the default, so ``python eval.py --model ...`` evaluates)::

    python eval.py [evaluate] --model PATH_OR_HUB_ID --data FILE_OR_HUB_ID --data-format gklmip-json \\
        --labels binary --output-dir DIR [--batch-size 32 --max-length 128 --split validation \\
        --text-column text --label-column label --method-name ctam --seed 1 --word-ids --device cpu]
        -> DIR/metrics.json, DIR/report.md, DIR/confusion_matrix.png (paper figure 2), DIR/predictions.jsonl

    python eval.py f1-bars METRICS... --output FIG.png [--method-order xlmr-base vxlm ctam]
        -> per-class F1 bars across methods, mean and error bars over seeds (paper figure 3)

    python eval.py ablation-table METRICS... --output-dir DIR [--name NAME --baseline xlmr-base --method-order ...]
        -> DIR/NAME.json and DIR/NAME.md: mean ± std over seeds per method (paper tables 1-2)

    python eval.py cosine-table --mapping MODEL_OR_ALIGNMENT_DIR [--vectors-dir ALIGNMENT_DIR | --source-vectors \\
        en.txt --target-vectors my.txt] --output-dir DIR [--pairs PAIRS.txt --data-dir DATA]
        -> DIR/cosine_distance.json and .md: 1 - cos of word pairs before / after the eq. 2 mapping (paper table 3)

METRICS arguments are ``metrics.json`` files or folders holding one; they are grouped by their ``method`` field
(``--method-name`` at evaluation), or ``NAME=PATH`` forces a name. See docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

logger = logging.getLogger("ctam.eval")

COMMANDS = ("evaluate", "f1-bars", "ablation-table", "cosine-table")


# --------------------------------------------------------------------------------------------------------------------
# evaluate
# --------------------------------------------------------------------------------------------------------------------


def add_evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from modeling_ctam.data.formats import DATA_FORMATS

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
        import modeling_ctam  # noqa: F401  (registers CTAM with the Auto classes when the package is installed)
    except ImportError:
        pass
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

    from modeling_ctam.data import LABEL_SCHEMES, get_load_stats, load_examples, resolve_format
    from modeling_ctam.evaluation.figures import plot_confusion_matrix
    from modeling_ctam.evaluation.metrics import metrics_record, write_metrics
    from modeling_ctam.evaluation.predict import predict, resolve_label_names
    from modeling_ctam.evaluation.report import render_report
    from modeling_ctam.utils.paths import sha256_file

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


# --------------------------------------------------------------------------------------------------------------------
# figures and tables from metrics.json files
# --------------------------------------------------------------------------------------------------------------------


def _add_metrics_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "metrics", nargs="+", help="metrics.json files or folders holding one; NAME=PATH forces the method name."
    )
    parser.add_argument("--method-order", nargs="+", default=None, help="Methods in this order (others after).")
    parser.add_argument("--title", default=None, help="Title of the figure or table.")


def run_f1_bars(args: argparse.Namespace) -> Path:
    from modeling_ctam.evaluation.figures import plot_per_class_f1
    from modeling_ctam.evaluation.tables import group_metrics

    groups = group_metrics(args.metrics, args.method_order)
    path = plot_per_class_f1(groups, args.output, title=args.title, include_macro=not args.no_macro)
    print(f"per-class F1 bars of {len(groups)} methods -> {path}")
    return path


def write_table(table: dict, markdown: str, output_dir: str, name: str) -> dict:
    """Write `<output_dir>/<name>.json` and `.md`, print the Markdown, return the table."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(table, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out / f"{name}.md").write_text(markdown, encoding="utf-8")
    print(markdown)
    return table


def run_ablation_table(args: argparse.Namespace) -> dict:
    from modeling_ctam.evaluation.tables import ablation_markdown, ablation_table, group_metrics

    groups = group_metrics(args.metrics, args.method_order)
    table = ablation_table(groups, baseline=args.baseline)
    return write_table(table, ablation_markdown(table, title=args.title), args.output_dir, args.name)


def run_cosine_table(args: argparse.Namespace) -> dict:
    from modeling_ctam.evaluation.cosine import (
        cosine_distance_table,
        cosine_markdown,
        default_word_pairs,
        load_mapping,
        load_word_vectors,
        read_word_pairs,
    )

    pairs = read_word_pairs(args.pairs) if args.pairs else default_word_pairs(args.data_dir, limit=None)
    mapping = load_mapping(args.mapping)
    vectors_dir = Path(args.vectors_dir or args.mapping)
    for attr, name in (("source_vectors", "vectors.en.txt"), ("target_vectors", "vectors.my.txt")):
        if getattr(args, attr) is None:
            if not (vectors_dir / name).is_file():
                raise SystemExit(
                    f"error: no --{attr.replace('_', '-')} and no {vectors_dir / name}; pass the word2vec files, or "
                    f"--vectors-dir with an alignment folder written by `python -m modeling_ctam.alignment "
                    f"--save-vectors`."
                )
            setattr(args, attr, str(vectors_dir / name))
    source = load_word_vectors(args.source_vectors, [e for e, _ in pairs])
    target = load_word_vectors(args.target_vectors, [b for _, b in pairs])
    if not args.pairs:  # default pairs: those both vector files hold first, then at most --max-pairs
        found = [p for p in pairs if p[0] in source and p[1] in target]
        pairs = (found + [p for p in pairs if p not in found])[: args.max_pairs]
    table = cosine_distance_table(pairs, source, target, mapping)
    table.update(
        mapping=args.mapping,
        mapping_file=mapping["source"],
        source_vectors=args.source_vectors,
        target_vectors=args.target_vectors,
    )
    if table["n_found"] == 0:
        raise SystemExit(
            f"error: none of the {len(pairs)} word pairs is in both vector files (missing: {table['missing'][:3]} "
            f"...); save vectors for a larger vocabulary or give --pairs with words the files hold."
        )
    return write_table(table, cosine_markdown(table, title=args.title), args.output_dir, args.name)


# --------------------------------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eval.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Without a command, the arguments are those of `evaluate` (`python eval.py evaluate --help` lists "
        "them). See docs/evaluation.md.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    p = sub.add_parser("evaluate", help="Score a model on labelled data (default command).")
    add_evaluate_arguments(p)

    p = sub.add_parser("f1-bars", help="Per-class F1 bars across methods (paper figure 3).")
    _add_metrics_inputs(p)
    p.add_argument("--output", required=True, help="Output figure file (e.g. figures/f1_per_class.png).")
    p.add_argument("--no-macro", action="store_true", help="Leave out the macro-F1 group of bars.")

    p = sub.add_parser("ablation-table", help="Mean ± std over seeds per method (paper tables 1-2).")
    _add_metrics_inputs(p)
    p.add_argument("--output-dir", required=True, help="Folder for NAME.json and NAME.md.")
    p.add_argument("--name", default="ablation", help="File name stem (default ablation).")
    p.add_argument("--baseline", default=None, help="Method to compare the others with (e.g. xlmr-base).")

    p = sub.add_parser("cosine-table", help="1 - cos of English-Burmese word pairs before/after mapping (table 3).")
    p.add_argument("--mapping", required=True, help="CTAM model folder or alignment folder / mapping.safetensors.")
    p.add_argument(
        "--vectors-dir",
        default=None,
        help="Alignment folder written with `python -m modeling_ctam.alignment --save-vectors` (holds "
        "vectors.en.txt / vectors.my.txt); default: --mapping when it holds them.",
    )
    p.add_argument(
        "--source-vectors", default=None, help="English static vectors (default VECTORS_DIR/vectors.en.txt)."
    )
    p.add_argument(
        "--target-vectors", default=None, help="Burmese static vectors (default VECTORS_DIR/vectors.my.txt)."
    )
    p.add_argument(
        "--pairs",
        default=None,
        help="Word pairs file ('English | Burmese' lines or english<TAB>burmese); default: sentiment "
        "words from the myPar lexicon.",
    )
    p.add_argument(
        "--data-dir", default=None, help="Shared data folder for the default pairs (default CTAM_DATA_DIR)."
    )
    p.add_argument(
        "--max-pairs",
        type=int,
        default=12,
        help="Number of default pairs (default 12; pairs the vectors hold come first).",
    )
    p.add_argument("--output-dir", required=True, help="Folder for NAME.json and NAME.md.")
    p.add_argument("--name", default="cosine_distance", help="File name stem (default cosine_distance).")
    p.add_argument("--title", default=None, help="Title of the table.")
    return parser


def main(argv: list[str] | None = None):
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = ["evaluate"] + argv  # the default command
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return None
    try:
        if args.command == "evaluate":
            return run_evaluate(args, argv[1:])
        if args.command == "f1-bars":
            return run_f1_bars(args)
        if args.command == "ablation-table":
            return run_ablation_table(args)
        return run_cosine_table(args)
    except (ValueError, FileNotFoundError) as err:  # clear one-line errors, no traceback, for data/config problems
        raise SystemExit(f"error: {err}") from err


if __name__ == "__main__":
    main()
