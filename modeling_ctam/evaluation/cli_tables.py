"""`python eval.py f1-bars | ablation-table | cosine-table`: the paper's figures and tables from `metrics.json` files
(figure 3, tables 1-2) and from a mapping with static word vectors (table 3)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _add_metrics_inputs(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "metrics", nargs="+", help="metrics.json files or folders holding one; NAME=PATH forces the method name."
    )
    parser.add_argument("--method-order", nargs="+", default=None, help="Methods in this order (others after).")
    parser.add_argument("--title", default=None, help="Title of the figure or table.")


def run_f1_bars(args: argparse.Namespace, argv: list[str] | None = None) -> Path:
    from .figures import plot_per_class_f1
    from .tables import group_metrics

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


def run_ablation_table(args: argparse.Namespace, argv: list[str] | None = None) -> dict:
    from .tables import ablation_markdown, ablation_table, group_metrics

    groups = group_metrics(args.metrics, args.method_order)
    table = ablation_table(groups, baseline=args.baseline)
    return write_table(table, ablation_markdown(table, title=args.title), args.output_dir, args.name)


def run_cosine_table(args: argparse.Namespace, argv: list[str] | None = None) -> dict:
    from . import cosine

    pairs = cosine.read_word_pairs(args.pairs) if args.pairs else cosine.default_word_pairs(args.data_dir, limit=None)
    mapping = cosine.load_mapping(args.mapping)
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
    source = cosine.load_word_vectors(args.source_vectors, [e for e, _ in pairs])
    target = cosine.load_word_vectors(args.target_vectors, [b for _, b in pairs])
    if not args.pairs:  # default pairs: those both vector files hold first, then at most --max-pairs
        found = [p for p in pairs if p[0] in source and p[1] in target]
        pairs = (found + [p for p in pairs if p not in found])[: args.max_pairs]
    table = cosine.cosine_distance_table(pairs, source, target, mapping)
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
    return write_table(table, cosine.cosine_markdown(table, title=args.title), args.output_dir, args.name)


def add_f1_bars_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `f1-bars`."""
    _add_metrics_inputs(parser)
    parser.add_argument("--output", required=True, help="Output figure file (e.g. figures/f1_per_class.png).")
    parser.add_argument("--no-macro", action="store_true", help="Leave out the macro-F1 group of bars.")


def add_ablation_table_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `ablation-table`."""
    _add_metrics_inputs(parser)
    parser.add_argument("--output-dir", required=True, help="Folder for NAME.json and NAME.md.")
    parser.add_argument("--name", default="ablation", help="File name stem (default ablation).")
    parser.add_argument("--baseline", default=None, help="Method to compare the others with (e.g. xlmr-base).")


def add_cosine_table_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `cosine-table`."""
    parser.add_argument(
        "--mapping", required=True, help="CTAM model folder or alignment folder / mapping.safetensors."
    )
    parser.add_argument(
        "--vectors-dir",
        default=None,
        help="Alignment folder written with `python -m modeling_ctam.alignment --save-vectors` (holds "
        "vectors.en.txt / vectors.my.txt); default: --mapping when it holds them.",
    )
    parser.add_argument(
        "--source-vectors", default=None, help="English static vectors (default VECTORS_DIR/vectors.en.txt)."
    )
    parser.add_argument(
        "--target-vectors", default=None, help="Burmese static vectors (default VECTORS_DIR/vectors.my.txt)."
    )
    parser.add_argument(
        "--pairs",
        default=None,
        help="Word pairs file ('English | Burmese' lines or english<TAB>burmese); default: sentiment "
        "words from the myPar lexicon.",
    )
    parser.add_argument(
        "--data-dir", default=None, help="Shared data folder for the default pairs (default CTAM_DATA_DIR)."
    )
    parser.add_argument(
        "--max-pairs",
        type=int,
        default=12,
        help="Number of default pairs (default 12; pairs the vectors hold come first).",
    )
    parser.add_argument("--output-dir", required=True, help="Folder for NAME.json and NAME.md.")
    parser.add_argument("--name", default="cosine_distance", help="File name stem (default cosine_distance).")
    parser.add_argument("--title", default=None, help="Title of the table.")
