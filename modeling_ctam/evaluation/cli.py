# Copyright 2025 The CTAM authors.
# Licensed under the Apache License, Version 2.0.
"""``eval.py``'s command line: one table of commands, the parser built from it, and ``main(argv)``.

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

    python eval.py predict --model PATH --data FILE_FOLDER_OR_HUB_ID --data-format csv --text-column comment \\
        --output-dir OUT [--backend onnx --keep-columns id --output-format parquet]   (labels optional, any size)
        -> OUT/predictions-*.jsonl, one shard a process (also under `accelerate launch`), OUT/manifest.json

    python eval.py export-onnx --model PATH --output-dir ONNX_DIR
        -> ONNX_DIR/model_quantized.onnx (the student path, int8), its tokenizer and config

METRICS arguments are ``metrics.json`` files or folders holding one; they are grouped by their ``method`` field
(``--method-name`` at evaluation), or ``NAME=PATH`` forces a name. See docs/evaluation.md.

A new command is one entry of :data:`COMMANDS`: its help line, a function that adds its arguments to its
sub-parser, and a function that runs it (``run(args, argv)``, ``argv`` being the command's own arguments, for the
record). The commands live in :mod:`.cli_evaluate`, :mod:`.cli_tables` and :mod:`.cli_predict`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import cli_evaluate, cli_predict, cli_tables

DESCRIPTION = "Evaluate a CTAM (or any sequence-classification) model, and build the paper's figures and tables."


@dataclass(frozen=True)
class Command:
    """One `eval.py` command.

    Args:
        help (`str`): its line in `python eval.py --help`.
        add_arguments (`Callable[[argparse.ArgumentParser], None]`): adds its arguments to its sub-parser.
        run (`Callable[[argparse.Namespace, list[str]], Any]`): runs it on the parsed arguments (and the command's own
            argument list); what it returns, `main` returns.
    """

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, list[str]], Any]


COMMANDS: dict[str, Command] = {
    "evaluate": Command(
        "Score a model on labelled data (default command).",
        cli_evaluate.add_evaluate_arguments,
        cli_evaluate.run_evaluate,
    ),
    "f1-bars": Command(
        "Per-class F1 bars across methods (paper figure 3).", cli_tables.add_f1_bars_arguments, cli_tables.run_f1_bars
    ),
    "ablation-table": Command(
        "Mean ± std over seeds per method (paper tables 1-2).",
        cli_tables.add_ablation_table_arguments,
        cli_tables.run_ablation_table,
    ),
    "cosine-table": Command(
        "1 - cos of English-Burmese word pairs before/after mapping (table 3).",
        cli_tables.add_cosine_table_arguments,
        cli_tables.run_cosine_table,
    ),
    "predict": Command(
        "Classify unlabelled rows of any size (streamed, sharded over processes, resumable).",
        cli_predict.add_predict_arguments,
        cli_predict.run_predict,
    ),
    "export-onnx": Command(
        "Export the student path to int8 ONNX for CPU serving.",
        cli_predict.add_export_onnx_arguments,
        cli_predict.run_export_onnx,
    ),
}
"""The commands, in the order `--help` lists them."""

DEFAULT_COMMAND = "evaluate"
"""What `python eval.py ARGS` runs when ARGS do not start with a command."""


def build_parser() -> argparse.ArgumentParser:
    """The parser of `eval.py`: one sub-parser per entry of :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="eval.py",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"Without a command, the arguments are those of `{DEFAULT_COMMAND}` (`python eval.py "
        f"{DEFAULT_COMMAND} --help` lists them). See docs/evaluation.md.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")
    for name, command in COMMANDS.items():
        command.add_arguments(sub.add_parser(name, help=command.help))
    return parser


def main(argv: list[str] | None = None):
    """`python eval.py ARGS` in this process; returns what the command returns (the metrics record, a table, ...).

    Data and configuration problems (`ValueError`, `FileNotFoundError`) exit with a one-line message, no traceback.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in COMMANDS and argv[0] not in ("-h", "--help"):
        argv = [DEFAULT_COMMAND] + argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return None
    try:
        return COMMANDS[args.command].run(args, argv[1:])
    except (ValueError, FileNotFoundError) as err:  # clear one-line errors, no traceback, for data/config problems
        raise SystemExit(f"error: {err}") from err


__all__ = ["COMMANDS", "DEFAULT_COMMAND", "Command", "build_parser", "main"]
