"""Command line and in-process API: learn the VXLM mapping (eq. 2) from two monolingual corpora and a seed dictionary.

    python -m modeling_ctam.alignment --encoder ctam/e5-small-offline \\
        --source-corpus EN_FILE [EN_FILE ...] --target-corpus MY_FILE [MY_FILE ...] \\
        --seed-dict seed.tsv --identical --numerals --eval-dict dev.tsv --output-dir out/

Source = English (the fixed space), target = Burmese (the mapped side). Writes:

- `DIR/mapping.safetensors`: `weight` `(d, d)`, `target_mean` `(d,)` (Burmese), `source_mean` `(d,)` (English), for
  the model's `h_vec = W (h_static - target_mean) + source_mean`; metadata strings `encoder`, `layer`, ...
- `DIR/report.json`: BLI precision@1/5/10 (CSLS and nearest neighbours), coverage, iterations, seconds,
  dictionary sizes, vocabulary sizes;
- with `--save-vectors`: `DIR/vectors.en.txt` and `DIR/vectors.my.txt` (word2vec text format).

`python -m modeling_ctam.alignment` is the same command. In process, :func:`main` takes the argument list
(``main(["--encoder", ...]) -> exit code``) and :func:`run_alignment` takes keyword options and returns the report,
so that training can run the alignment without a subprocess.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Sequence

import torch

from ..data.corpus import DEDUPE_MODES, load_corpora
from . import lexicon as lex
from .bli import bli_evaluate, drop_overlap
from .mapping import MAPPING_FILE, MAPPING_FORMULA, REPORT_FILE, default_static_layer, save_mapping
from .static_vectors import StaticVectors, cached_static_vectors, compute_static_vectors, load_encoder
from .vecmap import AlignmentConfig, AlignmentResult, length_normalize, mapped_views, self_learning

logger = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m modeling_ctam.alignment",
        description="VecMap-style alignment of Burmese static word vectors to English ones (CTAM eq. 2).",
    )
    g = p.add_argument_group("encoder and corpora")
    g.add_argument("--encoder", required=True, help="HF encoder name or path; 'ctam/e5-small-offline' works offline")
    g.add_argument(
        "--source-corpus",
        nargs="+",
        required=True,
        metavar="FILE_OR_ID",
        help="English corpus files (SST-2 TSV, UCI, MR, myXNLI, TALPCo, JSON, plain text) or Hub ids",
    )
    g.add_argument(
        "--target-corpus",
        nargs="+",
        required=True,
        metavar="FILE_OR_ID",
        help="Burmese corpus files (GKLMIP JSON, myXNLI, TALPCo, plain text) or Hub ids",
    )
    g.add_argument("--text-column", default=None, help="text column for JSON / headed TSV / Hub corpora")
    g.add_argument("--hub-split", default="train", help="split of Hub dataset corpora (default train)")
    g.add_argument(
        "--layer",
        type=int,
        default=None,
        help="hidden-state index for static vectors, 0 = embeddings (default: CTAMConfig's static_layer for "
        "this encoder, its last layer; docs/alignment.md has the per-layer table)",
    )
    g.add_argument("--vocab-size", type=int, default=20000, help="V most frequent words per language (default 20000)")
    g.add_argument("--max-sentences", type=int, default=None, help="cap on sentences per language")
    g.add_argument("--batch-size", type=int, default=64, help="sentences per encoder batch (default 64)")
    g.add_argument("--prefix", default="", help="text put before each sentence, e.g. 'passage: ' (default none)")
    g.add_argument(
        "--dedupe",
        choices=DEDUPE_MODES,
        default="exact",
        help="drop repeated sentences: none, exact, subsumed (SST-2 phrases inside longer ones)",
    )
    g.add_argument("--cache", action="store_true", help="cache static vectors under cache_dir()/static-vectors")
    g = p.add_argument_group("dictionaries")
    g.add_argument(
        "--seed-dict",
        action="append",
        default=[],
        metavar="FILE",
        help="seed word list: 'English | Burmese' lines, myth TSV, or TSV with english/burmese header (repeatable)",
    )
    g.add_argument("--identical", action="store_true", help="add identical strings of both vocabularies as seeds")
    g.add_argument("--numerals", action="store_true", help="add numerals (Burmese digits read as ASCII) as seeds")
    g.add_argument(
        "--eval-dict",
        default=None,
        metavar="FILE",
        help="BLI dictionary (e.g. dev.tsv from python -m modeling_ctam.alignment.lexicon); pairs sharing a word "
        "with the seed are left out",
    )
    g = p.add_argument_group("alignment")
    g.add_argument("--csls-k", type=int, default=10, help="CSLS neighbourhood (default 10; 0 = nearest neighbour)")
    g.add_argument("--direction", choices=("union", "forward", "backward"), default="union")
    g.add_argument(
        "--vocabulary-cutoff",
        type=int,
        default=5000,
        help="most frequent words per side used for dictionary induction (default 5000; 0 = all)",
    )
    g.add_argument("--max-iterations", type=int, default=100)
    g.add_argument(
        "--threshold",
        type=float,
        default=1e-4,
        help="stop when the mean best similarity improves by less than this (default 1e-4)",
    )
    g.add_argument("--no-self-learning", action="store_true", help="Procrustes on the seed only")
    g.add_argument("--no-keep-seed", action="store_true", help="drop seed pairs after the first iteration (VecMap)")
    g.add_argument("--stochastic", action="store_true", help="stochastic dictionary induction (VecMap)")
    g.add_argument("--stochastic-initial", type=float, default=0.1)
    g.add_argument("--stochastic-multiplier", type=float, default=2.0)
    g.add_argument("--stochastic-interval", type=int, default=50)
    g.add_argument(
        "--whiten",
        action="store_true",
        help="final whitening / re-weighting / de-whitening on the final dictionary (general linear W)",
    )
    g.add_argument(
        "--source-reweight",
        type=float,
        default=0.0,
        help="whiten: re-weighting of the English side (keep 0: English must stay a rotation)",
    )
    g.add_argument("--target-reweight", type=float, default=0.5, help="whiten: re-weighting of the Burmese side")
    g.add_argument("--device", default=None, help="torch device (default: cuda if available, else cpu)")
    g.add_argument("--seed", type=int, default=0, help="random seed (stochastic induction)")
    g = p.add_argument_group("output")
    g.add_argument("--output-dir", required=True, help="folder for mapping.safetensors and report.json")
    g.add_argument("--save-vectors", action="store_true", help="also write vectors.en.txt / vectors.my.txt")
    g.add_argument("--quiet", action="store_true", help="no progress bars")
    return p


def collect_seeds(
    args: argparse.Namespace,
    source_words: Sequence[str],
    target_words: Sequence[str],
    seed_entries: dict | None = None,
) -> tuple[list[tuple[str, str]], dict]:
    """Seed pairs from the files, identical strings and numerals, restricted to the vocabularies, with stats.

    `seed_entries` maps each `--seed-dict` file to its entries when already read.
    """
    pairs: list[tuple[str, str]] = []
    stats: dict = {}
    for f in args.seed_dict:
        entries = seed_entries[f] if seed_entries and f in seed_entries else lex.read_lexicon(f)
        name = Path(f).name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, _, st = lex.pairs_to_indices(entries, source_words, target_words, name=str(f), require=True)
        if st["missing"]:
            logger.warning(
                "%s: %d of %d seed pairs have a word outside the vocabularies (%d usable).",
                name,
                st["missing"],
                st["pairs"],
                st["usable"],
            )
        st["repeated_pairs"] = getattr(entries, "repeated", 0)  # merged into their first occurrence, not refused
        stats[name] = st
        pairs += [e.pair for e in entries]
    for name, wanted, make, none_found in (
        ("identical", args.identical, lex.identical_pairs, "the vocabularies share no word"),
        ("numerals", args.numerals, lex.numeral_pairs, "no numeral occurs in both vocabularies"),
    ):
        if not wanted:
            continue
        found = make(source_words, target_words)
        stats[name] = {"pairs": len(found), "usable": len(found), "missing": 0}
        if not found:
            logger.warning("--%s: %s.", name, none_found)
        pairs += found
    src, tgt = set(source_words), set(target_words)
    usable = list(dict.fromkeys(p for p in pairs if p[0] in src and p[1] in tgt))
    if not usable:
        sources = (
            ", ".join(
                args.seed_dict
                + (["--identical"] if args.identical else [])
                + (["--numerals"] if args.numerals else [])
            )
            or "none given"
        )
        raise SystemExit(
            f"error: no usable seed pair (sources: {sources}). Give --seed-dict FILE with words that occur "
            "in the corpora, or --identical / --numerals."
        )
    stats["total_usable"] = len(usable)
    return usable, stats


def affine_check(
    x_raw: torch.Tensor,
    y_raw: torch.Tensor,
    result: AlignmentResult,
    eval_pairs,
    source_words,
    target_words,
    csls_k: int,
) -> dict:
    """BLI through the model's exact affine form on raw vectors: `W (x - mu_tgt)` against `y - mu_src`."""
    w = result.weight
    xa = length_normalize(result.map(x_raw.to(w)) - result.source_mean)  # = W (x - mu_tgt), unit rows
    ya = length_normalize(y_raw.to(w) - result.source_mean)
    r = bli_evaluate(xa, ya, eval_pairs, source_words, target_words, ks=(1,), csls_k=csls_k)
    return {"p_at_1": r["p_at_1"], "nn_p_at_1": r["nn_p_at_1"]}


def _vectors(args, specs, language, tok_model) -> StaticVectors:
    if args.cache:
        return cached_static_vectors(
            args.encoder,
            specs,
            language,
            args.layer,
            args.vocab_size,
            args.max_sentences,
            args.batch_size,
            args.prefix,
            args.text_column,
            args.dedupe,
            model_and_tokenizer=tok_model,
            show_progress=not args.quiet,
        )
    texts = load_corpora(specs, language, args.text_column, args.max_sentences, args.dedupe, args.hub_split)
    tokenizer, model = tok_model
    return compute_static_vectors(
        model,
        tokenizer,
        texts,
        language,
        args.layer,
        args.vocab_size,
        args.batch_size,
        prefix=args.prefix,
        show_progress=not args.quiet,
        progress_desc=f"static vectors ({language})",
    )


def run(args: argparse.Namespace) -> dict:
    """Run the whole alignment for parsed arguments; returns the report."""
    start = time.perf_counter()
    out = Path(args.output_dir)
    if not args.seed_dict and not args.identical and not args.numerals:
        raise SystemExit("error: no seed dictionary: give --seed-dict FILE, --identical and/or --numerals.")
    for f in args.seed_dict + ([args.eval_dict] if args.eval_dict else []):
        if not Path(f).is_file():
            raise SystemExit(f"error: dictionary file {f} does not exist.")
    config = AlignmentConfig(
        csls_k=args.csls_k,
        direction=args.direction,
        vocabulary_cutoff=args.vocabulary_cutoff,
        self_learning=not args.no_self_learning,
        keep_seed=not args.no_keep_seed,
        max_iterations=args.max_iterations,
        threshold=args.threshold,
        stochastic=args.stochastic,
        stochastic_initial=args.stochastic_initial,
        stochastic_multiplier=args.stochastic_multiplier,
        stochastic_interval=args.stochastic_interval,
        whiten=args.whiten,
        source_reweight=args.source_reweight,
        target_reweight=args.target_reweight,
        device=args.device,
        seed=args.seed,
    )
    # read the dictionaries first: a bad file fails before the (slow) encoder pass
    eval_entries = lex.read_lexicon(args.eval_dict) if args.eval_dict else None
    seed_entries = {f: lex.read_lexicon(f) for f in args.seed_dict}
    tok_model = load_encoder(args.encoder, args.device)
    if args.layer is None:
        args.layer = default_static_layer(tok_model[1].config)
    t0 = time.perf_counter()
    en = _vectors(args, args.source_corpus, "en", tok_model)
    my = _vectors(args, args.target_corpus, "my", tok_model)
    vector_seconds = time.perf_counter() - t0
    logger.info("static vectors: %d English, %d Burmese words (%.1f s)", len(en), len(my), vector_seconds)
    seeds, seed_stats = collect_seeds(args, en.words, my.words, seed_entries)
    x_idx, y_idx, _ = lex.pairs_to_indices(seeds, en.words, my.words, name="seed")
    x_raw, y_raw = my.layer(args.layer), en.layer(args.layer)
    result = self_learning(x_raw, y_raw, x_idx, y_idx, config)
    report: dict = {
        "encoder": args.encoder,
        "layer": args.layer,
        "vocab_size_source": len(en),
        "vocab_size_target": len(my),
        "seed_dictionary_size": len(seeds),
        "seed_dictionaries": seed_stats,
        "dictionary_size": result.dictionary_size,
        "iterations": result.iterations,
        "converged": result.converged,
        "alignment_seconds": result.seconds,
        "vector_seconds": vector_seconds,
    }
    bli_keys = ["p_at_1", "p_at_5", "p_at_10", "nn_p_at_1", "nn_p_at_5", "nn_p_at_10", "coverage"]
    if eval_entries is not None:
        eval_pairs = drop_overlap(eval_entries, seeds, name=str(args.eval_dict))
        xw, yw = mapped_views(x_raw, y_raw, result)
        bli = bli_evaluate(xw, yw, eval_pairs, en.words, my.words, csls_k=args.csls_k or 10)
        report.update({k: bli[k] for k in bli_keys})
        report["eval"] = {k: bli[k] for k in ("pairs", "covered_pairs", "queries", "mean_cosine")}
        report["eval"]["file"] = Path(args.eval_dict).name
        report["affine_check"] = affine_check(x_raw, y_raw, result, eval_pairs, en.words, my.words, args.csls_k or 10)
    else:
        report.update({k: None for k in bli_keys})
    out.mkdir(parents=True, exist_ok=True)
    save_mapping(
        result.state_dict(),
        out / MAPPING_FILE,
        {
            "encoder": args.encoder,
            "layer": args.layer,
            "prefix": args.prefix,
            "formula": MAPPING_FORMULA,
            "normalization": ",".join(config.normalization),
            "whiten": config.whiten,
            "vocab_size_source": len(en),
            "vocab_size_target": len(my),
            "format": "ctam-vecmap-1",
        },
    )
    if args.save_vectors:
        en.write_word2vec(out / "vectors.en.txt", args.layer)
        my.write_word2vec(out / "vectors.my.txt", args.layer)
    report["history"] = result.history
    report["config"] = config.to_dict()
    report["seconds"] = time.perf_counter() - start
    (out / REPORT_FILE).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def run_alignment(
    encoder: str,
    output_dir: str | Path,
    source_corpus: Sequence[str | Path],
    target_corpus: Sequence[str | Path],
    layer: int | None = None,
    **options,
) -> dict:
    """Run the alignment in this process, as `python -m modeling_ctam.alignment` would; returns the report.

    Args:
        encoder (`str`): HF encoder name or path (`"ctam/e5-small-offline"` works offline).
        output_dir (`str` or `Path`): folder for `mapping.safetensors` and `report.json`.
        source_corpus, target_corpus (`Sequence`): English and Burmese corpus files or Hub ids.
        layer (`int`, *optional*): hidden-state index of the static vectors; `None` takes CTAMConfig's
            `static_layer` rule for this encoder (:func:`~.mapping.default_static_layer`). Pass the model's
            `config.static_layer` so that `CTAMModel.load_alignment` accepts the mapping.
        options: any other flag of the command line by its dest name, e.g. `seed_dict=["seed.tsv"]`,
            `identical=True`, `numerals=True`, `eval_dict="dev.tsv"`, `max_sentences=20000`, `cache=True`,
            `quiet=True`.

    Raises:
        TypeError: an option the command line does not have.
        SystemExit: the same argument errors as the command line (no seed dictionary, missing files).
    """
    argv = [
        "--encoder",
        str(encoder),
        "--output-dir",
        str(output_dir),
        "--source-corpus",
        *map(str, source_corpus),
        "--target-corpus",
        *map(str, target_corpus),
    ]
    args = build_parser().parse_args(argv)
    for key, value in options.items():
        if key in ("encoder", "output_dir") or not hasattr(args, key):
            raise TypeError(
                f"run_alignment: unknown option {key!r}; use the dest names of "
                "`python -m modeling_ctam.alignment --help` (e.g. seed_dict, max_sentences)."
            )
        if key == "seed_dict" and isinstance(value, (str, Path)):
            value = [value]
        setattr(args, key, [str(v) for v in value] if key == "seed_dict" else value)
    args.layer = layer
    return run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m modeling_ctam.alignment ARGS` in process: parses `argv`, runs, prints a JSON summary; returns the
    exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        report = run(args)
    except (lex.LexiconFormatError, UnicodeDecodeError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    summary = {
        k: report.get(k)
        for k in (
            "p_at_1",
            "p_at_5",
            "p_at_10",
            "nn_p_at_1",
            "coverage",
            "iterations",
            "vocab_size_source",
            "vocab_size_target",
            "seconds",
        )
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
