"""Which encoder layer gives the best static word vectors for the Burmese -> English mapping?

For every hidden-state index l (0 = embeddings, i = output of layer i) of the encoder, build corpus-level static
vectors (eq. 1) for English and Burmese, align them (eq. 2: Procrustes + CSLS self-learning) from the seed part of the
default BLI split plus identical strings and numerals, and measure BLI on the dev part. The layer with the best dev
precision@1 (CSLS) is CTAM's default `static_layer`.

    python bench/static_layer.py                       # offline e5-small, all 13 hidden states
    python bench/static_layer.py --vocab-size 20000 --output-dir bench/results

Static vectors of all layers are computed in one encoder pass and cached in `cache_dir()/static-vectors`
(safetensors + word list JSON), shared with bench/vecmap_scaling.py. Writes `static_layer.json` and
`static_layer.md` into the output folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
import warnings
from pathlib import Path

import torch

from modeling_ctam.alignment import lexicon as lex
from modeling_ctam.alignment.bli import bli_evaluate, drop_overlap
from modeling_ctam.alignment.static_vectors import cached_static_vectors
from modeling_ctam.alignment.vecmap import AlignmentConfig, mapped_views, self_learning
from modeling_ctam.data.corpus import default_corpora

ENCODER = "ctam/e5-small-offline"


def load_vectors(encoder: str, layers: list[int], batch_size: int = 64):
    """English and Burmese static vectors of every layer, whole vocabularies, cached."""
    en = cached_static_vectors(
        encoder, default_corpora("en"), "en", layers, None, dedupe="subsumed", batch_size=batch_size
    )
    my = cached_static_vectors(
        encoder, default_corpora("my"), "my", layers, None, dedupe="subsumed", batch_size=batch_size
    )
    return en, my


def seed_pairs(seed_part, source_words, target_words):
    """Seed part of the split + identical strings + numerals, restricted to the vocabularies."""
    pairs = (
        list(seed_part)
        + lex.identical_pairs(source_words, target_words)
        + lex.numeral_pairs(source_words, target_words)
    )
    src, tgt = set(source_words), set(target_words)
    return list(dict.fromkeys(p for p in pairs if p[0] in src and p[1] in tgt))


def evaluate_layer(en, my, layer, parts, config):
    seeds = seed_pairs(parts["seed"], en.words, my.words)
    x_idx, y_idx, _ = lex.pairs_to_indices(seeds, en.words, my.words, name="seed", require=True)
    x, y = my.layer(layer), en.layer(layer)
    seed_only = self_learning(x, y, x_idx, y_idx, AlignmentConfig(**{**config.to_dict(), "self_learning": False}))
    result = self_learning(x, y, x_idx, y_idx, config)
    row = {
        "layer": layer,
        "seed_pairs": len(seeds),
        "iterations": result.iterations,
        "seconds": round(result.seconds, 2),
        "dictionary_size": result.dictionary_size,
    }
    for split in ("dev", "test"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eval_pairs = drop_overlap(parts[split], seeds)  # no word of the seed (identical/numerals) in eval
        bli = bli_evaluate(*mapped_views(x, y, result), eval_pairs, en.words, my.words)
        for k in ("p_at_1", "p_at_5", "p_at_10", "nn_p_at_1", "coverage", "queries"):
            row[f"{split}_{k}"] = bli[k]
        row[f"{split}_seed_only_p_at_1"] = bli_evaluate(
            *mapped_views(x, y, seed_only), eval_pairs, en.words, my.words, ks=(1,)
        )["p_at_1"]
    return row


def markdown(rows, best, meta) -> str:
    lines = [
        "| layer | dev P@1 (CSLS) | dev P@1 seed-only | dev P@5 | dev P@10 | dev P@1 (NN) | test P@1 (CSLS) | "
        "iterations | seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        mark = " **best**" if r["layer"] == best else ""
        lines.append(
            f"| {r['layer']}{mark} | {r['dev_p_at_1']:.3f} | {r['dev_seed_only_p_at_1']:.3f} | {r['dev_p_at_5']:.3f} "
            f"| {r['dev_p_at_10']:.3f} | {r['dev_nn_p_at_1']:.3f} | {r['test_p_at_1']:.3f} | {r['iterations']} | "
            f"{r['seconds']:.1f} |"
        )
    r0 = rows[0]
    lines += [
        "",
        f"Encoder `{meta['encoder']}`; V = {meta['vocab_size_en']} English / {meta['vocab_size_my']} Burmese words; "
        f"dev: {r0['dev_queries']} Burmese query words covered (coverage {r0['dev_coverage']:.2f}); test: "
        f"{r0['test_queries']} (coverage {r0['test_coverage']:.2f}); seed pairs in the vocabularies: "
        f"{r0['seed_pairs']}. Hidden-state index 0 = embeddings, i = output of layer i.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default=ENCODER)
    parser.add_argument("--layers", type=int, nargs="*", default=None, help="default: every hidden state")
    parser.add_argument("--vocab-size", type=int, default=20000, help="V per language (default 20000)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--output-dir", default=str(Path(__file__).resolve().parent / "results"))
    parser.add_argument("--device", default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    if args.layers is None:
        from transformers import AutoConfig

        from modeling_ctam.offline_encoder import resolve_encoder

        n_layers = AutoConfig.from_pretrained(resolve_encoder(args.encoder)).num_hidden_layers
        args.layers = list(range(n_layers + 1))
    t0 = time.perf_counter()
    en_all, my_all = load_vectors(args.encoder, args.layers, args.batch_size)
    en, my = en_all.truncate(args.vocab_size), my_all.truncate(args.vocab_size)
    vector_seconds = time.perf_counter() - t0
    parts = lex.split_lexicon(lex.default_lexicon_entries())
    config = AlignmentConfig(device=args.device)
    rows = []
    for layer in args.layers:
        row = evaluate_layer(en, my, layer, parts, config)
        rows.append(row)
        print(json.dumps(row), flush=True)
    best = max(rows, key=lambda r: (r["dev_p_at_1"], r["dev_p_at_5"], -r["layer"]))["layer"]
    meta = {
        "encoder": args.encoder,
        "vocab_size_en": len(en),
        "vocab_size_my": len(my),
        "corpus_sentences_en": en_all.meta.get("sentences"),
        "corpus_sentences_my": my_all.meta.get("sentences"),
        "split": {
            "fractions": list(lex.DEFAULT_SPLIT_FRACTIONS),
            "seed": lex.DEFAULT_SPLIT_SEED,
            "sizes": {k: len(v) for k, v in parts.items()},
        },
        "config": config.to_dict(),
        "vector_seconds_this_run": round(vector_seconds, 1),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "torch": torch.__version__,
    }
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "static_layer.json").write_text(
        json.dumps({"best_layer": best, "rows": rows, "meta": meta}, indent=2) + "\n", encoding="utf-8"
    )
    (out / "static_layer.md").write_text(markdown(rows, best, meta), encoding="utf-8")
    print(markdown(rows, best, meta))
    print(f"best layer by dev P@1: {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
