"""How does the alignment scale with the vocabulary size V on CPU?

A full self-learning run (Procrustes + CSLS dictionary induction in both directions, vocabulary cutoff = V) on the
offline e5-small encoder's static vectors at V = 5k, 10k, 20k, 40k words per language: seconds, peak memory, BLI
precision@1 on the dev and test parts of the default split. When a corpus has fewer words than V, all its words are
used and the table says so (the actual V per side is reported).

    python bench/vecmap_scaling.py
    python bench/vecmap_scaling.py --sizes 5000 10000 --layer 6

Corpora: English = SST-2 train (phrases inside longer phrases dropped) + MR + UCI; Burmese = GKLMIP train+dev +
myXNLI sentence1_my/sentence2_my + TALPCo. Static vectors are cached in `cache_dir()/static-vectors` (shared with
bench/static_layer.py). Each V runs in a fresh process so that its peak resident memory is its own. Writes
`vecmap_scaling.json` and `vecmap_scaling.md` into the output folder.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import time
import warnings
from pathlib import Path

ENCODER = "ctam/e5-small-offline"


def _rss_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")  # Linux: reset VmHWM (peak RSS) to the current RSS
        return True
    except OSError:
        return False


def measured_alignment(x, y, x_idx, y_idx, config) -> tuple:
    """Run `self_learning` once: (result, cost fields of a row: seconds, iterations, peak RSS)."""
    from modeling_ctam.alignment.vecmap import self_learning

    rss_before = _rss_mb("VmRSS")
    peak_reset = _reset_peak()
    t = time.perf_counter()
    result = self_learning(x, y, x_idx, y_idx, config)
    seconds = time.perf_counter() - t
    peak = _rss_mb("VmHWM")
    return result, {
        "seconds": round(seconds, 2),
        "iterations": result.iterations,
        "seconds_per_iteration": round(seconds / max(1, result.iterations), 2),
        "peak_rss_mb": round(peak, 1) if peak is not None else None,
        "rss_before_mb": round(rss_before, 1) if rss_before is not None else None,
        "peak_is_alignment_only": peak_reset,
        "dictionary_size": result.dictionary_size,
        "converged": result.converged,
    }


def run_one(args: dict, queue) -> None:
    import torch

    from modeling_ctam.alignment import lexicon as lex
    from modeling_ctam.alignment.bli import bli_evaluate, drop_overlap
    from modeling_ctam.alignment.static_vectors import StaticVectors
    from modeling_ctam.alignment.vecmap import AlignmentConfig, mapped_views

    torch.set_num_threads(args["threads"])
    en = StaticVectors.load(args["en_path"]).truncate(args["size"])
    my = StaticVectors.load(args["my_path"]).truncate(args["size"])
    layer = args["layer"]
    x = my.layer(layer).clone()
    y = en.layer(layer).clone()
    del en.vectors, my.vectors
    parts = args["parts"]
    seeds = list(parts["seed"]) + lex.identical_pairs(en.words, my.words) + lex.numeral_pairs(en.words, my.words)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x_idx, y_idx, stats = lex.pairs_to_indices(seeds, en.words, my.words, name="seed")
    usable = [p for p in dict.fromkeys(seeds) if p[0] in set(en.words) and p[1] in set(my.words)]
    config = AlignmentConfig(vocabulary_cutoff=args["size"], device=args["device"], stochastic=args["stochastic"])
    result, cost = measured_alignment(x, y, x_idx, y_idx, config)
    row = {"requested_v": args["size"], "v_en": y.shape[0], "v_my": x.shape[0], **cost, "seed_pairs": stats["usable"]}
    if args["device"] and args["device"].startswith("cuda"):
        row["cuda_peak_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    for split in ("dev", "test"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            eval_pairs = drop_overlap(parts[split], usable)
        bli = bli_evaluate(*mapped_views(x, y, result), eval_pairs, en.words, my.words)
        row[f"{split}_p_at_1"] = bli["p_at_1"]
        row[f"{split}_nn_p_at_1"] = bli["nn_p_at_1"]
        row[f"{split}_coverage"] = round(bli["coverage"], 3)
        row[f"{split}_queries"] = bli["queries"]
    queue.put(row)


def run_synthetic(args: dict, queue) -> None:
    """Cost at a V the corpora do not reach: planted data, V words per side, d = the encoder's width.

    English `Y` has a decaying spectrum (like contextual vectors); Burmese `X = (Y + noise) R` for a random rotation
    `R`; the seed is 1000 true pairs, the evaluation 1000 other true pairs. Measures seconds and peak memory of the
    same full self-learning run (cutoff = V); P@1 says whether the planted rotation was found.
    """
    import torch

    from modeling_ctam.alignment.bli import bli_evaluate
    from modeling_ctam.alignment.vecmap import AlignmentConfig, mapped_views

    torch.set_num_threads(args["threads"])
    g = torch.Generator().manual_seed(0)
    v, d = args["size"], args["dim"]
    y = torch.randn(v, d, generator=g) * torch.linspace(1.0, 0.1, d)  # (V, d)
    rotation, _ = torch.linalg.qr(torch.randn(d, d, generator=g))
    x = (y + 0.05 * torch.randn(v, d, generator=g)) @ rotation  # (V, d)
    order = torch.randperm(v, generator=g)
    seed_idx, eval_idx = order[:1000], order[1000:2000]
    words_en = [f"e{i}" for i in range(v)]
    words_my = [f"m{i}" for i in range(v)]
    config = AlignmentConfig(vocabulary_cutoff=v, device=args["device"])
    result, cost = measured_alignment(x, y, seed_idx, seed_idx, config)
    bli = bli_evaluate(
        *mapped_views(x, y, result), [(f"e{i}", f"m{i}") for i in eval_idx.tolist()], words_en, words_my, ks=(1,)
    )
    queue.put(
        {
            "requested_v": v,
            "v_en": v,
            "v_my": v,
            "synthetic": True,
            **cost,
            "seed_pairs": 1000,
            "dev_p_at_1": bli["p_at_1"],
            "dev_nn_p_at_1": bli["nn_p_at_1"],
            "test_p_at_1": None,
            "dev_coverage": 1.0,
            "dev_queries": bli["queries"],
        }
    )


def markdown(rows, meta) -> str:
    lines = [
        "| requested V | V English | V Burmese | iterations | seconds | s / iteration | peak RSS (MB) | dev P@1 "
        "(CSLS) | dev P@1 (NN) | test P@1 (CSLS) | dev coverage |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        test = "-" if r["test_p_at_1"] is None else f"{r['test_p_at_1']:.3f}"
        name = f"{r['requested_v']} (planted)" if r.get("synthetic") else str(r["requested_v"])
        lines.append(
            f"| {name} | {r['v_en']} | {r['v_my']} | {r['iterations']} | {r['seconds']:.1f} | "
            f"{r['seconds_per_iteration']:.1f} | {r['peak_rss_mb']} | {r['dev_p_at_1']:.3f} | "
            f"{r['dev_nn_p_at_1']:.3f} | {test} | {r['dev_coverage']:.2f} |"
        )
    notes = [
        f"Encoder `{meta['encoder']}`, layer {meta['layer']}; corpora have {meta['available_en']} English and "
        f"{meta['available_my']} Burmese words in all"
    ]
    short = [r for r in rows if r["v_en"] < r["requested_v"] or r["v_my"] < r["requested_v"]]
    if short:
        notes.append("rows with a V below the request use every word the corpus has")
    if any(r.get("synthetic") for r in rows):
        notes.append(
            "'planted' rows align synthetic vectors of the encoder's width with a known rotation (V words "
            "per side, 1000 seed pairs; P@1 on 1000 other pairs) to show cost at a V the corpora do not "
            "reach"
        )
    notes.append(
        f"{meta['machine']}; peak RSS is the process's resident-memory high-water mark during the "
        "alignment (vectors included)"
    )
    return "\n".join(lines) + "\n\n" + "; ".join(notes) + ".\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoder", default=ENCODER)
    parser.add_argument(
        "--layer", type=int, default=None, help="default: CTAMConfig's static_layer for the encoder (its last layer)"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 10000, 20000, 40000])
    parser.add_argument(
        "--all-layers",
        action="store_true",
        help="compute (or reuse) the cache of every layer, as bench/static_layer.py does",
    )
    parser.add_argument(
        "--synthetic-sizes",
        type=int,
        nargs="*",
        default=[40000],
        help="V of the planted-rotation runs (cost beyond the corpora's vocabularies; default 40000)",
    )
    parser.add_argument("--stochastic", action="store_true", help="stochastic dictionary induction")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--output-dir", default=str(Path(__file__).resolve().parent / "results"))
    args = parser.parse_args(argv)

    import torch
    from transformers import AutoConfig

    from modeling_ctam.alignment import lexicon as lex
    from modeling_ctam.alignment.mapping import default_static_layer
    from modeling_ctam.alignment.static_vectors import cached_static_vectors, static_vectors_cache_path
    from modeling_ctam.data.corpus import default_corpora
    from modeling_ctam.offline_encoder import resolve_encoder

    encoder_config = AutoConfig.from_pretrained(resolve_encoder(args.encoder))
    layer = default_static_layer(encoder_config) if args.layer is None else args.layer
    all_layers = list(range(encoder_config.num_hidden_layers + 1))
    all_cached = all(
        Path(
            str(
                static_vectors_cache_path(
                    args.encoder, default_corpora(lang), lang, all_layers, None, dedupe="subsumed"
                )
            )
            + ".safetensors"
        ).is_file()
        for lang in ("en", "my")
    )
    # the all-layer cache of bench/static_layer.py serves any layer; otherwise one early-exit pass for this layer
    layers = all_layers if (args.all_layers or all_cached) else [layer]
    t0 = time.perf_counter()
    vectors = {}
    for lang in ("en", "my"):
        vectors[lang] = cached_static_vectors(
            args.encoder, default_corpora(lang), lang, layers, None, dedupe="subsumed"
        )
    vector_seconds = time.perf_counter() - t0
    paths = {
        lang: str(
            static_vectors_cache_path(args.encoder, default_corpora(lang), lang, layers, None, dedupe="subsumed")
        )
        for lang in ("en", "my")
    }
    parts = lex.split_lexicon(lex.default_lexicon_entries())
    threads = args.threads or torch.get_num_threads()
    ctx = mp.get_context("spawn")
    rows = []

    def in_fresh_process(target, job):  # each V in its own process: its peak resident memory is its own
        queue = ctx.Queue()
        proc = ctx.Process(target=target, args=(job, queue))
        proc.start()
        row = queue.get()
        proc.join()
        rows.append(row)
        print(json.dumps(row), flush=True)

    for size in args.sizes:
        in_fresh_process(
            run_one,
            {
                "size": size,
                "layer": layer,
                "en_path": paths["en"],
                "my_path": paths["my"],
                "parts": parts,
                "device": args.device,
                "stochastic": args.stochastic,
                "threads": threads,
            },
        )
    for size in args.synthetic_sizes:
        in_fresh_process(
            run_synthetic, {"size": size, "dim": encoder_config.hidden_size, "device": args.device, "threads": threads}
        )
    meta = {
        "encoder": args.encoder,
        "layer": layer,
        "available_en": len(vectors["en"]),
        "available_my": len(vectors["my"]),
        "sentences_en": vectors["en"].meta.get("sentences"),
        "sentences_my": vectors["my"].meta.get("sentences"),
        "static_vector_seconds_en": round(vectors["en"].meta.get("seconds", 0), 1),
        "static_vector_seconds_my": round(vectors["my"].meta.get("seconds", 0), 1),
        "vector_load_seconds_this_run": round(vector_seconds, 1),
        "machine": f"{platform.machine()} CPU, {threads} torch threads" if not args.device else args.device,
        "torch": torch.__version__,
        "stochastic": args.stochastic,
    }
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "vecmap_scaling.json").write_text(
        json.dumps({"rows": rows, "meta": meta}, indent=2) + "\n", encoding="utf-8"
    )
    (out / "vecmap_scaling.md").write_text(markdown(rows, meta), encoding="utf-8")
    print(markdown(rows, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
